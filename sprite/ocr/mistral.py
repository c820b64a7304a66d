"""Mistral OCR through the bridge's key-injecting proxy.

The Sprite talks to ``MISTRAL_BASE_URL`` (the bridge's ``/proxy/mistral``) with the per-sprite
proxy token as the API key; the bridge swaps in the real key. PDFs and images go to
``POST /v1/ocr`` as base64 data URLs; formats that already hold text (DOCX, XLSX, CSV, TXT,
Markdown) are converted locally, which is exact and free.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sprite.ocr import (
    DocumentKind,
    ExtractedText,
    PageText,
    TextEngine,
    UnreadableDocument,
    normalise_text,
)
from sprite.ocr.kinds import IMAGE_MIME_TYPES, image_format

if TYPE_CHECKING:
    from stackdocs.config import SpriteSettings

MODEL = "mistral-ocr-latest"
TIMEOUT_MS = 300_000


def _data_url(path: Path, kind: DocumentKind) -> dict[str, str]:
    data = path.read_bytes()
    encoded = base64.b64encode(data).decode("ascii")
    if kind is DocumentKind.PDF:
        return {"type": "document_url", "document_url": f"data:application/pdf;base64,{encoded}"}
    mime = IMAGE_MIME_TYPES.get(image_format(data[:16]) or "", "image/png")
    return {"type": "image_url", "image_url": f"data:{mime};base64,{encoded}"}


class MistralEngine:
    name = "mistral"

    def __init__(self, settings: SpriteSettings, fallback: TextEngine) -> None:
        self._base_url = settings.mistral_base_url
        self._token = settings.proxy_token
        self._fallback = fallback
        self._client: Any = None

    def _sdk(self) -> Any:
        if not self._base_url or not self._token:
            raise UnreadableDocument(
                "STACKDOCS_OCR=mistral needs MISTRAL_BASE_URL and STACKDOCS_PROXY_TOKEN"
                " (set by the bridge)"
            )
        if self._client is None:
            from mistralai.client import Mistral

            self._client = Mistral(api_key=self._token, server_url=self._base_url)
        return self._client

    async def extract(self, path: Path, kind: DocumentKind) -> ExtractedText:
        if kind not in (DocumentKind.PDF, DocumentKind.IMAGE):
            return await self._fallback.extract(path, kind)
        client = self._sdk()
        document = await asyncio.to_thread(_data_url, path, kind)
        try:
            response = await client.ocr.process_async(
                model=MODEL, document=document, timeout_ms=TIMEOUT_MS
            )
        except Exception as exc:  # the SDK raises its own errors and httpx's
            detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise UnreadableDocument(
                f"Mistral OCR failed: {type(exc).__name__}{': ' + detail if detail else ''}"
            ) from None
        finally:
            del document
        pages = []
        for number, page in enumerate(sorted(response.pages, key=lambda p: p.index), start=1):
            meta: dict[str, Any] = {"index": page.index}
            if page.dimensions is not None:
                meta["dimensions"] = page.dimensions.model_dump()
            pages.append(PageText(number, normalise_text(page.markdown), "mistral", meta))
        if not pages:
            raise UnreadableDocument("Mistral OCR returned no pages")
        usage = response.usage_info.model_dump() if response.usage_info else {}
        return ExtractedText(pages, "mistral", response.model or MODEL, usage)
