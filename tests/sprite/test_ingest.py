"""Every supported document type goes in, and its text, rows and files come out right."""

from __future__ import annotations

import hashlib

import pytest

from tests.sprite import documents
from tests.sprite.conftest import SpriteClient, SpriteProcess, workspace_files


async def ingest(client: SpriteClient, filename: str, data: bytes) -> tuple[str, dict]:
    reply = await client.upload(filename, data)
    assert reply["type"] == "document_event", reply
    assert reply["payload"]["status"] == "processing"
    document_id = reply["payload"]["document_id"]
    final = await client.wait_document(document_id)
    return document_id, final["payload"]


async def pages_of(client: SpriteClient, document_id: str) -> list[str]:
    reply = await client.request("document_request", {"document_id": document_id})
    assert reply["type"] == "document_content", reply
    pages = reply["payload"]["pages"]
    assert [p["page"] for p in pages] == list(range(1, len(pages) + 1))
    return [p["text"] for p in pages]


def check_stored(sprite: SpriteProcess, document_id: str, filename: str, data: bytes) -> dict:
    """The file, the rows and the cached text agree with each other."""
    (doc,) = sprite.query("SELECT * FROM documents WHERE id = ?", (document_id,))
    assert doc["file_path"] == f"documents/{document_id}_{filename}"
    stored = sprite.workspace / doc["file_path"]
    assert stored.read_bytes() == data
    assert doc["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["file_size_bytes"] == len(data)
    (ocr,) = sprite.query("SELECT * FROM ocr_results WHERE document_id = ?", (document_id,))
    assert ocr["text_path"] == f"ocr/{document_id}.md"
    cached = (sprite.workspace / ocr["text_path"]).read_text()
    assert cached == ocr["raw_text"]
    pages = sprite.query(
        "SELECT * FROM ocr_pages WHERE document_id = ? ORDER BY page_number", (document_id,)
    )
    assert len(pages) == ocr["page_count"] >= 1
    for page in pages:  # citations: the page's text sits at raw_offset in the cached file
        assert cached[page["raw_offset"] : page["raw_offset"] + len(page["text"])] == page["text"]
    assert ocr["processing_time_ms"] >= 0 and ocr["model"] and ocr["ocr_engine"] == "local"
    return {"doc": doc, "ocr": ocr, "pages": pages}


async def test_text_pdf_with_table_uses_the_text_layer(sprite, client):
    data = documents.text_pdf_with_table(pages=2)
    document_id, final = await ingest(client, "invoice summary.pdf", data)
    assert final["status"] == "ocr_complete", final
    stored = check_stored(sprite, document_id, "invoice_summary.pdf", data)
    assert stored["doc"]["mime_type"] == "application/pdf"
    assert [p["method"] for p in stored["pages"]] == ["text_layer", "text_layer"]
    pages = await pages_of(client, document_id)
    assert "Quarterly Invoice Summary" in pages[0]
    assert "Sprocket" in pages[0] and "75.50" in pages[0]
    assert "Page 2 notes" in pages[1] and "Page 2 notes" not in pages[0]
    assert "\r" not in "".join(pages)


async def test_scanned_image_is_read_by_tesseract(sprite, client):
    data = documents.scan_image()
    document_id, final = await ingest(client, "scan.png", data)
    assert final["status"] == "ocr_complete", final
    stored = check_stored(sprite, document_id, "scan.png", data)
    assert stored["pages"][0]["method"] == "tesseract"
    assert "tesseract" in stored["ocr"]["model"]
    text = (await pages_of(client, document_id))[0]
    for word in ("INVOICE", "2291", "Acme", "Widget", "195.50"):
        assert word in text, text


async def test_jpeg_and_tiff_scans(sprite, client):
    for name, fmt in (("scan.jpg", "JPEG"), ("scan.tiff", "TIFF")):
        data = documents.scan_image(fmt=fmt)
        document_id, final = await ingest(client, name, data)
        assert final["status"] == "ocr_complete", final
        assert "Widget" in (await pages_of(client, document_id))[0]


async def test_scanned_pdf_pages_are_rendered_and_ocred(sprite, client):
    data = documents.scanned_pdf(pages=2)
    document_id, final = await ingest(client, "scanned.pdf", data)
    assert final["status"] == "ocr_complete", final
    stored = check_stored(sprite, document_id, "scanned.pdf", data)
    assert [p["method"] for p in stored["pages"]] == ["tesseract", "tesseract"]
    pages = await pages_of(client, document_id)
    assert "Scanned page 1" in pages[0] and "Scanned page 2" in pages[1]
    assert "195.50" in pages[0]


async def test_docx_keeps_headings_tables_and_page_breaks(sprite, client):
    data = documents.docx_document()
    document_id, final = await ingest(client, "agreement.docx", data)
    assert final["status"] == "ocr_complete", final
    check_stored(sprite, document_id, "agreement.docx", data)
    pages = await pages_of(client, document_id)
    assert pages[0].startswith("# Service Agreement")
    assert "| Item | Qty | Amount |" in pages[0]
    assert "| Gadget | 2 | 75.50 |" in pages[0]
    assert pages[1] == "Signed on the second page."


async def test_xlsx_sheets_become_markdown_tables(sprite, client):
    data = documents.xlsx_workbook()
    document_id, final = await ingest(client, "books.xlsx", data)
    assert final["status"] == "ocr_complete", final
    check_stored(sprite, document_id, "books.xlsx", data)
    pages = await pages_of(client, document_id)
    assert pages[0].startswith("## Invoices")
    assert "| Widget | 4 | 120 |" in pages[0]
    assert "| Gadget | 2 | 75.5 |" in pages[0]
    assert pages[1].startswith("## Vendors") and "| Acme | Australia |" in pages[1]


async def test_csv_text_and_markdown(sprite, client):
    document_id, final = await ingest(client, "rows.csv", documents.csv_file())
    assert final["status"] == "ocr_complete", final
    (page,) = await pages_of(client, document_id)
    assert page.splitlines()[0] == "| Item | Qty | Amount |"
    assert "| Sprocket | 10 | 9.99 |" in page

    text = b"First page.\r\nSecond line.\fSecond page."
    document_id, _ = await ingest(client, "notes.txt", text)
    assert await pages_of(client, document_id) == ["First page.\nSecond line.", "Second page."]

    markdown = b"# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    document_id, _ = await ingest(client, "readme.md", markdown)
    (page,) = await pages_of(client, document_id)
    assert page.startswith("# Title") and "| 1 | 2 |" in page
    (doc,) = sprite.query("SELECT mime_type FROM documents WHERE id = ?", (document_id,))
    assert doc["mime_type"] == "text/markdown"


async def test_chunked_upload_streams_to_disk_and_verifies(sprite, client):
    data = documents.many_page_text_pdf(pages=30)
    assert len(data) > 3 * 4096
    reply = await client.upload_chunked("big report.pdf", data, chunk=4096)
    assert reply["type"] == "document_event", reply
    document_id = reply["payload"]["document_id"]
    final = await client.wait_document(document_id)
    assert final["payload"]["status"] == "ocr_complete"
    stored = check_stored(sprite, document_id, "big_report.pdf", data)
    assert stored["ocr"]["page_count"] == 30
    assert "Page 30 line 39" in stored["pages"][29]["text"]


async def test_state_lists_documents_with_their_text_details(sprite, client):
    document_id, _ = await ingest(client, "rows.csv", documents.csv_file())
    state = await client.request("state_request")
    (doc,) = state["payload"]["documents"]
    assert doc["id"] == document_id and doc["status"] == "ocr_complete"
    assert doc["page_count"] == 1 and doc["engine"] == "local"
    assert doc["filename"] == "rows.csv" and doc["mime_type"] == "text/csv"
    assert doc["size_bytes"] == len(documents.csv_file()) and doc["created_at"]
    assert workspace_files(sprite.workspace) == {
        f"documents/{document_id}_rows.csv",
        f"ocr/{document_id}.md",
    }


@pytest.mark.parametrize(
    ("filename", "stored_as"),
    [
        ("Facture été 2024 — copie.txt", "Facture_été_2024_copie.txt"),
        ("reports/2024/q1 notes.txt", "q1_notes.txt"),
        ("a" * 400 + ".txt", "a" * 156 + ".txt"),
        ("日本語の書類.txt", "日本語の書類.txt"),
    ],
)
async def test_names_are_kept_readable_and_safe(sprite, client, filename, stored_as):
    document_id, final = await ingest(client, filename, b"some text")
    assert final["status"] == "ocr_complete"
    assert final["filename"] == stored_as
    assert (sprite.workspace / "documents" / f"{document_id}_{stored_as}").is_file()
