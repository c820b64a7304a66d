"""The tab's link to its Sprite over a real bridge ClientSession and a real Sprite process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from reportlab.pdfgen import canvas as pdf_canvas

from app import link
from app.documents import transfer
from bridge.hub import Bridge
from stackdocs.config import BridgeSettings
from stackdocs.protocol import Frame

WITHIN = 60.0


@pytest.fixture
async def bridge(tmp_path) -> AsyncIterator[Bridge]:
    running = Bridge(BridgeSettings.from_env({"STACKDOCS_DATA_DIR": str(tmp_path / "data")}))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def frames_until(sprite: link.SpriteLink, wanted, within: float = WITHIN) -> list[Frame]:
    """Everything the link received until ``wanted(frame)`` held for one of them."""
    seen: list[Frame] = []
    async with asyncio.timeout(within):
        while True:
            await sprite.arrived.wait()
            batch = sprite.take()
            seen += batch
            if any(wanted(f) for f in batch):
                return seen


async def test_state_upload_and_shell_through_one_link(bridge, tmp_path):
    session = await bridge.connect(bridge.mint_local_token("link-user"))
    sprite = link.attach("tab-1", session)
    assert link.get("tab-1") is sprite
    await sprite.send("state_request", {}, id="s1")
    got = await frames_until(sprite, lambda f: f.type == "state")
    assert "sprite_status" in [f.type for f in got]
    state = next(f for f in got if f.type == "state")
    assert state.id == "s1" and state.payload.documents == []

    pdf = tmp_path / "memo.pdf"
    page = pdf_canvas.Canvas(str(pdf))
    page.setFont("Helvetica", 16)
    page.drawString(72, 720, "Board memo: approve budget 2025")
    page.save()

    class Chunk:
        def __init__(self, data: bytes) -> None:
            self.filename, self.content_type, self.data = "memo.pdf", "application/pdf", data

    async def chunks():
        yield Chunk(pdf.read_bytes())

    [item] = await transfer.spool(chunks(), max_bytes=10_000_000, directory=tmp_path)
    await transfer.send_file(sprite, item)
    item.remove()
    got = await frames_until(
        sprite,
        lambda f: f.type == "document_event" and f.payload.status in ("ocr_complete", "failed"),
    )
    events = [f.payload for f in got if f.type == "document_event"]
    assert events[-1].status == "ocr_complete", events[-1]
    assert events[0].filename == "memo.pdf"

    await sprite.send("document_request", {"document_id": events[-1].document_id})
    got = await frames_until(sprite, lambda f: f.type == "document_content")
    content = next(f for f in got if f.type == "document_content").payload
    assert "budget" in content.pages[0].text.lower()

    # Frames go out in order: the second command runs after the first was queued.
    await sprite.send("mission", {"text": "!echo first", "mission_id": "m-first"})
    await sprite.send("mission", {"text": "!echo second", "mission_id": "m-second"})
    got = await frames_until(
        sprite,
        lambda f: (
            f.type == "agent_event"
            and f.payload.mission_id == "m-second"
            and f.payload.event_type == "complete"
        ),
    )
    firsts = [
        i
        for i, f in enumerate(got)
        if f.type == "agent_event" and f.payload.mission_id == "m-first"
    ]
    seconds = [
        i
        for i, f in enumerate(got)
        if f.type == "agent_event" and f.payload.mission_id == "m-second"
    ]
    assert firsts and seconds and firsts[0] < seconds[0]

    await sprite.close()
    assert session.closed
    assert link.get("tab-1") is None


async def test_the_link_ends_when_the_session_is_closed_by_the_bridge(bridge):
    session = await bridge.connect(bridge.mint_local_token("gone-user"))
    sprite = link.attach("tab-2", session)
    await session.close(4401, "token_expired")
    async with asyncio.timeout(WITHIN):
        await sprite.closed.wait()
    assert link.get("tab-2") is None
    with pytest.raises(ConnectionError):
        await sprite.send("ping", {})
