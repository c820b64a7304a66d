"""The local engine: no network, no key. Dispatches on the document kind."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sprite.ocr import (
    DocumentKind,
    ExtractedText,
    PageText,
    UnreadableDocument,
    normalise_text,
    tesseract,
)


class LocalEngine:
    name = "local"

    async def extract(self, path: Path, kind: DocumentKind) -> ExtractedText:
        if kind is DocumentKind.PDF:
            return await self._pdf(path)
        if kind is DocumentKind.IMAGE:
            return await self._image(path)
        return await convert_office_or_text(path, kind)

    async def _pdf(self, path: Path) -> ExtractedText:
        from sprite.ocr import pdf

        layer = await asyncio.to_thread(pdf.read_text_layer, path)
        pages: list[PageText] = []
        used_ocr = False
        for index, page in enumerate(layer):
            meta = {"width_pt": round(page.width_pt, 2), "height_pt": round(page.height_pt, 2)}
            if not page.needs_ocr:
                pages.append(PageText(index + 1, page.text, "text_layer", meta))
                continue
            image = await asyncio.to_thread(pdf.render_page_for_ocr, path, index)
            text = await tesseract.ocr_image_bytes(image, dpi=pdf.OCR_DPI)
            del image
            used_ocr = True
            pages.append(PageText(index + 1, normalise_text(text), "tesseract", meta))
        model = await asyncio.to_thread(pdf.pdfium_version)
        if used_ocr:
            model = f"{model} + {await tesseract.version()}"
        return ExtractedText(pages, "local", model, {"pages_processed": len(pages)})

    async def _image(self, path: Path) -> ExtractedText:
        texts = await tesseract.ocr_file(path)
        pages = [PageText(i + 1, normalise_text(text), "tesseract") for i, text in enumerate(texts)]
        if not any(p.text.strip() for p in pages):
            # An image without readable text is not an error: keep one empty page.
            pages = pages[:1]
        return ExtractedText(
            pages, "local", await tesseract.version(), {"pages_processed": len(pages)}
        )


async def convert_office_or_text(path: Path, kind: DocumentKind) -> ExtractedText:
    from sprite.ocr import convert

    converters = {
        DocumentKind.DOCX: convert.docx_pages,
        DocumentKind.XLSX: convert.xlsx_pages,
        DocumentKind.CSV: convert.csv_pages,
        DocumentKind.TEXT: convert.text_pages,
        DocumentKind.MARKDOWN: convert.text_pages,
    }
    converter = converters.get(kind)
    if converter is None:
        raise UnreadableDocument(f"no converter for {kind.value}")
    texts, model = await asyncio.to_thread(converter, path)
    pages = [PageText(i + 1, text, "converted") for i, text in enumerate(texts)]
    return ExtractedText(pages, "local", model, {"pages_processed": len(pages)})
