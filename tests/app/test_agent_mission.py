"""An agent mission seen in the browser: the real app and Sprite, the crew's real CLI, and the
scripted fake Anthropic API behind the bridge's key-injecting proxy."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.fakes.anthropic_api import FakeAnthropicAPI
from tests.sprite.agents import scripts
from tests.sprite.agents.support import REAL_KEY, invoice_pdf
from tests.support.browser import UI_TIMEOUT_MS, screenshot, sign_in
from tests.support.processes import AppServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
MISSION_MS = 180_000


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicAPI]:
    api = FakeAnthropicAPI().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def model_app(tmp_path_factory, fake) -> Iterator[AppServer]:
    work = tmp_path_factory.mktemp("reflex-work-model")
    server = AppServer(
        tmp_path_factory.mktemp("stackdocs-model"),
        env={
            "ANTHROPIC_API_KEY": REAL_KEY,
            "ANTHROPIC_UPSTREAM_URL": fake.url,
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


def test_streamed_answer_steps_cited_table_chart_and_follow_up(model_app, fake, page, tmp_path):
    sign_in(page, model_app.url, "ivy")
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(invoice_pdf())
    page.locator("input[type=file]").set_input_files(str(pdf))
    row = page.locator("[data-document='invoice.pdf']")
    row.get_by_text(re.compile("^(ocr_complete|completed)$")).wait_for(timeout=UI_TIMEOUT_MS)
    document_id = row.get_attribute("data-document-id")
    fake.add(*scripts.extraction(document_id))

    chat = page.get_by_role("region", name="Mission chat")
    canvas = page.get_by_role("region", name="Canvas")
    box = page.get_by_label("Mission")
    box.fill(scripts.EXTRACT_MISSION)
    box.press("Enter")
    chat.get_by_text(re.compile("Asking the analyst")).first.wait_for(timeout=MISSION_MS)
    chat.get_by_text(re.compile("Reading OCR of invoice.pdf")).first.wait_for(timeout=MISSION_MS)
    chat.get_by_text(re.compile("^Done")).wait_for(timeout=MISSION_MS)
    answer = " ".join(chat.locator(".sd-agent").last.inner_text().split())
    assert " ".join(scripts.FINAL_ANSWER.split()) in answer  # streamed in pieces, nothing lost
    screenshot(page, "agent-mission")

    canvas.get_by_role("tab", name="Invoice amounts").wait_for(timeout=UI_TIMEOUT_MS)
    canvas.locator(".js-plotly-plot").wait_for(timeout=UI_TIMEOUT_MS)
    canvas.get_by_role("tab", name=re.compile("Extraction")).click()
    canvas.get_by_role("button", name="ACME SUPPLIES LTD").click()
    reader = page.get_by_role("dialog")
    reader.locator("mark").wait_for(timeout=UI_TIMEOUT_MS)
    assert reader.locator("mark").inner_text() == "ACME SUPPLIES LTD"
    assert reader.get_by_text("Page 1 of 2").is_visible()
    screenshot(page, "agent-citation")
    reader.get_by_role("button", name="Close document").click()
    reader.wait_for(state="hidden")  # its focus trap lets go only once it is gone

    fake.add(*scripts.correction(document_id))
    chat.get_by_role("button", name="Follow up").first.click()
    box.fill(scripts.CORRECTION_MISSION)
    expect(box).to_have_value(scripts.CORRECTION_MISSION)
    box.press("Enter")
    chat.get_by_text("Done: the total now includes tax ($1,375.00).").wait_for(timeout=MISSION_MS)
    assert chat.get_by_text("Follow-up", exact=True).is_visible()
    canvas.get_by_role("cell", name=re.compile("1,375")).first.wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "agent-follow-up")
