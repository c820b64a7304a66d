"""Shared pieces of the bridge benches: a bridge in its own process, a direct Sprite, clients.

The bridge under test runs as ``python -m bench.bridge_support --data DIR --port P`` (uvicorn
serving ``bridge.routes.build_api``, one worker, like Reflex's single backend worker); the
baseline is a Sprite runtime started directly (``stackdocs sprite serve``), reached without the
bridge. Both run the same runtime code.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import websockets

from stackdocs import PROJECT_ROOT

ROOT = Path(PROJECT_ROOT)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"p50 {percentile(ms, 50):7.3f} ms  p99 {percentile(ms, 99):7.3f} ms  "
        f"mean {statistics.fmean(ms):7.3f} ms  (n={len(ms)})"
    )


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class BridgeProcess:
    """``build_api`` under uvicorn in a child process, on a fresh data dir."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self._env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "STACKDOCS_DATA_DIR": str(self.data_dir),
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None

    def start(self, *, through_stackdocs_run: bool = False) -> BridgeProcess:
        """``through_stackdocs_run``: the real product (Reflex production mode, granian)
        instead of uvicorn serving ``build_api``."""
        command = [sys.executable, "-m", "bench.bridge_support", "--port", str(self.port)]
        if through_stackdocs_run:
            command = [str(ROOT / ".venv" / "bin" / "stackdocs"), "run", "--port", str(self.port)]
            self._env = {**os.environ, **self._env}
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self._env,
            stdout=subprocess.DEVNULL,
            stderr=(self.data_dir / "bridge.log").open("wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).json().get("status") == "ok":
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"bridge did not start: {(self.data_dir / 'bridge.log').read_text()}")

    def token(self, user: str) -> str:
        from bridge.auth import LocalIssuer

        return LocalIssuer.for_data_dir(self.data_dir).mint(user, ttl=3600)

    def health(self) -> dict:
        return httpx.get(f"{self.url}/health", timeout=5).json()

    def server_pid(self) -> int:
        """The process serving the routes (Reflex runs them in a granian worker)."""
        assert self.proc is not None
        from bridge.providers.local import descendants

        for pid in [self.proc.pid, *descendants(self.proc.pid)]:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"granian" in cmdline or b"bench.bridge_support" in cmdline:
                return pid
        return self.proc.pid

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)


class DirectSprite:
    """A Sprite runtime reached directly (the baseline), on a fresh workspace."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.workspace = Path(tempfile.mkdtemp(prefix="bench-sprite-"))
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/"
        self.token = secrets.token_urlsafe(32)
        self._env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workspace / ".home"),
            "SPRITE_TOKEN": self.token,
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None

    def start(self, *, poll_seconds: float = 0.02) -> DirectSprite:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "stackdocs.cli", "sprite", "serve",
             "--workspace", str(self.workspace), "--port", str(self.port)],
            cwd=self.workspace,
            env=self._env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        import socket

        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(poll_seconds)
        raise RuntimeError("direct sprite did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


async def open_relay(bridge: BridgeProcess, user: str) -> websockets.ClientConnection:
    """A /ws connection signed in as ``user``, returned once its Sprite is ready."""
    ws = await websockets.connect(bridge.ws_url, max_size=None, compression=None)
    await ws.send(json.dumps({"type": "auth", "payload": {"token": bridge.token(user)}}))
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "sprite_status" and frame["payload"]["status"] == "ready":
            return ws


async def open_direct(sprite: DirectSprite) -> websockets.ClientConnection:
    ws = await websockets.connect(sprite.url, max_size=None, compression=None)
    await ws.send(json.dumps({"type": "auth", "payload": {"token": sprite.token}}))
    return ws


async def ping(ws: websockets.ClientConnection, ident: str) -> float:
    """One ping → pong round trip (other frames are skipped)."""
    start = time.perf_counter()
    await ws.send(json.dumps({"type": "ping", "payload": {}, "id": ident}))
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "pong" and frame.get("id") == ident:
            return time.perf_counter() - start


def _serve(port: int) -> None:
    import uvicorn

    from bridge.routes import build_api
    from stackdocs.config import BridgeSettings

    settings = BridgeSettings.from_env(port=port)
    uvicorn.run(
        build_api(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    _serve(parser.parse_args().port)
