"""The real Sprite process (`stackdocs sprite serve`) on a temporary workspace, and a client.

Every test drives the process over real WebSockets and inspects the real workspace and
`agent.db` (read with sqlite3 alongside the running process: WAL allows it).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.support.processes import ARTIFACTS, PROJECT_ROOT, STACKDOCS_BIN, free_port

TOKEN = "sprite-test-token-0123456789abcdef"
Frame = dict[str, Any]


class SpriteProcess:
    """`stackdocs sprite serve` as a provider starts it; restartable on the same workspace."""

    def __init__(self, workspace: Path, env: dict[str, str] | None = None) -> None:
        self.workspace = workspace
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SPRITE_TOKEN": TOKEN,
            "HOME": str(workspace),
            **(env or {}),
        }
        for name in ("ANTHROPIC_BASE_URL", "MISTRAL_BASE_URL", "STACKDOCS_PROXY_TOKEN"):
            if name not in (env or {}):
                self.env.pop(name, None)
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"sprite-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> SpriteProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                str(STACKDOCS_BIN),
                "sprite",
                "serve",
                "--workspace",
                str(self.workspace),
                "--port",
                str(self.port),
            ],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sprite exited with {self.proc.returncode}:\n{self.log()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise TimeoutError(f"sprite did not listen within {timeout}s:\n{self.log()}")

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM (graceful stop) and wait."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group, like a crash."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.terminate(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.workspace / "agent.db", timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with contextlib_closing(self.db()) as conn:
            return [dict(r) for r in conn.execute(sql, params).fetchall()]


class contextlib_closing:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


class SpriteClient:
    """A WebSocket client that keeps every frame it receives, for waiting on conditions."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.frames: list[Frame] = []
        self._seen = 0
        self._counter = 0

    async def send(
        self, msg_type: str, payload: dict[str, Any] | None = None, id: str | None = None
    ) -> str:
        self._counter += 1
        frame_id = id or f"t{self._counter}"
        await self.ws.send(json.dumps({"type": msg_type, "payload": payload or {}, "id": frame_id}))
        return frame_id

    async def next(self, within: float = 30) -> Frame:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        self.frames.append(frame)
        return frame

    async def wait_for(self, predicate: Callable[[Frame], bool], within: float = 60) -> Frame:
        """The first frame (already received or arriving) that matches."""
        for frame in self.frames:
            if predicate(frame):
                self.frames.remove(frame)
                return frame
        deadline = asyncio.get_running_loop().time() + within
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no matching frame; got {self.frames[-5:]}")
            frame = await self.next(remaining)
            if predicate(frame):
                self.frames.remove(frame)
                return frame

    async def request(
        self, msg_type: str, payload: dict[str, Any] | None = None, within: float = 30
    ) -> Frame:
        frame_id = await self.send(msg_type, payload)
        return await self.wait_for(lambda f: f.get("id") == frame_id, within)

    async def upload(self, filename: str, data: bytes, mime_type: str = "") -> Frame:
        """Single-frame upload; returns the first reply (document_event or error)."""
        frame_id = await self.send(
            "file_upload",
            {
                "filename": filename,
                "mime_type": mime_type or "application/octet-stream",
                "data": base64.b64encode(data).decode(),
            },
        )
        return await self.wait_for(lambda f: f.get("id") == frame_id)

    async def upload_chunked(
        self, filename: str, data: bytes, chunk: int = 64 * 1024, upload_id: str = "up1"
    ) -> Frame:
        await self.request(
            "file_upload_start",
            {
                "upload_id": upload_id,
                "filename": filename,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        )
        for seq, start in enumerate(range(0, len(data), chunk)):
            reply = await self.request(
                "file_upload_chunk",
                {
                    "upload_id": upload_id,
                    "seq": seq,
                    "data": base64.b64encode(data[start : start + chunk]).decode(),
                },
            )
            assert reply["type"] == "upload_progress", reply
        return await self.request("file_upload_end", {"upload_id": upload_id})

    async def wait_document(self, document_id: str, within: float = 120) -> Frame:
        """The document's final document_event (ocr_complete or failed)."""
        return await self.wait_for(
            lambda f: (
                f["type"] == "document_event"
                and f["payload"]["document_id"] == document_id
                and f["payload"]["status"] in ("ocr_complete", "failed")
            ),
            within,
        )

    async def mission_done(self, mission_id: str | None = None, within: float = 60) -> Frame:
        return await self.wait_for(
            lambda f: (
                f["type"] == "agent_event"
                and f["payload"]["event_type"] in ("complete", "error")
                and (mission_id is None or f["payload"]["mission_id"] == mission_id)
            ),
            within,
        )


def connect(sprite: SpriteProcess, token: str | None = TOKEN, **kwargs: Any):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return websockets.connect(sprite.url, additional_headers=headers, max_size=None, **kwargs)


@pytest.fixture
def make_sprite(tmp_path: Path) -> Iterator[Callable[..., SpriteProcess]]:
    """Start Sprite processes (each on its own or a given workspace); all stopped at the end."""
    started: list[SpriteProcess] = []

    def make(
        workspace: Path | None = None, env: dict[str, str] | None = None, start: bool = True
    ) -> SpriteProcess:
        sprite = SpriteProcess(workspace or tmp_path / "workspace", env)
        started.append(sprite)
        return sprite.start() if start else sprite

    yield make
    for sprite in started:
        sprite.stop()


@pytest.fixture
def sprite(make_sprite: Callable[..., SpriteProcess]) -> SpriteProcess:
    return make_sprite()


@pytest.fixture
async def client(sprite: SpriteProcess) -> AsyncIterator[SpriteClient]:
    async with connect(sprite) as ws:
        yield SpriteClient(ws)


def workspace_files(root: Path) -> set[str]:
    """Every file under the workspace except the database, as relative paths."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith("agent.db")
    }
