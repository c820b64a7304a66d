"""Headless Debian Chromium through Playwright (no browser download, ever), and the few steps
every UI test repeats: signing in, waiting for the workspace, saving a screenshot."""

from __future__ import annotations

import re
from typing import Any

from tests.support.processes import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Generous: the first sign-in of a user provisions and wakes a Sprite on a busy 2-core machine.
UI_TIMEOUT_MS = 60_000


def sign_in(page: Any, url: str, user: str) -> None:
    """Sign in through the form and wait until the Sprite is ready."""
    page.goto(url)
    page.get_by_label("User").fill(user)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("region", name="Mission chat").wait_for(timeout=UI_TIMEOUT_MS)
    wait_for_sprite(page)


def wait_for_sprite(page: Any) -> None:
    page.locator("[data-sprite-status=ready]").wait_for(timeout=UI_TIMEOUT_MS)


def screenshot(page: Any, name: str, *, full_page: bool = False) -> None:
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    page.screenshot(path=str(shots / f"{safe}.png"), full_page=full_page)
