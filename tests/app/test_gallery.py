"""/gallery: every artifact type drawn from sample data, and each one's interactions."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from tests.support.browser import UI_TIMEOUT_MS, screenshot

pytestmark = pytest.mark.browser

TYPES = ["table", "markdown", "json", "terminal", "chart"]


@pytest.fixture
def gallery(app_server, page):
    page.goto(f"{app_server.url}/gallery")
    page.get_by_role("heading", name="table", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    return page


def card(page, name):
    return page.locator(f"#gallery-{name}")


def test_every_type_is_headed_by_its_name_and_drawn(gallery):
    page = gallery
    for name in TYPES:
        assert page.get_by_role("heading", name=name, exact=True).is_visible()
    assert card(page, "table").get_by_role("cell", name="INV-1001").is_visible()
    assert card(page, "markdown").get_by_role("heading", name="Findings").is_visible()
    assert card(page, "json").get_by_text('"Acme Industrial"').is_visible()
    terminal = card(page, "terminal").get_by_role("log", name="Terminal output")
    assert "01_invoice-1001.pdf" in terminal.inner_text()
    blue = terminal.locator(".sd-fg-4", has_text="01_invoice-1001.pdf")
    assert blue.evaluate("e => getComputedStyle(e).color") == "rgb(108, 182, 255)"
    plot = card(page, "chart").locator(".js-plotly-plot")
    plot.wait_for(timeout=UI_TIMEOUT_MS)
    assert plot.locator(".legendtext", has_text="Budget").count() == 1
    assert page.get_by_role("heading", name="unregistered type (fallback)").is_visible()
    screenshot(page, "gallery", full_page=True)


def test_ten_thousand_rows_sort_filter_and_page_without_sending_them_all(gallery):
    table = card(gallery, "table")
    assert table.get_by_text("10,000 rows").is_visible()
    # Only one page of rows is in the DOM.
    assert table.locator("tbody tr").count() == 50
    total = table.get_by_role("columnheader", name=re.compile("Total"))
    total.get_by_role("button").click()
    total.get_by_role("button").click()
    first_total = table.locator("tbody tr").first.locator("td").nth(4)
    gallery.wait_for_function(
        "e => e.getAttribute('aria-sort') === 'descending'", arg=total.element_handle()
    )
    values = [
        float(t.replace(",", "").strip())
        for t in table.locator("tbody tr td:nth-child(5)").all_inner_texts()
    ]
    assert values == sorted(values, reverse=True) and values[0] > 24_000
    assert first_total.inner_text().strip() == f"{values[0]:,.2f}"

    table.get_by_label("Filter rows").fill("cobalt legal paid")
    table.get_by_text(re.compile(r"^[\d,]+ of 10,000 rows$")).wait_for()
    vendors = set(table.locator("tbody tr td:nth-child(2)").all_inner_texts())
    assert vendors == {"Cobalt Legal LLP"}
    table.get_by_label("Filter rows").fill("")
    table.get_by_text("10,000 rows", exact=True).wait_for()
    table.get_by_role("button", name="Next page").click()
    table.get_by_text("Page 2 of 200").wait_for()
    table.get_by_role("button", name="Last page").click()
    table.get_by_text("Page 200 of 200").wait_for()
    assert table.get_by_role("button", name="Next page").is_disabled()
    screenshot(gallery, "gallery-table-paged")


def test_a_cited_value_opens_its_source_page_with_the_span_highlighted(gallery):
    table = card(gallery, "table")
    table.get_by_role("button", name="1,870").click()
    dialog = gallery.get_by_role("dialog")
    dialog.get_by_role("heading", name="sample-invoices.pdf").wait_for()
    assert dialog.get_by_text("Page 2 of 5").is_visible()
    mark = dialog.locator("mark")
    assert mark.inner_text() == "1,870.00"
    assert "Vendor: Borealis Logistics" in dialog.locator("pre").inner_text()
    screenshot(gallery, "gallery-citation")
    dialog.get_by_role("button", name="Next").click()
    dialog.get_by_text("Page 3 of 5").wait_for()
    assert dialog.locator("mark").count() == 0


def test_csv_and_xlsx_downloads_hold_every_row(gallery):
    table = card(gallery, "table")
    with gallery.expect_download() as got:
        table.get_by_role("button", name="CSV").click()
    rows = list(csv.reader(io.StringIO(open(got.value.path(), encoding="utf-8").read())))
    assert got.value.suggested_filename == "Invoice-register.csv"
    assert rows[0] == ["Invoice", "Vendor", "Date", "Category", "Total", "Currency", "Status"]
    assert len(rows) == 10_001
    with gallery.expect_download(timeout=UI_TIMEOUT_MS) as got:
        table.get_by_role("button", name="XLSX").click()
    assert got.value.suggested_filename == "Invoice-register.xlsx"
    with open(got.value.path(), "rb") as handle:
        sheet = load_workbook(handle, read_only=True).active
        first = next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))
        assert sum(1 for _ in sheet.iter_rows(values_only=True)) == 10_001
    assert first[4] == 1560.0


def test_json_branches_collapse_and_expand(gallery):
    tree = card(gallery, "json")
    assert tree.get_by_text('"DE811907980"').is_visible()
    tree.locator(".sd-tree-row", has_text="vendor:").get_by_role("button", name="Collapse").click()
    tree.get_by_text('"DE811907980"').wait_for(state="detached")
    tree.get_by_role("button", name="Expand all").click()
    tree.get_by_text('"Maintenance, Q1"').wait_for()
