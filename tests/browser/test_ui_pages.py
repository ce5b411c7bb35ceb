"""Each page of the web UI against a real agent in Debian's chromium: what it shows, navigation
without reloads, keyboard use, a narrow screen, and colour contrast."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.agentproc import AgentProcess
from tests.browser.uihelpers import register, ttl_state


def seed(agent: AgentProcess) -> None:
    register(
        agent,
        {
            "Name": "web",
            "ID": "web-1",
            "Address": "10.0.0.5",
            "Port": 8080,
            "Tags": ["v2", "primary"],
            "Meta": {"version": "2.4.1"},
            "Checks": [{"CheckID": "web-ttl", "Name": "web ttl", "TTL": "1h"}],
        },
    )
    ttl_state(agent, "web-ttl", "warn", "slow answers")
    register(agent, {"Name": "db", "ID": "db-1", "Port": 5432})


def test_root_redirects_to_the_services_page(ui_agent: AgentProcess, page: Page) -> None:
    page.goto(ui_agent.url + "/")
    expect(page).to_have_url(ui_agent.url + "/ui/services")
    expect(page.get_by_role("heading", level=1)).to_have_text("Services")
    expect(page).to_have_title("Services · Muster")


def test_services_page_lists_names_instances_health_and_tags(ui_agent: AgentProcess, page: Page) -> None:
    seed(ui_agent)
    page.goto(ui_agent.url + "/ui/services")
    row = page.locator("tbody tr", has=page.get_by_role("link", name="web", exact=True))
    expect(row.locator("td").nth(1)).to_have_text(re.compile(r"1 warning.*1 passing"))
    expect(row.locator("td").nth(2)).to_have_text("1")
    expect(row.locator(".tag")).to_have_text(["v2", "primary"])
    expect(page.locator("tbody tr")).to_have_count(3)  # web, db and the agent's own consul service
    expect(page.locator(".count")).to_have_text("3 services")


def test_service_page_shows_each_instance_with_its_checks(ui_agent: AgentProcess, page: Page) -> None:
    seed(ui_agent)
    page.goto(ui_agent.url + "/ui/services")
    page.get_by_role("link", name="web", exact=True).click()
    expect(page).to_have_url(ui_agent.url + "/ui/services/web")
    card = page.locator('[data-service-id="web-1"]')
    expect(card.get_by_role("heading", level=2)).to_have_text("web-1")
    expect(card.locator(".facts")).to_contain_text("10.0.0.5:8080")
    expect(card.locator(".facts")).to_contain_text("test-node")
    expect(card.locator(".facts .tag")).to_have_text(["v2", "primary"])
    expect(card.locator(".facts .meta")).to_contain_text("version2.4.1")
    check = card.locator("tbody tr", has_text="web-ttl")
    expect(check.locator(".badge")).to_have_text("!warning")
    expect(check.locator(".output")).to_have_text("slow answers")


def test_nodes_page_lists_the_agent_node(ui_agent: AgentProcess, page: Page) -> None:
    page.goto(ui_agent.url + "/ui/nodes")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nodes")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr td").first).to_have_text("test-node")
    expect(page.locator("tbody tr td").nth(1)).to_have_text("127.0.0.1")


def test_checks_page_lists_checks_and_narrows_by_state(ui_agent: AgentProcess, page: Page) -> None:
    seed(ui_agent)
    page.goto(ui_agent.url + "/ui/checks")
    expect(page.locator("tbody tr", has_text="web-ttl").locator(".badge")).to_have_text("!warning")
    expect(page.locator("tbody tr", has_text="serfHealth")).to_have_count(1)
    page.get_by_label("State").select_option("warning")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/ui/checks\?state=warning$"))


def test_status_page_shows_each_subsystem_state(ui_agent: AgentProcess, page: Page) -> None:
    page.goto(ui_agent.url + "/ui/status")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agent status")
    for name in ("check-runner", "http-api", "store"):
        card = page.locator(f'[data-subsystem="{name}"]')
        expect(card.locator(".badge")).to_have_text("✓running")
    expect(page.locator(".notice-ok")).to_contain_text("subsystems running")


def test_navigation_does_not_reload_and_marks_the_current_page(ui_agent: AgentProcess, page: Page) -> None:
    page.goto(ui_agent.url + "/ui/services")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.evaluate("window.notReloaded = true")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Checks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Checks")
    expect(nav.get_by_role("link", name="Checks")).to_have_attribute("aria-current", "page")
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Services")
    assert page.evaluate("window.notReloaded") is True


def test_unknown_ui_path_says_not_found(ui_agent: AgentProcess, page: Page) -> None:
    page.goto(ui_agent.url + "/ui/no/such/page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


def test_keyboard_reaches_the_nav_with_a_visible_focus_ring(ui_agent: AgentProcess, page: Page) -> None:
    page.goto(ui_agent.url + "/ui/services")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Nodes")
    assert "none" != focused.evaluate("el => getComputedStyle(el).outlineStyle")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nodes")
    expect(page.get_by_role("heading", level=1)).to_be_focused()  # focus moves to the new page


def test_narrow_screen_has_no_horizontal_scroll(ui_agent: AgentProcess, page: Page) -> None:
    seed(ui_agent)
    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("services", "services/web", "checks", "status"):
        page.goto(f"{ui_agent.url}/ui/{path}")
        expect(page.locator(".content > *").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, path


CONTRAST = """
() => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const bg = getComputedStyle(el).backgroundColor;
      if (bg && !bg.startsWith("rgba(0, 0, 0, 0)") && bg !== "transparent") return bg;
    }
    return "rgb(255, 255, 255)";
  };
  const out = [];
  const selectors = ".badge, .nav a, .brand, .live, .hint, .count, .muted, a, th, td, .field-error, "
    + ".notice, button, .tag";
  for (const el of document.querySelectorAll(selectors)) {
    if (!el.textContent.trim()) continue;
    const fg = lum(getComputedStyle(el).color), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    out.push([el.className || el.tagName, el.textContent.trim().slice(0, 20), Math.round(ratio * 100) / 100]);
  }
  return out;
}
"""


def test_text_contrast_is_at_least_4_5_to_1(ui_agent: AgentProcess, page: Page) -> None:
    seed(ui_agent)
    ttl_state(ui_agent, "web-ttl", "fail", "down")
    for path in ("services", "services/web", "checks?filter=Status+%3D%3D"):
        page.goto(f"{ui_agent.url}/ui/{path}")
        expect(page.locator(".content > *, .field-error:not(:empty)").first).to_be_visible()
        measured = page.evaluate(CONTRAST)
        assert measured, path
        low = [m for m in measured if m[2] < 4.5]
        assert [] == low, path
