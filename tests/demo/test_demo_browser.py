"""`stackdocs demo` as a presenter runs it: the real CLI seeds the workspace and starts the app;
the browser lands signed in as `demo` with every artifact type on the canvas, the invoice stack
filled with cited values that open their source, and `--reset` brings the seeded state back.

Screenshots go to test-artifacts/screenshots/demo-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackdocs.demo import facts
from stackdocs.demo.missions import (
    CHART_TITLE,
    CONTRACT_TITLE,
    SEED_MISSIONS,
    STACK_NAME,
    SUMMARY_TITLE,
)
from tests.support.browser import UI_TIMEOUT_MS, screenshot, wait_for_sprite
from tests.support.processes import AppServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class DemoServer(AppServer):
    """``stackdocs demo`` on a free port, its frontend built in its own folder (other test
    sessions rebuild the project's `.web`), restartable on the same data dir."""

    def __init__(self, data_dir: Path, work: Path, *extra_args: str) -> None:
        self.work = work
        super().__init__(
            data_dir,
            env={
                "REFLEX_WEB_WORKDIR": str(work / "web"),
                "REFLEX_STATES_WORKDIR": str(work / "states"),
            },
            command="demo",
            extra_args=extra_args,
        )

    def restarted(self, *extra_args: str) -> DemoServer:
        self.stop()
        return DemoServer(self.data_dir, self.work, *extra_args)


def start(server: DemoServer) -> DemoServer:
    try:
        server.start()
    except Exception:
        server.stop()
        pytest.fail(f"stackdocs demo did not come up:\n{server.log()[-4000:]}")
    return server


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    server = start(
        DemoServer(tmp_path_factory.mktemp("demo-data"), tmp_path_factory.mktemp("demo-web"))
    )
    holder = {"server": server}
    yield server
    holder["server"].stop()


def canvas(page):
    return page.get_by_role("region", name="Canvas")


def open_workspace(page, url: str) -> None:
    """No sign-in form: the presenter lands in the workspace as `demo`."""
    page.goto(url)
    page.get_by_role("region", name="Mission chat").wait_for(timeout=UI_TIMEOUT_MS)
    wait_for_sprite(page)
    canvas(page).get_by_role("tab").first.wait_for(timeout=UI_TIMEOUT_MS)


def test_the_presenter_lands_signed_in_with_every_artifact_type(demo_server, page):
    log = demo_server.log()
    assert "seeding the demo workspace with the deterministic demo extractor" in log
    assert "42 cited values (0 flagged)" in log

    open_workspace(page, demo_server.url)
    assert page.get_by_role("button", name="Account menu").inner_text().split() == ["D", "demo"]
    assert page.get_by_label("User").count() == 0  # no sign-in form on the way
    screenshot(page, "demo-1-landing")
    names = [i.filename for i in facts.INVOICES] + [facts.CONTRACT.filename, facts.LEDGER_FILENAME]
    for name in names:
        row = page.locator(f"[data-document='{name}']")
        assert row.get_by_text("ocr_complete").is_visible(), name

    tabs = canvas(page).get_by_role("tab")
    assert tabs.count() == 5
    # The summary, published last, is what the canvas opens on.
    assert canvas(page).get_by_role("tab", selected=True).inner_text() == SUMMARY_TITLE
    canvas(page).get_by_text("Ledger check:").wait_for(timeout=UI_TIMEOUT_MS)
    assert canvas(page).get_by_text("$100.00 short").is_visible()

    canvas(page).get_by_role("tab", name=CONTRACT_TITLE).click()
    canvas(page).get_by_text('"State of Washington"').first.wait_for(timeout=UI_TIMEOUT_MS)
    assert canvas(page).get_by_text('"8 of 8 verified"').is_visible()
    screenshot(page, "demo-2-json")

    canvas(page).get_by_role("tab", name=CHART_TITLE).click()
    plot = canvas(page).locator(".js-plotly-plot")
    plot.wait_for(timeout=UI_TIMEOUT_MS)
    for vendor in facts.spend_by_vendor():
        plot.get_by_text(vendor).first.wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "demo-3-chart")

    canvas(page).get_by_role("tab", name=re.compile(r"^\$ grep")).click()
    meridian = facts.invoice_by_number("MDC-2026-014")
    canvas(page).get_by_text(
        re.compile(rf"Invoice number: {meridian.number}\s+Total due: \$31,458\.16")
    ).wait_for(timeout=UI_TIMEOUT_MS)
    assert canvas(page).get_by_text("exit 0").is_visible()
    screenshot(page, "demo-4-terminal")

    # The chat tells who did the work: the labelled deterministic extractor, not a model.
    chat = page.get_by_role("region", name="Mission chat")
    assert chat.get_by_text(re.compile("Deterministic demo extractor")).count() == 4
    assert chat.get_by_text("Done").count() >= len(SEED_MISSIONS)
    # The seed checkpoint is there to go back to.
    page.get_by_text(re.compile(r"Demo seed v1 \(determini")).wait_for(timeout=UI_TIMEOUT_MS)


def test_the_stack_has_one_cited_row_per_invoice_and_a_value_opens_its_source(demo_server, page):
    open_workspace(page, demo_server.url)
    canvas(page).get_by_role("tab", name=STACK_NAME).click()
    table = canvas(page).get_by_role("table")
    table.wait_for(timeout=UI_TIMEOUT_MS)
    canvas(page).get_by_text("6 rows").wait_for(timeout=UI_TIMEOUT_MS)
    body_rows = table.locator("tbody tr")
    assert body_rows.count() == len(facts.INVOICES)
    shown = [body_rows.nth(i).inner_text() for i in range(body_rows.count())]
    for invoice in facts.INVOICES:
        [row] = [r for r in shown if invoice.filename in r]
        assert invoice.number in row and facts.money(invoice.total) in row
    # Every value of the table is a cited value (a button that shows its source).
    assert table.locator("tbody .sd-cite").count() == len(facts.INVOICES) * 7
    screenshot(page, "demo-5-stack-table")

    # The Meridian total is printed on page 2 of its invoice: the citation goes there.
    meridian = facts.invoice_by_number("MDC-2026-014")
    canvas(page).get_by_role("button", name=facts.money(meridian.total)).click()
    reader = page.get_by_role("dialog")
    reader.locator("mark").wait_for(timeout=UI_TIMEOUT_MS)
    assert reader.locator("mark").inner_text() == facts.money(meridian.total)
    assert reader.get_by_text("Page 2 of 2", exact=True).is_visible()
    assert reader.get_by_text(meridian.filename).first.is_visible()
    screenshot(page, "demo-6-citation")
    page.keyboard.press("Escape")

    # The scanned invoice's values cite the text Tesseract read from the picture.
    scan = next(i for i in facts.INVOICES if i.scanned)
    canvas(page).get_by_role("button", name=facts.money(scan.total)).click()
    reader.locator("mark").wait_for(timeout=UI_TIMEOUT_MS)
    assert reader.locator("mark").inner_text() == facts.money(scan.total)
    assert reader.get_by_text(scan.filename).first.is_visible()
    screenshot(page, "demo-7-citation-scan")
    page.keyboard.press("Escape")

    # The photographed invoice, opened from the documents list: text read by Tesseract.
    page.get_by_role("button", name=scan.filename).click()
    reader.get_by_text(f"Invoice number: {scan.number}").wait_for(timeout=UI_TIMEOUT_MS)


def test_after_signing_out_the_form_is_back_and_demo_signs_in_again(demo_server, page):
    open_workspace(page, demo_server.url)
    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    page.get_by_label("User").wait_for(timeout=UI_TIMEOUT_MS)
    page.reload()  # signing out sticks: no automatic sign-in on the next visit
    page.get_by_label("User").wait_for(timeout=UI_TIMEOUT_MS)
    page.get_by_label("User").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    wait_for_sprite(page)
    canvas(page).get_by_role("tab", name=STACK_NAME).wait_for(timeout=UI_TIMEOUT_MS)
    assert canvas(page).get_by_role("tab").count() == 5

    # The deterministic extractor only built the seed: in the running demo, without a model,
    # a mission is told what to configure (the app's bridge restarted the Sprite its own way).
    box = page.get_by_label("Mission")
    box.fill("Which invoices are due in April?")
    box.press("Enter")
    chat = page.get_by_role("region", name="Mission chat")
    chat.get_by_text(re.compile("No model is configured")).wait_for(timeout=UI_TIMEOUT_MS)
    assert chat.get_by_text(re.compile("only runs the demo's seed missions")).count() == 0


def test_reset_brings_the_seeded_workspace_back(demo_server, page):
    """Last in this module: it restarts the demo with --reset."""
    open_workspace(page, demo_server.url)
    box = page.get_by_label("Mission")
    box.fill("!echo the presenter was here")
    box.press("Enter")
    canvas(page).get_by_role("tab").nth(5).wait_for(timeout=UI_TIMEOUT_MS)
    assert canvas(page).get_by_role("tab").count() == 6

    reset = start(demo_server.restarted("--reset"))
    try:
        assert "restored the seed checkpoint v1" in reset.log()
        open_workspace(page, reset.url)
        assert canvas(page).get_by_role("tab").count() == 5
        chat = page.get_by_role("region", name="Mission chat")
        assert chat.get_by_text("the presenter was here").count() == 0
        screenshot(page, "demo-8-after-reset")
    finally:
        reset.stop()
