"""The production sign-in page in a real browser: Clerk mode, with a fake Clerk over HTTPS.

The page loads "ClerkJS" from the Frontend API that ``CLERK_PUBLISHABLE_KEY`` encodes (here the
fake Clerk's stand-in script at Clerk's loader path), mounts its sign-in form, and once the user
has signed in with Clerk hands the Clerk session token to the server, which verifies it against
the JWKS and opens the workspace. (Real ClerkJS cannot be fetched here.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clerk_signin import clerk_js_url, frontend_api
from tests.fakes.clerk import CLERK_JS_PATH, FakeClerk
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.processes import AppServer


def test_publishable_key_decodes_to_clerks_loader_url() -> None:
    key = "pk_test_" + "Y2xlcmsuZXhhbXBsZS5jb20k"  # base64("clerk.example.com$")
    assert frontend_api(key) == "clerk.example.com"
    assert clerk_js_url(key) == f"https://clerk.example.com{CLERK_JS_PATH}"
    for bad in ("", "sk_live_abc", "pk_live_!!!", "pk_test_" + "Y2xlcmsuZXhhbXBsZS5jb20="):
        with pytest.raises(ValueError, match="CLERK_PUBLISHABLE_KEY"):
            frontend_api(bad)


@pytest.fixture(scope="module")
def clerk(tmp_path_factory) -> Iterator[FakeClerk]:
    with FakeClerk(tls_dir=tmp_path_factory.mktemp("clerk-tls")) as fake:
        yield fake


@pytest.fixture(scope="module")
def clerk_app(tmp_path_factory, clerk: FakeClerk) -> Iterator[AppServer]:
    server = AppServer(
        tmp_path_factory.mktemp("clerk-app"),
        env={
            "STACKDOCS_AUTH": "clerk",
            "CLERK_JWKS_URL": clerk.jwks_url,
            "CLERK_ISSUER": clerk.issuer,
            "CLERK_PUBLISHABLE_KEY": clerk.publishable_key,
        },
    )
    try:
        server.start()
    except Exception:
        server.stop()
        pytest.fail(f"stackdocs run did not come up:\n{server.log()[-4000:]}")
    yield server
    server.stop()


@pytest.fixture
def clerk_page(request) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"],
            headless=True,
        )
        context = browser.new_context(
            viewport={"width": 1280, "height": 860}, ignore_https_errors=True
        )
        page = context.new_page()
        try:
            yield page
        finally:
            shots = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"{request.node.name}-final.png"), full_page=True)
            browser.close()


@pytest.mark.browser
def test_clerk_sign_in_opens_the_workspace(clerk_app: AppServer, clerk: FakeClerk, clerk_page):
    page = clerk_page
    page.goto(clerk_app.url)
    mount = page.get_by_label("Clerk sign-in")
    mount.wait_for(timeout=60_000)
    # ClerkJS (loaded from the Frontend API in the publishable key) mounted its form there.
    mount.get_by_label("Email address").fill("ada@example.com", timeout=60_000)
    mount.get_by_role("button", name="Continue").click()
    page.get_by_role("region", name="Mission chat").wait_for(timeout=60_000)

    user_id = clerk.users["ada@example.com"]
    row = None
    for _ in range(600):  # the Sprite is provisioned while the workspace already shows
        db = sqlite3.connect(clerk_app.data_dir / "platform.db")
        try:
            row = db.execute("SELECT id, sprite_status FROM users").fetchone()
        finally:
            db.close()
        if row is not None and row[1] == "active":
            break
        page.wait_for_timeout(100)
    assert row == (user_id, "active")  # the user is Clerk's `sub`, created on first sign-in

    # A reload (the stored token may be stale by then) signs in again from Clerk's session.
    page.reload()
    page.get_by_role("region", name="Mission chat").wait_for(timeout=60_000)
