"""Live pages in Debian's chromium: changes made through the API appear without a reload (blocking
queries), maintenance toggled from the UI, the filter box and its errors, recovery after failures."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Route, expect

from tests.agentproc import AgentProcess
from tests.browser.uihelpers import register, ttl_state


def mark_page(page: Page) -> None:
    page.evaluate("window.notReloaded = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.notReloaded") is True


def test_registered_service_appears_without_reload(ui_agent: AgentProcess, page: Page) -> None:
    page.goto(ui_agent.url + "/ui/services")
    expect(page.locator("tbody tr")).to_have_count(1)  # only the agent's consul service
    mark_page(page)
    register(ui_agent, {"Name": "payments", "ID": "payments-1", "Tags": ["blue"]})
    row = page.locator("tbody tr", has=page.get_by_role("link", name="payments"))
    expect(row.locator(".tag")).to_have_text(["blue"])
    ui_agent.put("/v1/agent/service/deregister/payments-1")
    expect(row).to_have_count(0)
    assert_not_reloaded(page)


def test_flipped_ttl_check_changes_status_text_class_and_colour(ui_agent: AgentProcess, page: Page) -> None:
    register(ui_agent, {"Name": "web", "ID": "web-1", "Check": {"CheckID": "web-ttl", "TTL": "1h"}})
    ttl_state(ui_agent, "web-ttl", "pass", "all good")
    page.goto(ui_agent.url + "/ui/services/web")
    badge = page.locator("tbody tr", has_text="web-ttl").locator(".badge")
    expect(badge).to_have_text("✓passing")
    expect(badge).to_have_class(re.compile(r"\bbadge-passing\b"))
    passing_colour = badge.evaluate("el => getComputedStyle(el).backgroundColor")
    mark_page(page)
    ttl_state(ui_agent, "web-ttl", "fail", "disk full")
    expect(badge).to_have_text("✕critical")
    expect(badge).to_have_class(re.compile(r"\bbadge-critical\b"))
    expect(badge).to_have_attribute("data-status", "critical")
    expect(page.locator("tbody tr", has_text="web-ttl").locator(".output")).to_have_text("disk full")
    assert passing_colour != badge.evaluate("el => getComputedStyle(el).backgroundColor")
    # The services page counts it too, live.
    page.get_by_role("link", name="← All services").click()
    row = page.locator("tbody tr", has=page.get_by_role("link", name="web", exact=True))
    expect(row.locator(".badge-critical")).to_have_text("✕1 critical")
    ttl_state(ui_agent, "web-ttl", "pass")
    expect(row.locator(".badge-critical")).to_have_count(0)
    assert_not_reloaded(page)


def test_maintenance_is_toggled_from_the_service_page(ui_agent: AgentProcess, page: Page) -> None:
    register(ui_agent, {"Name": "web", "ID": "web-1"})
    page.goto(ui_agent.url + "/ui/services/web")
    card = page.locator('[data-service-id="web-1"]')
    card.get_by_label("Maintenance reason for web-1").fill("deploying v2")
    card.get_by_role("button", name="Enable maintenance").click()
    expect(card.locator(".card-head .badge")).to_have_text("⏸in maintenance: deploying v2")
    checks = ui_agent.get("/v1/agent/checks").json()
    assert "deploying v2" == checks["_service_maintenance:web-1"]["Notes"]
    card.get_by_role("button", name="Disable maintenance").click()
    expect(card.get_by_role("button", name="Enable maintenance")).to_be_visible()
    expect(card.locator(".card-head .badge")).not_to_have_text(re.compile("maintenance"))
    assert "_service_maintenance:web-1" not in ui_agent.get("/v1/agent/checks").json()


def test_bad_filter_says_what_is_wrong_and_a_good_one_narrows(ui_agent: AgentProcess, page: Page) -> None:
    register(ui_agent, {"Name": "web", "Tags": ["primary"]})
    register(ui_agent, {"Name": "db"})
    page.goto(ui_agent.url + "/ui/services")
    expect(page.locator("tbody tr")).to_have_count(3)
    box = page.get_by_label("Filter")
    box.fill("ServiceTags contains")
    box.press("Enter")
    error = page.locator(".field-error")
    expect(error).to_contain_text("Invalid filter: Failed to create boolean expression evaluator")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(page.locator("tbody tr")).to_have_count(0)
    box.fill('ServiceTags contains "primary"')
    box.press("Enter")
    expect(error).to_be_empty()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="web", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?filter=ServiceTags"))
    # The filter stays live: a new matching service appears.
    register(ui_agent, {"Name": "cache", "Tags": ["primary"]})
    expect(page.locator("tbody tr")).to_have_count(2)


def test_filter_box_works_on_nodes_checks_and_one_service(ui_agent: AgentProcess, page: Page) -> None:
    register(ui_agent, {"Name": "web", "ID": "web-1", "Meta": {"v": "1"}})
    register(ui_agent, {"Name": "web", "ID": "web-2", "Meta": {"v": "2"}})
    cases = [
        ("services/web", 'Service.Meta.v == "2"', "web-2", ".instance"),
        ("nodes", 'Node == "test-node"', "test-node", "tbody tr"),
        ("checks", 'CheckID == "serfHealth"', "serfHealth", "tbody tr"),
    ]
    for path, expression, expected, rows in cases:
        page.goto(f"{ui_agent.url}/ui/{path}")
        box = page.get_by_label("Filter")
        box.fill(expression)
        box.press("Enter")
        expect(page.locator(rows)).to_have_count(1)
        expect(page.locator(rows)).to_contain_text(expected)
        box.fill(expression + " and")
        box.press("Enter")
        expect(page.locator(".field-error")).to_contain_text("Invalid filter")


def test_page_recovers_after_the_api_fails(ui_agent: AgentProcess, page: Page) -> None:
    failing = {"on": True}

    def handle(route: Route) -> None:
        if failing["on"]:
            route.fulfill(status=500, body="Internal error: injected")
        else:
            route.continue_()

    page.route(re.compile(r"/v1/internal/ui/services"), handle)
    page.goto(ui_agent.url + "/ui/services")
    expect(page.locator(".notice-error")).to_contain_text("Internal error: injected")
    expect(page.locator("#live")).to_contain_text("Reconnecting")
    register(ui_agent, {"Name": "late"})
    failing["on"] = False
    expect(page.get_by_role("link", name="late")).to_be_visible()
    expect(page.locator(".notice-error")).to_have_count(0)
    expect(page.locator("#live")).to_have_text("● Live")
