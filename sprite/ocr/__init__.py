"""Text extraction engines behind one interface.

An engine turns a stored document into per-page text (:class:`ExtractedText`); page numbers
start at 1 and page text is what citations point into. Engines:

- ``local`` (default, no network): PDF text layer with pypdfium2, Tesseract for scanned pages and
  images, DOCX/XLSX/CSV/TXT/Markdown converted to markdown (tables kept as markdown tables);
- ``mistral``: PDFs and images through the Mistral OCR API behind the bridge proxy (the Sprite
  holds a per-sprite proxy token, never a key); text formats still convert locally.

Heavy libraries are imported inside the engines, on first use, so the runtime starts fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sprite.ocr.kinds import DocumentKind

if TYPE_CHECKING:
    from stackdocs.config import SpriteSettings


class UnreadableDocument(Exception):
    """The document cannot be turned into text; ``str()`` is the reason shown to the user."""


@dataclass
class PageText:
    number: int  # 1-based
    text: str
    method: str  # text_layer | tesseract | converted | mistral
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. dimensions


@dataclass
class ExtractedText:
    pages: list[PageText]
    engine: str  # "local" | "mistral"
    model: str  # what produced the text, e.g. "pypdfium2 5.15.2 + tesseract 5.3.0"
    usage: dict[str, Any] = field(default_factory=dict)


class TextEngine(Protocol):
    name: str

    async def extract(self, path: Path, kind: DocumentKind) -> ExtractedText: ...


def create_engine(settings: SpriteSettings) -> TextEngine:
    from sprite.ocr.local import LocalEngine

    local = LocalEngine()
    if settings.ocr == "mistral":
        from sprite.ocr.mistral import MistralEngine

        return MistralEngine(settings, fallback=local)
    return local


def normalise_text(text: str) -> str:
    """One newline convention, no NULs, no trailing blanks at line ends or at the end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


__all__ = [
    "DocumentKind",
    "ExtractedText",
    "PageText",
    "TextEngine",
    "UnreadableDocument",
    "create_engine",
    "normalise_text",
]
