"""The shell a user sees: sign in, then mission chat and canvas side by side."""

import pytest

from tests.support.processes import ARTIFACTS

pytestmark = pytest.mark.browser


def test_health_reports_version_provider_and_auth(app_server):
    import httpx

    body = httpx.get(f"{app_server.url}/health").json()
    assert body["status"] == "ok"
    assert body["provider"] == "local"
    assert body["auth"] == "local"
    assert body["version"]


def test_sign_in_shows_chat_and_canvas(app_server, page):
    page.goto(app_server.url)
    page.get_by_label("User").fill("alice")
    page.get_by_role("button", name="Sign in").click()
    chat = page.get_by_role("region", name="Mission chat")
    canvas = page.get_by_role("region", name="Canvas")
    chat.wait_for(state="visible", timeout=30_000)
    assert canvas.is_visible()
    assert page.get_by_label("Mission", exact=True).is_visible()
    assert page.get_by_role("button", name="Send").is_visible()
    assert page.get_by_text("alice").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "shell.png"))
