"""Browser fixtures: Debian's chromium through Playwright (no browser download), one browser per
worker, a fresh context per test, and agents started with the web UI on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.agentproc import AgentProcess
from tests.browser.uihelpers import CHROMIUM, CHROMIUM_ARGS

ROOT_TOKEN = "root-secret"  # noqa: S105 (a test agent's initial management token)
NO_DNS = ("-dns-port", "-1")  # the UI tests need no DNS server (and no fixed port 8600)
# A loaded 2-core machine runs several agents and browsers at once: wait on conditions, generously.
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)


# Module scope, not session: while Playwright's sync API is open its event loop counts as running in
# this thread, so any later test in the same xdist worker that calls asyncio.run() would fail.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def ui_agent(make_agent: type[AgentProcess]) -> AgentProcess:
    """An agent with a temporary data dir and the UI on (-ui), on a free port."""
    return make_agent("-ui", *NO_DNS).start()


@pytest.fixture
def acl_agent(make_agent: type[AgentProcess], tmp_path: Path) -> AgentProcess:
    """The UI on, ACLs on with default deny, and `ROOT_TOKEN` as the initial management token."""
    config = tmp_path / "acl.json"
    acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": ROOT_TOKEN}}
    config.write_text(json.dumps({"acl": acl}))
    return make_agent("-ui", *NO_DNS, "-config-file", str(config)).start()
