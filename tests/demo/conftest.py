"""Fixtures of the demo tests: the generated documents read back through the Sprite's real
local OCR (pypdfium2, Tesseract, the DOCX/XLSX converters), once per session."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sprite.ingest import render_pages
from sprite.ocr.kinds import detect_kind
from sprite.ocr.local import LocalEngine
from stackdocs.demo.documents import generate_documents

Pages = list[dict[str, Any]]


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on its own event loop in a worker thread.

    Once a browser test has run, Playwright's sync API keeps an event loop running in the main
    thread for the rest of the session, and neither ``asyncio.run`` nor pytest-asyncio can start
    another one there: the demo's async tests therefore run in a thread, in any order."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("demo-documents")
    files = {}
    for document in generate_documents():
        path = folder / document.filename
        path.write_bytes(document.data)
        files[document.filename] = path
    return files


@pytest.fixture(scope="session")
def demo_pages(demo_files: dict[str, Path]) -> dict[str, Pages]:
    """filename -> [{page, text, method}] exactly as the Sprite stores them."""

    async def read_all() -> dict[str, Pages]:
        engine = LocalEngine()
        out: dict[str, Pages] = {}
        for name, path in demo_files.items():
            detected = detect_kind(path, name)
            assert detected is not None, name
            extracted = await engine.extract(path, detected[0])
            _text, rows = render_pages(extracted)
            out[name] = [
                {"page": number, "text": text, "method": method}
                for number, text, method, _offset in rows
            ]
        return out

    return run_async(read_all())
