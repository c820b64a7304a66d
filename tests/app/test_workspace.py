"""The signed-in workspace against the real app and a real local Sprite."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from reportlab.pdfgen import canvas as pdf_canvas

from tests.support.browser import UI_TIMEOUT_MS, screenshot, sign_in

pytestmark = pytest.mark.browser


def make_pdf(path: Path, lines: list[str]) -> Path:
    page = pdf_canvas.Canvas(str(path))
    page.setFont("Helvetica", 16)
    for i, line in enumerate(lines):
        page.drawString(72, 720 - 30 * i, line)
    page.save()
    return path


def chat(page):
    return page.get_by_role("region", name="Mission chat")


def canvas(page):
    return page.get_by_role("region", name="Canvas")


def send_mission(page, text: str) -> None:
    box = page.get_by_label("Mission")
    box.fill(text)
    expect(box).to_have_value(text)  # typed into the composer, not into a closing dialog
    box.press("Enter")


def document_row(page, filename: str):
    return page.locator(f"[data-document='{filename}']")


def test_health_reports_version_provider_and_auth(app_server):
    body = httpx.get(f"{app_server.url}/health").json()
    assert body["status"] == "ok"
    assert (body["provider"], body["auth"]) == ("local", "local")
    assert body["version"]


def test_sign_in_shows_chat_and_canvas_with_unambiguous_names(app_server, page):
    page.goto(app_server.url)
    page.get_by_role("button", name="Sign in").wait_for(timeout=UI_TIMEOUT_MS)
    assert page.get_by_role("button", name="Sign in").count() == 1
    sign_in(page, app_server.url, "alice")
    assert page.get_by_role("region", name="Mission chat").count() == 1
    assert page.get_by_role("region", name="Canvas").count() == 1
    # Playwright matches labels by substring: only the composer may answer to "Mission".
    mission = page.get_by_label("Mission")
    assert mission.count() == 1
    assert mission.evaluate("e => e.tagName") == "TEXTAREA"
    assert page.get_by_label("Mission", exact=True).is_visible()
    assert page.get_by_role("button", name="Send").count() == 1
    assert page.get_by_role("button", name="Sign in").count() == 0
    assert page.get_by_text("alice", exact=True).first.is_visible()
    assert page.locator("input[type=file]").count() == 1
    assert canvas(page).get_by_text("Nothing on the canvas yet").is_visible()
    screenshot(page, "workspace-empty")


def test_shift_enter_adds_a_line_and_enter_sends(app_server, page):
    sign_in(page, app_server.url, "carol")
    box = page.get_by_label("Mission")
    box.fill("!echo one")
    box.press("Shift+Enter")
    box.type("echo two")
    assert box.input_value() == "!echo one\necho two"
    assert chat(page).get_by_text("Give your crew a mission").is_visible()
    box.press("Enter")
    terminal = canvas(page).get_by_role("log", name="Terminal output")
    terminal.get_by_text("two").wait_for(timeout=UI_TIMEOUT_MS)
    assert terminal.inner_text().split() == ["one", "two"]
    assert box.input_value() == ""
    chat(page).get_by_text(re.compile("^Done")).wait_for(timeout=UI_TIMEOUT_MS)


def test_upload_ocr_shell_and_reload_keep_the_same_canvas(app_server, page, tmp_path):
    sign_in(page, app_server.url, "bob")
    pdf = make_pdf(
        tmp_path / "invoice.pdf",
        ["INVOICE 4471", "Vendor: Acme Industrial", "Total due: EUR 1,250.00"],
    )
    page.locator("input[type=file]").set_input_files(str(pdf))
    row = document_row(page, "invoice.pdf")
    row.wait_for(timeout=UI_TIMEOUT_MS)
    row.get_by_text(re.compile("^(ocr_complete|completed)$")).wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "workspace-uploaded")

    row.get_by_role("button", name="invoice.pdf").click()
    reader = page.get_by_role("dialog")
    reader.get_by_text("Acme Industrial").wait_for(timeout=UI_TIMEOUT_MS)
    assert reader.get_by_text("Page 1 of 1").is_visible()
    reader.get_by_role("button", name="Close document").click()
    reader.wait_for(state="hidden")  # its focus trap lets go only once it is gone

    send_mission(page, "!ls documents")
    terminal = canvas(page).get_by_role("log", name="Terminal output")
    terminal.get_by_text(re.compile(r"_invoice\.pdf")).wait_for(timeout=UI_TIMEOUT_MS)
    tab = canvas(page).get_by_role("tab", name="$ ls documents")
    assert tab.get_attribute("aria-selected") == "true"
    chat(page).get_by_text(re.compile("^Done")).wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "workspace-terminal")

    page.reload()
    canvas(page).get_by_role("tab", name="$ ls documents").wait_for(timeout=UI_TIMEOUT_MS)
    terminal = canvas(page).get_by_role("log", name="Terminal output")
    terminal.get_by_text(re.compile(r"_invoice\.pdf")).wait_for(timeout=UI_TIMEOUT_MS)
    assert chat(page).get_by_text("!ls documents").is_visible()
    assert document_row(page, "invoice.pdf").get_by_text(re.compile("ocr_complete|completed"))
    screenshot(page, "workspace-reloaded")

    # A new tab of the same browser is signed in and redraws the same canvas from the Sprite.
    second = page.context.new_page()
    second.goto(app_server.url)
    canvas(second).get_by_role("log", name="Terminal output").get_by_text(
        re.compile(r"_invoice\.pdf")
    ).wait_for(timeout=UI_TIMEOUT_MS)
    second.close()


def test_a_mission_without_a_model_says_what_to_configure(app_server, page):
    sign_in(page, app_server.url, "dave")
    send_mission(page, "Summarise my documents")
    alert = chat(page).get_by_text(re.compile("No model is configured"))
    alert.wait_for(timeout=UI_TIMEOUT_MS)
    assert chat(page).get_by_text("failed", exact=True).is_visible()


def test_a_running_command_can_be_stopped(app_server, page):
    sign_in(page, app_server.url, "erin")
    send_mission(page, "!echo started; sleep 60")
    canvas(page).get_by_role("log", name="Terminal output").get_by_text("started").wait_for(
        timeout=UI_TIMEOUT_MS
    )
    chat(page).get_by_role("button", name="Stop").click()
    chat(page).get_by_text("cancelled", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    assert chat(page).get_by_role("button", name="Stop").count() == 0


def test_dark_mode_renders(app_server, page):
    sign_in(page, app_server.url, "frank")
    page.get_by_role("button", name="Switch light or dark theme").click()
    page.wait_for_function("document.documentElement.classList.contains('dark')")
    background = page.locator(".sd-header").evaluate("e => getComputedStyle(e).backgroundColor")
    red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
    assert red + green + blue < 150, background
    screenshot(page, "workspace-dark")
    page.goto(f"{app_server.url}/gallery")
    page.get_by_role("heading", name="chart", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    page.locator(".js-plotly-plot").wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "gallery-dark", full_page=True)


def test_stack_from_a_document_and_sign_out(app_server, page, tmp_path):
    sign_in(page, app_server.url, "gina")
    pdf = make_pdf(tmp_path / "contract.pdf", ["SERVICE CONTRACT", "Term: 24 months"])
    page.locator("input[type=file]").set_input_files(str(pdf))
    document_row(page, "contract.pdf").get_by_text(
        re.compile("^(ocr_complete|completed)$")
    ).wait_for(timeout=UI_TIMEOUT_MS)
    page.get_by_role("button", name="New stack").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Contracts 2025")
    dialog.get_by_role("checkbox").first.click()
    dialog.get_by_role("button", name="Create stack").click()
    stacks = page.get_by_role("complementary", name="Workspace")
    stacks.get_by_text("Contracts 2025").wait_for(timeout=UI_TIMEOUT_MS)
    stacks.get_by_text("1 document", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "workspace-stack")

    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=UI_TIMEOUT_MS)
    page.reload()
    page.get_by_label("User").wait_for(timeout=UI_TIMEOUT_MS)


def test_checkpoint_create_and_restore_after_confirmation(app_server, page):
    sign_in(page, app_server.url, "hank")
    page.get_by_label("Checkpoint note").fill("clean slate")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("clean slate").wait_for(timeout=UI_TIMEOUT_MS)

    send_mission(page, "!echo after-checkpoint > note.txt; cat note.txt")
    canvas(page).get_by_role("log", name="Terminal output").get_by_text(
        "after-checkpoint"
    ).wait_for(timeout=UI_TIMEOUT_MS)

    page.get_by_role("button", name="Restore").first.click()
    confirm = page.get_by_role("alertdialog")
    confirm.get_by_text("clean slate").wait_for(timeout=UI_TIMEOUT_MS)
    confirm.get_by_role("button", name="Restore").click()
    # The restored workspace predates the command: its terminal artifact is gone.
    canvas(page).get_by_text("Nothing on the canvas yet").wait_for(timeout=UI_TIMEOUT_MS)
    page.locator("[data-sprite-status=ready]").wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "workspace-restored")


def test_bad_uploads_say_why(app_server, page, tmp_path):
    sign_in(page, app_server.url, "iris")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    page.locator("input[type=file]").set_input_files(str(broken))
    row = document_row(page, "broken.pdf")
    row.get_by_text("failed", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    assert row.locator(".rt-Text").last.inner_text().strip()  # the reason is shown
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00")
    page.locator("input[type=file]").set_input_files(str(program))
    page.get_by_text(re.compile("Not uploaded: setup.exe: not a supported type")).wait_for(
        timeout=UI_TIMEOUT_MS
    )
    screenshot(page, "workspace-bad-uploads")


def test_the_split_between_chat_and_canvas_can_be_dragged(app_server, page):
    sign_in(page, app_server.url, "jack")
    handle = page.get_by_role("separator", name="Resize the panes")
    before = chat(page).bounding_box()["width"]
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 220, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    after = chat(page).bounding_box()["width"]
    assert after > before + 150, (before, after)
    screenshot(page, "workspace-resized")
