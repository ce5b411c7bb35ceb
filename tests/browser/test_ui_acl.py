"""The web UI with ACLs on (default deny): the token box, pages limited to what the token may read,
and Consul's 403 texts shown as "Permission denied"."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.agentproc import AgentProcess
from tests.browser.conftest import ROOT_TOKEN
from tests.browser.uihelpers import register

ROOT = {"X-Consul-Token": ROOT_TOKEN}
READ_ALL = 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }'


def make_token(agent: AgentProcess, name: str, rules: str) -> str:
    policy = agent.put("/v1/acl/policy", {"Name": name, "Rules": rules}, headers=ROOT)
    assert 200 == policy.status, policy.text
    token = agent.put("/v1/acl/token", {"Description": name, "Policies": [{"Name": name}]}, headers=ROOT)
    assert 200 == token.status, token.text
    secret: str = token.json()["SecretID"]
    return secret


def save_token(page: Page, agent: AgentProcess, secret: str) -> None:
    page.goto(agent.url + "/ui/token")
    page.get_by_label("Secret ID").fill(secret)
    page.get_by_role("button", name="Save token").click()


def test_anonymous_sees_nothing_and_a_read_token_sees_services(acl_agent: AgentProcess, page: Page) -> None:
    register(acl_agent, {"Name": "web", "ID": "web-1"}, headers=ROOT)
    page.goto(acl_agent.url + "/ui/services")
    expect(page.locator(".empty")).to_have_text("No services match.")
    expect(page.get_by_role("link", name="Token: anonymous")).to_be_visible()
    save_token(page, acl_agent, make_token(acl_agent, "read-all", READ_ALL))
    expect(page.locator("#token-result")).to_contain_text("Token accepted.")
    expect(page.locator("#token-result")).to_contain_text("policies: read-all")
    page.get_by_role("link", name="Token: set").is_visible()
    page.get_by_role("link", name="Services").click()
    expect(page.get_by_role("link", name="web", exact=True)).to_be_visible()
    # Kept in localStorage: a new page load still sends it.
    page.reload()
    expect(page.get_by_role("link", name="web", exact=True)).to_be_visible()


def test_read_token_is_denied_maintenance_with_consuls_text(acl_agent: AgentProcess, page: Page) -> None:
    register(acl_agent, {"Name": "web", "ID": "web-1"}, headers=ROOT)
    save_token(page, acl_agent, make_token(acl_agent, "read-all", READ_ALL))
    expect(page.locator("#token-result")).to_contain_text("Token accepted.")
    page.goto(acl_agent.url + "/ui/services/web")
    card = page.locator('[data-service-id="web-1"]')
    card.get_by_role("button", name="Enable maintenance").click()
    denied = card.locator(".notice-error")
    expect(denied).to_contain_text("Permission denied")
    expect(denied).to_contain_text("lacks permission 'service:write' on \"web\"")
    assert "_service_maintenance:web-1" not in acl_agent.get("/v1/agent/checks", headers=ROOT).json()


def test_unknown_token_is_refused_on_every_page(acl_agent: AgentProcess, page: Page) -> None:
    save_token(page, acl_agent, "no-such-secret")
    expect(page.locator("#token-result")).to_contain_text("Token refused")
    for path in ("services", "nodes", "checks", "services/web"):
        page.goto(f"{acl_agent.url}/ui/{path}")
        notice = page.locator(".notice-error")
        expect(notice).to_contain_text("Permission denied")
        expect(notice).to_contain_text("ACL not found")
    page.goto(acl_agent.url + "/ui/token")
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#token-result")).to_contain_text("No token set.")
    page.goto(acl_agent.url + "/ui/services")
    expect(page.locator(".empty")).to_have_text("No services match.")
