"""Helpers for the agent tests: a real invoice PDF, an in-process Sprite (the real runtime and
WebSocket server on the test's event loop) and a WebSocket client that keeps its frames."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets

from sprite.missions import MissionRunner
from sprite.runtime import SpriteRuntime
from sprite.server import SpriteServer
from stackdocs.config import SpriteSettings
from stackdocs.protocol import MAX_FRAME_BYTES
from tests.support.processes import free_port

Frame = dict[str, Any]
SPRITE_TOKEN = "agents-test-sprite-token-0123456789"
REAL_KEY = "sk-ant-REAL-KEY-agents-0123456789abcdefghijklmnop"
RECV_SECONDS = 60.0

INVOICE_PAGE_1 = [
    "ACME SUPPLIES LTD",
    "Invoice INV-2024-001",
    "Date: 2024-03-05",
    "Subtotal: $1,250.00",
    "Tax (10%): $125.00",
    "Total: $1,375.00",
]
INVOICE_PAGE_2 = ["Payment terms: due within 30 days"]


def invoice_pdf() -> bytes:
    """A two-page invoice with a real text layer (read by the Sprite's local OCR)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for lines in (INVOICE_PAGE_1, INVOICE_PAGE_2):
        for number, line in enumerate(lines):
            pdf.drawString(72, 770 - number * 22, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def sprite_settings(
    base_url: str | None, proxy_token: str | None, **overrides: Any
) -> SpriteSettings:
    values: dict[str, Any] = {
        "token": SPRITE_TOKEN,
        "ocr": "local",
        "model": None,
        "anthropic_base_url": base_url,
        "mistral_base_url": None,
        "proxy_token": proxy_token,
        "max_upload_mb": 20,
        "shell_timeout_seconds": 30,
        "model_timeout_seconds": 60,
    }
    values.update(overrides)
    return SpriteSettings(**values)


class WsClient:
    """A client of a Sprite (or of the bridge's /ws) that remembers every frame."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.frames: list[Frame] = []
        self._read = 0
        self._counter = 0
        # Frames are broadcast to every client of the Sprite, each request's id included:
        # ids unique to this client keep its replies apart from another client's.
        self._prefix = uuid.uuid4().hex[:8]

    async def send(
        self, msg_type: str, payload: dict[str, Any] | None = None, id: str | None = None
    ) -> str:
        self._counter += 1
        frame_id = id or f"{self._prefix}-{self._counter}"
        await self.ws.send(json.dumps({"type": msg_type, "payload": payload or {}, "id": frame_id}))
        return frame_id

    async def _recv(self, within: float) -> Frame:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        self.frames.append(frame)
        return frame

    async def until(
        self, predicate: Callable[[Frame], bool], within: float = RECV_SECONDS
    ) -> Frame:
        """The next frame (not seen by an earlier ``until``) that matches."""
        async with asyncio.timeout(within):
            while True:
                while self._read < len(self.frames):
                    frame = self.frames[self._read]
                    self._read += 1
                    if predicate(frame):
                        return frame
                await self._recv(within)

    async def upload(self, filename: str, data: bytes, mime_type: str) -> str:
        """Upload a file and wait until it is ingested; returns its document id."""
        request = await self.send(
            "file_upload",
            {"filename": filename, "mime_type": mime_type, "data": base64.b64encode(data).decode()},
        )
        first = await self.until(lambda f: f.get("id") == request)
        assert first["type"] == "document_event", first
        document_id = first["payload"]["document_id"]
        done = await self.until(
            lambda f: (
                f["type"] == "document_event"
                and f["payload"]["document_id"] == document_id
                and f["payload"]["status"] in ("completed", "failed", "ocr_complete")
            )
        )
        assert done["payload"]["status"] != "failed", done
        return document_id

    async def mission(
        self, text: str, mission_id: str | None = None, within: float = RECV_SECONDS
    ) -> tuple[str, list[Frame]]:
        """Run a mission to its end; returns its id and its agent_event payloads (in order)."""
        payload: dict[str, Any] = {"text": text}
        if mission_id:
            payload["mission_id"] = mission_id
        request = await self.send("mission", payload)
        first = await self.until(lambda f: f.get("id") == request, within)
        assert first["type"] in ("agent_event", "canvas_update"), first
        new_id = first["payload"]["mission_id"]
        await self.mission_end(new_id, within)
        return new_id, self.events(new_id)

    async def mission_end(self, mission_id: str, within: float = RECV_SECONDS) -> Frame:
        """The mission's final agent_event (complete or error), received or to come."""

        def final(frame: Frame) -> bool:
            return (
                frame["type"] == "agent_event"
                and frame["payload"].get("mission_id") == mission_id
                and frame["payload"]["event_type"] in ("complete", "error")
            )

        for frame in self.frames:
            if final(frame):
                return frame
        return await self.until(final, within)

    def events(self, mission_id: str, frame_type: str = "agent_event") -> list[Frame]:
        return [
            f["payload"]
            for f in self.frames
            if f["type"] == frame_type and f["payload"].get("mission_id") == mission_id
        ]

    async def ping(self, within: float = 10) -> None:
        request = await self.send("ping")
        reply = await self.until(lambda f: f.get("id") == request, within)
        assert reply["type"] == "pong"


@dataclass
class InProcessSprite:
    runtime: SpriteRuntime
    url: str
    workspace: Path

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[WsClient]:
        async with websockets.connect(
            self.url,
            additional_headers={"Authorization": f"Bearer {SPRITE_TOKEN}"},
            max_size=2 * MAX_FRAME_BYTES,
            open_timeout=30,
        ) as ws:
            yield WsClient(ws)


@contextlib.asynccontextmanager
async def in_process_sprite(
    workspace: Path,
    settings: SpriteSettings,
    runner_factory: Callable[[SpriteSettings], MissionRunner] | None = None,
) -> AsyncIterator[InProcessSprite]:
    """The Sprite runtime and its WebSocket server, served on this event loop."""
    runtime = await SpriteRuntime.open(workspace, settings, runner_factory)
    server = SpriteServer(runtime, settings)
    port = free_port()
    async with websockets.serve(
        server.handle_connection, "127.0.0.1", port, max_size=2 * MAX_FRAME_BYTES
    ) as ws_server:
        runtime.start()
        try:
            yield InProcessSprite(runtime, f"ws://127.0.0.1:{port}", workspace)
        finally:
            ws_server.close(close_connections=True)
            await runtime.shutdown()


def rows(database: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Read agent.db with plain sqlite3, as any other reader would (WAL allows it)."""
    import sqlite3

    conn = sqlite3.connect(database, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()
