"""The demo's documents, rendered from :mod:`stackdocs.demo.facts` as real files.

- vendor invoices as text PDFs (reportlab, standard fonts: a real text layer, one two-page);
- one invoice as a photographed page (JPEG, slightly rotated, grey paper, sensor noise): no text
  layer, so it goes through Tesseract;
- the services agreement as DOCX (python-docx) with a fee table and a page break;
- the spend ledger as XLSX (openpyxl).

Output is byte-for-byte reproducible (fixed timestamps, seeded noise), so the same demo gives the
same files — and the same SHA-256 — on every machine and every run. Blocking work: async callers
run :func:`write_documents` in a thread.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from stackdocs.demo.facts import (
    CLIENT,
    CLIENT_ADDRESS,
    CONTRACT,
    INVOICES,
    LABEL_BILL_TO,
    LABEL_DUE,
    LABEL_ISSUED,
    LABEL_NUMBER,
    LABEL_SUBTOTAL,
    LABEL_TOTAL,
    LEDGER,
    LEDGER_COLUMNS,
    LEDGER_FILENAME,
    LEDGER_SHEET,
    Invoice,
    LineItem,
    long_date,
    money,
)

# Every generated file carries this date as its creation/modification time.
FIXED_TIME = datetime(2026, 4, 1, 9, 0, 0)
PAGE_WIDTH, PAGE_HEIGHT = 612.0, 792.0  # US letter, points


@dataclass(frozen=True)
class GeneratedDocument:
    filename: str
    mime_type: str
    data: bytes


# ----------------------------------------------------------------------------- invoices (PDF)


def _line_rows(lines: tuple[LineItem, ...]) -> list[tuple[str, str, str, str]]:
    rows = []
    for line in lines:
        quantity = f"{line.quantity.normalize():f}"
        rows.append((line.description, quantity, money(line.unit_price), money(line.amount)))
    return rows


def _invoice_pdf(invoice: Invoice) -> bytes:
    from reportlab.lib.colors import Color
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1)
    pdf.setTitle(f"Invoice {invoice.number}")
    pdf.setAuthor(invoice.vendor)
    ink, grey, rule = Color(0.1, 0.12, 0.16), Color(0.42, 0.45, 0.5), Color(0.82, 0.84, 0.87)
    left, right = 56.0, PAGE_WIDTH - 56.0

    def letterhead(continued: bool) -> float:
        pdf.setFillColor(ink)
        pdf.setFont("Helvetica-Bold", 18)
        pdf.drawString(left, 736, invoice.vendor)
        pdf.setFont("Helvetica", 9)
        pdf.setFillColor(grey)
        pdf.drawString(left, 720, " · ".join(invoice.vendor_address))
        pdf.setFont("Helvetica-Bold", 22)
        pdf.setFillColor(ink)
        pdf.drawRightString(right, 736, "INVOICE")
        if continued:
            pdf.setFont("Helvetica", 10)
            pdf.drawRightString(right, 718, f"{invoice.number}, page 2 of 2")
        pdf.setStrokeColor(rule)
        pdf.line(left, 706, right, 706)
        return 680.0

    def table_head(y: float) -> float:
        pdf.setFont("Helvetica-Bold", 10)
        pdf.setFillColor(ink)
        pdf.drawString(left, y, "Description")
        pdf.drawRightString(380, y, "Qty")
        pdf.drawRightString(470, y, "Unit price")
        pdf.drawRightString(right, y, "Amount")
        pdf.line(left, y - 6, right, y - 6)
        return y - 22

    def table_rows(y: float, rows: list[tuple[str, str, str, str]]) -> float:
        pdf.setFont("Helvetica", 10)
        for description, quantity, unit, amount in rows:
            pdf.drawString(left, y, description)
            pdf.drawRightString(380, y, quantity)
            pdf.drawRightString(470, y, unit)
            pdf.drawRightString(right, y, amount)
            y -= 18
        return y

    y = letterhead(continued=False)
    pdf.setFont("Helvetica", 10)
    pdf.setFillColor(ink)
    details = [
        f"{LABEL_NUMBER} {invoice.number}",
        f"{LABEL_ISSUED} {long_date(invoice.issued)}",
        f"{LABEL_DUE} {long_date(invoice.due)}",
    ]
    if invoice.purchase_order:
        details.append(f"Purchase order: {invoice.purchase_order}")
    for line in details:
        pdf.drawString(left, y, line)
        y -= 15
    y -= 10
    pdf.drawString(left, y, f"{LABEL_BILL_TO} {CLIENT}")
    y -= 15
    pdf.drawString(left, y, ", ".join(CLIENT_ADDRESS))
    y -= 34

    rows = _line_rows(invoice.lines)
    split = invoice.lines_on_first_page
    y = table_rows(table_head(y), rows if split is None else rows[:split])
    if split is not None:
        pdf.setFont("Helvetica-Oblique", 9)
        pdf.setFillColor(grey)
        pdf.drawString(left, y - 6, "Continued on page 2.")
        pdf.showPage()
        y = letterhead(continued=True)
        y = table_rows(table_head(y), rows[split:])

    pdf.setFillColor(ink)
    pdf.line(330, y + 4, right, y + 4)
    y -= 14
    for label, amount, bold in (
        (LABEL_SUBTOTAL, invoice.subtotal, False),
        (invoice.tax_label, invoice.tax, False),
        (LABEL_TOTAL, invoice.total, True),
    ):
        pdf.setFont("Helvetica-Bold" if bold else "Helvetica", 11 if bold else 10)
        pdf.drawString(340, y, f"{label} {money(amount)}")
        y -= 18
    pdf.setFont("Helvetica", 9)
    pdf.setFillColor(grey)
    pdf.drawString(
        left, 96, f"Payment terms: 30 days from the invoice date. Please quote {invoice.number}."
    )
    pdf.drawString(left, 82, f"Thank you for your business. {invoice.vendor.rstrip('.')}.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# ----------------------------------------------------------------------------- scanned invoice


def _scanned_invoice(invoice: Invoice) -> bytes:
    """The invoice as a phone/scanner picture: pixels only, mildly degraded, deterministic."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

    scale = 150 / 72  # 150 dpi
    width, height = int(PAGE_WIDTH * scale), int(PAGE_HEIGHT * scale)
    page = Image.new("L", (width, height), 247)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=23)
    small = ImageFont.load_default(size=19)
    big = ImageFont.load_default(size=42)
    left, right = 110, width - 110

    def text(x: float, y: float, value: str, face=font, anchor: str = "la", ink: int = 25) -> None:
        draw.text((x, y), value, fill=ink, font=face, anchor=anchor)

    text(left, 90, invoice.vendor, big)
    text(right, 90, "INVOICE", big, anchor="ra")
    text(left, 150, " · ".join(invoice.vendor_address), small, ink=90)
    draw.line((left, 190, right, 190), fill=160, width=2)
    y = 225
    for line in (
        f"{LABEL_NUMBER} {invoice.number}",
        f"{LABEL_ISSUED} {long_date(invoice.issued)}",
        f"{LABEL_DUE} {long_date(invoice.due)}",
    ):
        text(left, y, line)
        y += 36
    y += 20
    text(left, y, f"{LABEL_BILL_TO} {CLIENT}")
    y += 36
    text(left, y, ", ".join(CLIENT_ADDRESS))
    y += 70
    for x, label, anchor in (
        (left, "Description", "la"),
        (790, "Qty", "ra"),
        (980, "Unit price", "ra"),
        (right, "Amount", "ra"),
    ):
        text(x, y, label, anchor=anchor)
    draw.line((left, y + 34, right, y + 34), fill=160, width=2)
    y += 52
    for description, quantity, unit, amount in _line_rows(invoice.lines):
        text(left, y, description)
        text(790, y, quantity, anchor="ra")
        text(980, y, unit, anchor="ra")
        text(right, y, amount, anchor="ra")
        y += 38
    draw.line((690, y + 4, right, y + 4), fill=160, width=2)
    y += 22
    for label, amount in (
        (LABEL_SUBTOTAL, invoice.subtotal),
        (invoice.tax_label, invoice.tax),
        (LABEL_TOTAL, invoice.total),
    ):
        text(710, y, f"{label} {money(amount)}")
        y += 38
    text(
        left,
        height - 200,
        f"Payment terms: 30 days from the invoice date. Please quote {invoice.number}.",
        small,
        ink=90,
    )

    # The camera: a small rotation, a soft lens, uneven light and sensor noise (seeded).
    page = page.rotate(0.6, resample=Image.Resampling.BICUBIC, fillcolor=232, expand=False)
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    rng = random.Random(7730)
    noise = Image.frombytes("L", page.size, rng.randbytes(page.size[0] * page.size[1]))
    noise = noise.point(lambda v: 114 + v * 29 // 256)  # 128 ± 14
    shade = Image.linear_gradient("L").resize(page.size).point(lambda v: 128 - v // 16)
    page = ImageChops.add(page, noise, scale=1.0, offset=-128)
    page = ImageChops.add(page, shade, scale=1.0, offset=-128)
    buffer = io.BytesIO()
    page.convert("RGB").save(buffer, format="JPEG", quality=82, optimize=False)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- contract (DOCX)


def _contract_docx() -> bytes:
    import docx
    from docx.enum.text import WD_BREAK

    terms = {term.name: term for term in CONTRACT.terms}
    document = docx.Document()
    core = document.core_properties
    core.author = CLIENT
    core.title = CONTRACT.title
    core.created = core.modified = FIXED_TIME
    core.last_modified_by = CLIENT
    core.revision = 1

    document.add_heading(CONTRACT.title, level=0)
    document.add_paragraph(
        f'This {CONTRACT.title} (the "Agreement") is made on 5 January 2026 '
        f"{terms['Parties'].quote}."
    )
    document.add_heading("1. Term", level=1)
    document.add_paragraph(
        f'This Agreement {terms["Effective date"].quote} (the "Effective Date") and '
        f"{terms['Term'].quote} unless terminated earlier under clause 5."
    )
    document.add_heading("2. Services", level=1)
    document.add_paragraph(
        "Consultant will assess Client's data platform, run workshops with Client's teams and "
        "recommend a target architecture, as described in each statement of work."
    )
    document.add_heading("3. Fees", level=1)
    document.add_paragraph(
        f"Client will pay Consultant {terms['Hourly rate'].quote} for consulting work and the "
        "day rates in the schedule below. Fees invoiced in any calendar month "
        f'{terms["Monthly fee cap"].quote} (the "Monthly Cap") without Client\'s written '
        "approval. Travel is reimbursed at cost."
    )
    table = document.add_table(rows=0, cols=3)
    for row in (
        ("Role or item", "Unit", "Rate"),
        ("Senior consultant", "hour", "$185.00"),
        ("Workshop facilitation", "day", "$1,400.00"),
        ("Travel", "at cost", "receipts"),
    ):
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value
    document.add_heading("4. Payment", level=1)
    document.add_paragraph(
        f"Invoices are payable within thirty (30) days {terms['Payment terms'].quote}."
    )
    document.add_heading("5. Termination", level=1)
    termination = document.add_paragraph(
        f"Either party may terminate this Agreement {terms['Termination notice'].quote}."
    )
    termination.add_run().add_break(WD_BREAK.PAGE)
    document.add_heading("6. Governing law", level=1)
    document.add_paragraph(f"This Agreement is governed by {terms['Governing law'].quote}.")
    document.add_paragraph("Signed for Client: Dana Whitfield, Managing Partner, 5 January 2026.")
    document.add_paragraph("Signed for Consultant: Ravi Anand, Principal, 5 January 2026.")
    buffer = io.BytesIO()
    document.save(buffer)
    return _normalise_zip(buffer.getvalue())


# ----------------------------------------------------------------------------- ledger (XLSX)


def _ledger_xlsx() -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    workbook.properties.creator = CLIENT
    workbook.properties.created = workbook.properties.modified = FIXED_TIME
    sheet = workbook.active
    sheet.title = LEDGER_SHEET
    sheet.append(list(LEDGER_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for entry in LEDGER:
        sheet.append(
            [entry.booked, entry.vendor, entry.reference, entry.category, float(entry.amount)]
        )
        sheet.cell(sheet.max_row, 1).number_format = "yyyy-mm-dd"
        sheet.cell(sheet.max_row, 5).number_format = "#,##0.00"
    for column, width in zip("ABCDE", (12, 30, 14, 20, 12), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _normalise_zip(buffer.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """Office files are ZIPs whose entries carry the time of writing: pin it.

    openpyxl also stamps ``dcterms:modified`` with the time of saving, whatever was set, so the
    core properties are pinned here too.
    """
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp + rb"\g<2>",
                    content,
                )
            target.writestr(fixed, content)
    return out.getvalue()


# ----------------------------------------------------------------------------- all of them


def generate_documents() -> list[GeneratedDocument]:
    """Every demo document, in upload order (invoices, then the contract, then the ledger)."""
    documents = []
    for invoice in INVOICES:
        data = _scanned_invoice(invoice) if invoice.scanned else _invoice_pdf(invoice)
        documents.append(GeneratedDocument(invoice.filename, invoice.mime_type, data))
    documents.append(
        GeneratedDocument(
            CONTRACT.filename,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            _contract_docx(),
        )
    )
    documents.append(
        GeneratedDocument(
            LEDGER_FILENAME,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _ledger_xlsx(),
        )
    )
    return documents


def write_documents(folder: Path) -> list[Path]:
    """Write the documents into ``folder`` (created); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for document in generate_documents():
        path = folder / document.filename
        path.write_bytes(document.data)
        paths.append(path)
    return paths
