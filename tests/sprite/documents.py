"""Test documents, generated in the tests: text PDF with a table, scans, DOCX, XLSX, CSV."""

from __future__ import annotations

import io

INVOICE_ROWS = [
    ("Item", "Qty", "Amount"),
    ("Widget", "4", "120.00"),
    ("Gadget", "2", "75.50"),
    ("Sprocket", "10", "9.99"),
]
SCAN_LINES = [
    "INVOICE 2291",
    "Acme Supplies Pty Ltd",
    "Widget 4 120.00",
    "Gadget 2 75.50",
    "Total AUD 195.50",
]


def text_pdf_with_table(pages: int = 2) -> bytes:
    """A PDF with a real text layer: a heading, a paragraph and a table on page 1."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

    buffer = io.BytesIO()
    styles = getSampleStyleSheet()
    story = [
        Paragraph("Quarterly Invoice Summary", styles["Title"]),
        Paragraph("Supplier: Acme Supplies Pty Ltd", styles["Normal"]),
        Table(
            list(INVOICE_ROWS), style=TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)])
        ),
    ]
    for n in range(2, pages + 1):
        story += [
            PageBreak(),
            Paragraph(f"Page {n} notes: payment due in 30 days.", styles["Normal"]),
        ]
    SimpleDocTemplate(buffer, pagesize=A4).build(story)
    return buffer.getvalue()


def many_page_text_pdf(pages: int) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for n in range(1, pages + 1):
        for line in range(40):
            pdf.drawString(
                60,
                780 - line * 18,
                f"Page {n} line {line}: the quick brown fox jumps over the lazy dog {n * line}",
            )
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def scan_image(lines: list[str] | None = None, fmt: str = "PNG") -> bytes:
    """A 'scanned' page: text drawn into pixels only (no text layer)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for i, line in enumerate(lines or SCAN_LINES):
        draw.text((120, 150 + i * 90), line, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def scanned_pdf(pages: int = 1) -> bytes:
    """A PDF whose pages are images only: the local engine must OCR them."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for n in range(1, pages + 1):
        image = Image.open(io.BytesIO(scan_image([*SCAN_LINES, f"Scanned page {n}"])))
        pdf.drawImage(ImageReader(image), 0, 0, width=A4[0], height=A4[1])
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def docx_document() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Service Agreement", level=1)
    document.add_paragraph("This agreement is between Acme and Stackdocs.")
    table = document.add_table(rows=0, cols=3)
    for row in INVOICE_ROWS:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value
    document.add_page_break()
    document.add_paragraph("Signed on the second page.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_workbook() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Invoices"
    for row in INVOICE_ROWS:
        sheet.append([row[0], *(float(v) if v[0].isdigit() else v for v in row[1:])])
    other = workbook.create_sheet("Vendors")
    other.append(["Vendor", "Country"])
    other.append(["Acme", "Australia"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_file() -> bytes:
    return "\n".join(",".join(row) for row in INVOICE_ROWS).encode() + b"\n"
