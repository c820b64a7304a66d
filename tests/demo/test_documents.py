"""The generated documents are what the demo promises, and the deterministic extractor reads
every fact back from their real OCR text, at the exact span where it is printed."""

from __future__ import annotations

import hashlib
import time
from decimal import Decimal

import pytest

from sprite.demo_extractor import (
    DemoExtractionError,
    is_contract,
    is_invoice,
    is_ledger,
    read_contract,
    read_invoice,
    read_ledger,
    spend_summary,
)
from sprite.ocr.kinds import DocumentKind, detect_kind
from stackdocs.demo import facts
from stackdocs.demo.documents import generate_documents
from stackdocs.demo.missions import STACK_COLUMNS


def expected_row(invoice: facts.Invoice) -> dict[str, object]:
    return {
        "Vendor": invoice.vendor,
        "Invoice number": invoice.number,
        "Total": facts.money(invoice.total),
        "Invoice date": invoice.issued.isoformat(),
        "Due date": invoice.due.isoformat(),
        "Subtotal": facts.money(invoice.subtotal),
        "Tax": facts.money(invoice.tax),
    }


def test_generation_is_reproducible_byte_for_byte():
    first = {d.filename: hashlib.sha256(d.data).hexdigest() for d in generate_documents()}
    time.sleep(1.1)  # across a second boundary: no file may carry the time it was written
    second = {d.filename: hashlib.sha256(d.data).hexdigest() for d in generate_documents()}
    assert first == second
    assert len(first) == 8


def test_each_document_is_the_promised_kind(demo_files, demo_pages):
    kinds = {name: detect_kind(path, name)[0] for name, path in demo_files.items()}
    invoices = {i.filename: i for i in facts.INVOICES}
    for name, kind in kinds.items():
        if name in invoices and invoices[name].scanned:
            assert kind is DocumentKind.IMAGE
            assert [p["method"] for p in demo_pages[name]] == ["tesseract"]
        elif name in invoices:
            assert kind is DocumentKind.PDF
            methods = [p["method"] for p in demo_pages[name]]
            assert methods == ["text_layer"] * invoices[name].page_count
    assert kinds[facts.CONTRACT.filename] is DocumentKind.DOCX
    assert len(demo_pages[facts.CONTRACT.filename]) == 2  # the page break is kept
    assert kinds[facts.LEDGER_FILENAME] is DocumentKind.XLSX
    assert sum(i.scanned for i in facts.INVOICES) == 1
    assert sum(i.page_count == 2 for i in facts.INVOICES) == 1


def test_facts_add_up():
    for invoice in facts.INVOICES:
        assert invoice.total == invoice.subtotal + invoice.tax
        assert invoice.due > invoice.issued
    totals = facts.spend_by_vendor()
    assert sum(totals.values()) == sum(i.total for i in facts.INVOICES)
    assert list(totals) == sorted(totals, key=totals.__getitem__, reverse=True)


@pytest.mark.parametrize("invoice", facts.INVOICES, ids=lambda i: i.number)
def test_extractor_reads_each_invoice_back_from_its_ocr_text(demo_pages, invoice):
    pages = demo_pages[invoice.filename]
    assert is_invoice(pages) and not is_contract(pages) and not is_ledger(pages)
    readings = read_invoice(pages)
    assert list(readings) == [name for name, _ in STACK_COLUMNS]
    assert {name: r.value for name, r in readings.items()} == expected_row(invoice)
    texts = {p["page"]: p["text"] for p in pages}
    for name, reading in readings.items():
        cited = texts[reading.page][reading.start : reading.end]
        assert cited, name
        if name in ("Total", "Subtotal", "Tax"):
            assert cited == reading.value  # "$31,458.16" exactly as printed
        if name in ("Invoice date", "Due date"):
            assert cited == facts.long_date(
                invoice.issued if name == "Invoice date" else invoice.due
            )
    if invoice.page_count == 2:
        # The totals of the two-page invoice are cited on page 2, its header on page 1.
        assert readings["Total"].page == 2 and readings["Invoice number"].page == 1


def test_extractor_reads_the_contract_terms(demo_pages):
    pages = demo_pages[facts.CONTRACT.filename]
    assert is_contract(pages) and not is_invoice(pages)
    readings = read_contract(pages)
    assert {n: r.value for n, r in readings.items()} == {
        t.name: t.value for t in facts.CONTRACT.terms
    }
    texts = {p["page"]: p["text"] for p in pages}
    for term in facts.CONTRACT.terms:
        reading = readings[term.name]
        assert texts[reading.page][reading.start : reading.end] in term.quote
    assert readings["Governing law"].page == 2


def test_extractor_reads_the_ledger(demo_pages):
    pages = demo_pages[facts.LEDGER_FILENAME]
    assert is_ledger(pages) and not is_invoice(pages)
    rows = read_ledger(pages)
    assert [(r.vendor, r.reference, r.amount) for r in rows] == [
        (e.vendor, e.reference, e.amount) for e in facts.LEDGER
    ]


def test_a_document_without_the_known_layout_is_reported_not_guessed():
    pages = [{"page": 1, "text": "Northwind\nInvoice number: X-1\nno dates here", "method": "x"}]
    with pytest.raises(DemoExtractionError, match="no text matching"):
        read_invoice(pages)


def test_summary_finds_the_ledger_keying_error():
    rows = [expected_row(i) for i in facts.INVOICES]
    ledger = [
        type("Row", (), {"vendor": e.vendor, "reference": e.reference, "amount": e.amount})()
        for e in facts.LEDGER
    ]
    text, differences = spend_summary(rows, ledger, Decimal("40000.00"))
    assert differences == 1
    atlas = facts.invoice_by_number("AOS-58812")
    assert f"**AOS-58812** ({atlas.vendor}) is booked at $2,429.22" in text
    assert "$100.00 short" in text
    grand = facts.money(sum(i.total for i in facts.INVOICES))
    assert f"6 invoices from 5 vendors, {grand} in total" in text
    assert "within the agreement's $40,000.00 monthly cap" in text
    assert "3 payments without an invoice here" in text
    assert "no model was used" in text
