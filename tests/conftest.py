"""Fixtures shared by the whole suite: the real app, a real browser, screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.processes import ARTIFACTS, AppServer


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The whole product started by `stackdocs run`, shared by the browser tests.

    It builds its frontend in its own directory: other test sessions on the machine rebuild the
    project's `.web` at their start, which would pull the files from under a running server."""
    work = tmp_path_factory.mktemp("reflex-work")
    server = AppServer(
        tmp_path_factory.mktemp("stackdocs-data"),
        env={
            "REFLEX_WEB_WORKDIR": str(work / "web"),
            "REFLEX_STATES_WORKDIR": str(work / "states"),
        },
    )
    try:
        server.start()
    except Exception:
        server.stop()
        pytest.fail(f"stackdocs run did not come up:\n{server.log()[-4000:]}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module. Not for the whole session: Playwright's sync API keeps an
    event loop running in the main thread while it lives, and pytest-asyncio tests in later
    modules could not run theirs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context per test; a screenshot of the last state is always kept."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    yield page
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    try:
        page.screenshot(path=str(Path(shots, f"{name}-final.png")), full_page=True)
    finally:
        context.close()
