"""What kind of document a file is, from its first bytes (and its name for plain text)."""

from __future__ import annotations

import zipfile
from enum import Enum
from pathlib import Path


class DocumentKind(Enum):
    PDF = "pdf"
    IMAGE = "image"
    DOCX = "docx"
    XLSX = "xlsx"
    CSV = "csv"
    TEXT = "text"
    MARKDOWN = "markdown"


MIME_TYPES = {
    DocumentKind.PDF: "application/pdf",
    DocumentKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    DocumentKind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    DocumentKind.CSV: "text/csv",
    DocumentKind.TEXT: "text/plain",
    DocumentKind.MARKDOWN: "text/markdown",
}
IMAGE_MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff"}

SUPPORTED = "PDF, PNG, JPEG, TIFF, DOCX, XLSX, CSV, TXT, Markdown"
_TEXT_SUFFIXES = {
    ".txt": DocumentKind.TEXT,
    ".text": DocumentKind.TEXT,
    ".md": DocumentKind.MARKDOWN,
    ".markdown": DocumentKind.MARKDOWN,
    ".csv": DocumentKind.CSV,
    ".tsv": DocumentKind.CSV,
}


def image_format(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(head) - 4:
            return False
    return True


def detect_kind(path: Path, filename: str, mime_type: str = "") -> tuple[DocumentKind, str] | None:
    """``(kind, canonical mime type)``, or None when the file is not a supported type."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head.startswith(b"%PDF-"):
        return DocumentKind.PDF, MIME_TYPES[DocumentKind.PDF]
    fmt = image_format(head)
    if fmt:
        return DocumentKind.IMAGE, IMAGE_MIME_TYPES[fmt]
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return None
        if "word/document.xml" in names:
            return DocumentKind.DOCX, MIME_TYPES[DocumentKind.DOCX]
        if "xl/workbook.xml" in names:
            return DocumentKind.XLSX, MIME_TYPES[DocumentKind.XLSX]
        return None
    suffix = Path(filename).suffix.lower()
    kind = _TEXT_SUFFIXES.get(suffix)
    if kind is None and mime_type.startswith("text/"):
        kind = DocumentKind.CSV if mime_type == "text/csv" else DocumentKind.TEXT
    if kind is not None and _looks_like_text(head):
        return kind, MIME_TYPES[kind]
    return None
