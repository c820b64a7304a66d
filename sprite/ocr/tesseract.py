"""Tesseract through its command-line program, as an asyncio subprocess.

Calling the CLI directly (rather than through pytesseract) keeps the event loop free without a
thread, lets a cancelled ingest kill the child, and gives the child its own environment:
``OMP_THREAD_LIMIT=1`` (the Debian build over-subscribes threads and runs about 4 times slower
without it) and ``--psm 4`` (keeps table rows together), as measured in shared/notes/local-ocr.md.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from sprite.ocr import UnreadableDocument
from stackdocs.config import process_environment

TESSERACT = "tesseract"
_version: str | None = None


def _environment() -> dict[str, str]:
    env = process_environment()
    env["OMP_THREAD_LIMIT"] = "1"
    return env


async def _run(args: list[str], stdin: bytes | None = None) -> bytes:
    if shutil.which(TESSERACT) is None:
        raise UnreadableDocument(
            "OCR needs the 'tesseract' program (Debian: tesseract-ocr tesseract-ocr-eng)"
        )
    proc = await asyncio.create_subprocess_exec(
        TESSERACT,
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_environment(),
    )
    try:
        out, err = await proc.communicate(stdin)
    except asyncio.CancelledError:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        reason = err.decode(errors="replace").strip().splitlines()
        raise UnreadableDocument(
            f"OCR failed: {reason[-1] if reason else f'tesseract exited {proc.returncode}'}"
        )
    return out


async def version() -> str:
    global _version
    if _version is None:
        out = await _run(["--version"])
        first = out.decode(errors="replace").splitlines()[:1]
        _version = first[0].strip() if first else "tesseract"
    return _version


async def ocr_file(path: Path) -> list[str]:
    """OCR an image file (multi-page TIFFs give several pages); returns one text per page."""
    out = await _run([str(path), "stdout", "--psm", "4"])
    pages = out.decode("utf-8", errors="replace").split("\f")
    if len(pages) > 1 and not pages[-1].strip():
        pages.pop()  # tesseract ends every page with a form feed
    return pages or [""]


async def ocr_image_bytes(image: bytes, dpi: int | None = None) -> str:
    """OCR one image given as encoded bytes (PNG/PNM…) on stdin."""
    args = ["stdin", "stdout", "--psm", "4"]
    if dpi:
        args += ["--dpi", str(dpi)]
    out = await _run(args, stdin=image)
    return out.decode("utf-8", errors="replace").replace("\f", "")
