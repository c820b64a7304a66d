"""PDFs: the text layer with pypdfium2; pages without one are rendered for OCR.

pdfium is not thread-safe and these functions block, so the ingest pipeline calls them from one
worker thread at a time (``asyncio.to_thread``), never concurrently.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from sprite.ocr import UnreadableDocument, normalise_text

# A page whose text layer has fewer visible characters than this is treated as scanned.
MIN_TEXT_LAYER_CHARS = 16
OCR_DPI = 300


@dataclass
class PdfPageText:
    text: str
    needs_ocr: bool
    width_pt: float
    height_pt: float


def _open(path: Path):  # -> pypdfium2.PdfDocument
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            raise UnreadableDocument("the PDF is password-protected") from None
        raise UnreadableDocument(f"not a readable PDF ({message})") from None


def read_text_layer(path: Path) -> list[PdfPageText]:
    """Every page's text layer, and whether the page needs OCR instead."""
    pdf = _open(path)
    try:
        if len(pdf) == 0:
            raise UnreadableDocument("the PDF has no pages")
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                width, height = page.get_size()
                textpage = page.get_textpage()
                try:
                    text = normalise_text(textpage.get_text_range())
                finally:
                    textpage.close()
            except UnreadableDocument:
                raise
            except Exception as exc:
                raise UnreadableDocument(
                    f"page {index + 1} of the PDF is damaged ({exc})"
                ) from None
            finally:
                page.close()
            visible = sum(1 for ch in text if not ch.isspace())
            pages.append(PdfPageText(text, visible < MIN_TEXT_LAYER_CHARS, width, height))
        return pages
    finally:
        pdf.close()


def render_page_for_ocr(path: Path, index: int, dpi: int = OCR_DPI) -> bytes:
    """One page as a greyscale PNM image (fast to encode, read by tesseract from stdin)."""
    pdf = _open(path)
    try:
        page = pdf[index]
        try:
            bitmap = page.render(scale=dpi / 72)
            image = bitmap.to_pil().convert("L")  # colour render + convert beats grayscale=True
        finally:
            page.close()
        buffer = io.BytesIO()
        image.save(buffer, format="PPM")
        return buffer.getvalue()
    finally:
        pdf.close()


def pdfium_version() -> str:
    import pypdfium2 as pdfium

    return f"pypdfium2 {pdfium.PYPDFIUM_INFO}"
