"""The bridge served for real: ``build_api(settings)`` under uvicorn on a free port, real Sprite
runtimes (``stackdocs sprite serve``) in bubblewrap, real WebSockets and JWTs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import websockets

from bridge.hub import Bridge
from bridge.providers.local import LocalProvider, descendants
from bridge.routes import build_api
from stackdocs.config import BridgeSettings
from tests.fakes.recording_upstream import RecordingUpstream
from tests.support.processes import free_port

FAKE_ANTHROPIC_KEY = "sk-ant-REAL-KEY-0123456789abcdefghijklmnop"
FAKE_MISTRAL_KEY = "mistral-REAL-KEY-9876543210zyxwvutsrqponm"
RECV_TIMEOUT = 30.0


class WsClient:
    """A /ws client that remembers every frame it received."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def send(self, type_: str, payload: dict | None = None, id: str | None = None) -> None:
        frame: dict[str, Any] = {"type": type_, "payload": payload or {}}
        if id is not None:
            frame["id"] = id
        await self.ws.send(json.dumps(frame))

    async def recv(self, within: float = RECV_TIMEOUT) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        self.frames.append(frame)
        return frame

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = RECV_TIMEOUT
    ) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                frame = await self.recv(within)
                if predicate(frame):
                    return frame

    async def until_type(self, type_: str, within: float = RECV_TIMEOUT) -> dict[str, Any]:
        return await self.until(lambda f: f["type"] == type_, within)

    async def closed_with(self, within: float = RECV_TIMEOUT) -> tuple[int | None, list[dict]]:
        """Read until the server closes; returns (close code, frames read meanwhile)."""
        got = []
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(within):
                while True:
                    got.append(await self.recv(within))
        return self.ws.close_code, got

    async def mission(self, text: str, within: float = RECV_TIMEOUT) -> dict[str, Any]:
        """Run a mission and return its final agent_event (complete or error)."""
        await self.send("mission", {"text": text})
        return await self.until(
            lambda f: (
                f["type"] == "agent_event" and f["payload"]["event_type"] in ("complete", "error")
            ),
            within,
        )

    async def shell_output(self, command: str) -> str:
        """Run ``!command`` and return the terminal artifact's final output."""
        await self.send("mission", {"text": f"!{command}"})
        output = ""
        while True:
            frame = await self.recv()
            if frame["type"] == "canvas_update" and frame["payload"]["artifact_type"] == "terminal":
                output = frame["payload"]["data"].get("output", "")
            if frame["type"] == "agent_event" and frame["payload"]["event_type"] in (
                "complete",
                "error",
            ):
                return output


@dataclass
class RunningBridge:
    url: str
    ws_url: str
    settings: BridgeSettings
    api: Any
    data_dir: Path
    _server: uvicorn.Server | None = None
    _task: asyncio.Task | None = None
    clients: list[websockets.ClientConnection] = field(default_factory=list)

    @property
    def bridge(self) -> Bridge:
        return self.api.state.slot.get()

    @property
    def provider(self) -> LocalProvider:
        return self.bridge.provider  # type: ignore[return-value]

    def token(self, user: str, *, ttl: int = 3600, email: str | None = None) -> str:
        return self.bridge.mint_local_token(user, email=email, ttl=ttl)

    @contextlib.asynccontextmanager
    async def raw_socket(self, **options: Any) -> AsyncIterator[WsClient]:
        ws = await websockets.connect(self.ws_url, max_size=None, open_timeout=30, **options)
        self.clients.append(ws)
        try:
            yield WsClient(ws)
        finally:
            await ws.close()

    @contextlib.asynccontextmanager
    async def client(
        self, user: str, *, ttl: int = 3600, **options: Any
    ) -> AsyncIterator[WsClient]:
        """A signed-in /ws client whose Sprite is ready (``options``: websockets.connect's)."""
        async with self.raw_socket(**options) as client:
            await client.send("auth", {"token": self.token(user, ttl=ttl)})
            await client.until(
                lambda f: f["type"] == "sprite_status" and f["payload"]["status"] == "ready"
            )
            yield client

    def sprite_name(self, user: str) -> str:
        sprite = self.bridge.sprite_of(user)
        assert sprite is not None, f"{user} has not signed in"
        return sprite.sprite_name

    def workspace(self, user: str) -> Path:
        return self.provider.workspace_path(self.sprite_name(user))

    def runtime_pids(self, user: str) -> list[int]:
        """Host pids of the user's Sprite: the sandbox and every process inside it."""
        outer = self.provider.sandbox_pid(self.sprite_name(user))
        return [] if outer is None else [outer, *descendants(outer)]

    def runtime_python_pid(self, user: str) -> int:
        for pid in self.runtime_pids(user):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"sprite" in cmdline and b"serve" in cmdline and b"bwrap" not in cmdline[0]:
                return pid
        raise AssertionError("the Sprite runtime process was not found")

    def kill_runtime(self, user: str) -> None:
        os.kill(self.runtime_python_pid(user), signal.SIGKILL)

    async def usage(self, user: str, **expected: int) -> dict[str, int]:
        """The user's usage counters once they show ``expected`` (the proxy writes them
        just after a response ended)."""
        async with asyncio.timeout(RECV_TIMEOUT):
            while True:
                usage = (await self.bridge.db.get_user(user)).usage
                if all(usage[k] == v for k, v in expected.items()):
                    return usage
                await asyncio.sleep(0.05)

    async def runtime_status(self, user: str) -> str:
        return await self.provider.status(self.sprite_name(user))

    async def wait_runtime_status(self, user: str, status: str, within: float = 30) -> None:
        async with asyncio.timeout(within):
            while await self.runtime_status(user) != status:  # noqa: ASYNC110
                await asyncio.sleep(0.05)


def bridge_settings(data_dir: Path, port: int, **env: str) -> BridgeSettings:
    base = {
        "STACKDOCS_DATA_DIR": str(data_dir),
        "STACKDOCS_SPRITE_IDLE_SECONDS": "30",
    }
    base.update(env)
    return BridgeSettings.from_env(base, port=port)


@contextlib.asynccontextmanager
async def serve_bridge(
    data_dir: Path,
    *,
    port: int | None = None,
    bridge_factory: Callable[[BridgeSettings], Bridge] | None = None,
    **env: str,
) -> AsyncIterator[RunningBridge]:
    """Serve ``build_api(settings)`` with uvicorn on this event loop until the block ends."""
    port = port or free_port()
    settings = bridge_settings(data_dir, port, **env)
    factory = (lambda: bridge_factory(settings)) if bridge_factory else None
    api = build_api(settings, bridge_factory=factory)
    server = uvicorn.Server(
        uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(120):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    running = RunningBridge(
        url=f"http://127.0.0.1:{port}",
        ws_url=f"ws://127.0.0.1:{port}/ws",
        settings=settings,
        api=api,
        data_dir=data_dir,
        _server=server,
        _task=task,
    )
    try:
        yield running
    finally:
        for ws in running.clients:
            with contextlib.suppress(Exception):
                await ws.close()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 60)


@pytest.fixture
def upstream() -> Any:
    fake = RecordingUpstream().start()
    yield fake
    fake.stop()


@pytest.fixture
async def running(tmp_path: Path, upstream: RecordingUpstream) -> AsyncIterator[RunningBridge]:
    """A bridge with real keys configured and the recording fake as both upstreams."""
    async with serve_bridge(
        tmp_path / "data",
        ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
        ANTHROPIC_UPSTREAM_URL=upstream.url,
        MISTRAL_API_KEY=FAKE_MISTRAL_KEY,
        MISTRAL_UPSTREAM_URL=upstream.url,
    ) as bridge:
        yield bridge
