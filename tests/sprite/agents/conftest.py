"""Fixtures of the agent tests: the scripted fake Anthropic API, the real bridge proxy in front
of it (``build_api`` under uvicorn, real key injected), and a real ``agent.db`` holding an
invoice whose text came from the Sprite's own OCR of a generated PDF."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sprite.storage import Storage, new_id
from tests.bridge.conftest import RunningBridge, serve_bridge
from tests.fakes.anthropic_api import FakeAnthropicAPI
from tests.sprite.agents.support import INVOICE_PAGE_1, INVOICE_PAGE_2, REAL_KEY

PROXY_USER = "agent-tester"


@pytest.fixture
def fake() -> Iterator[FakeAnthropicAPI]:
    api = FakeAnthropicAPI().start()
    yield api
    api.stop()


@dataclass
class Proxy:
    """The bridge's /proxy/anthropic for one user: what a Sprite is given."""

    base_url: str
    token: str
    running: RunningBridge


@pytest.fixture
async def proxy(tmp_path: Path, fake: FakeAnthropicAPI) -> AsyncIterator[Proxy]:
    async with serve_bridge(
        tmp_path / "bridge-data", ANTHROPIC_API_KEY=REAL_KEY, ANTHROPIC_UPSTREAM_URL=fake.url
    ) as running:
        await running.bridge.db.sign_in(PROXY_USER, None)
        token = await running.bridge.issue_proxy_token(PROXY_USER)
        try:
            yield Proxy(f"{running.url}/proxy/anthropic", token, running)
        finally:
            # A request the fake holds open keeps the bridge's proxy waiting: let it go, so
            # the bridge stops promptly.
            fake.release_hangs()


@dataclass
class InvoiceStore:
    storage: Storage
    workspace: Path
    document_id: str
    pages: list[str]


def page_text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


@pytest.fixture
async def invoice_store(tmp_path: Path) -> AsyncIterator[InvoiceStore]:
    """A workspace database with one two-page invoice whose OCR text is known exactly."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    storage = await Storage.open(workspace / "agent.db")
    document_id = new_id()
    pages = [page_text(INVOICE_PAGE_1), page_text(INVOICE_PAGE_2)]
    await storage.insert_document(
        document_id=document_id,
        filename="invoice.pdf",
        original_filename="invoice.pdf",
        file_path=f"documents/{document_id}_invoice.pdf",
        size_bytes=1000,
        mime_type="application/pdf",
        sha256="0" * 64,
    )
    offsets = [0, len(pages[0])]
    await storage.save_ocr_result(
        document_id=document_id,
        pages=[(n + 1, text, "text_layer", offsets[n]) for n, text in enumerate(pages)],
        raw_text="".join(pages),
        text_path=f"ocr/{document_id}.md",
        page_count=2,
        layout=None,
        processing_time_ms=1,
        usage={},
        model="test",
        engine="local",
    )
    try:
        yield InvoiceStore(storage, workspace, document_id, pages)
    finally:
        await storage.close()
