"""What the UI benches share: the real app (`stackdocs run`) and headless Chromium.

Not a bench itself; `bench/ui_table.py` and `bench/ui_stream.py` import it.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.processes import AppServer  # noqa: E402


@contextlib.contextmanager
def running_app(url: str | None, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """An already running app at ``url``, or a fresh one (own data and build dirs)."""
    if url:
        yield url.rstrip("/")
        return
    with started_app(env) as server:
        yield server.url


@contextlib.contextmanager
def started_app(env: Mapping[str, str] | None = None) -> Iterator[AppServer]:
    work = Path(tempfile.mkdtemp(prefix="ui-bench-"))
    server = AppServer(
        work / "data",
        env={
            "REFLEX_WEB_WORKDIR": str(work / "web"),
            "REFLEX_STATES_WORKDIR": str(work / "states"),
            **(env or {}),
        },
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Any, url: str, user: str) -> None:
    page.goto(url)
    page.get_by_label("User").fill(user)
    page.get_by_role("button", name="Sign in").click()
    page.locator("[data-sprite-status=ready]").wait_for(timeout=120_000)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# In-page probes, installed before any script of the page runs.
KEY_LATENCY_PROBE = """
window.__keyLatency = [];
document.addEventListener('keydown', () => {
  const down = performance.now();
  // Two frames: the first callback runs before the paint that shows the key, the second after.
  requestAnimationFrame(() => requestAnimationFrame(() =>
    window.__keyLatency.push(performance.now() - down)));
}, true);
"""
