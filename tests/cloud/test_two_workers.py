"""The whole app on Redis + Postgres with two backend workers serving one user.

``stackdocs run`` with ``REDIS_URL`` makes Reflex keep UI state in Redis and start several
worker processes (``GRANIAN_WORKERS=2`` here). One user's sockets land on either worker; they
must share one Sprite runtime (never two runtimes on one workspace), and the UI state must
survive a reload served by the other worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import websockets

from bridge.providers.local import descendants
from tests.cloud.services import Postgres, Redis
from tests.support.processes import STACKDOCS_BIN, AppServer

USER = "two-workers"


@pytest.fixture(scope="module")
def app(tmp_path_factory, postgres: Postgres, redis_server: Redis) -> Iterator[AppServer]:
    server = AppServer(
        tmp_path_factory.mktemp("two-workers"),
        env={
            "REDIS_URL": redis_server.url,
            "DATABASE_URL": postgres.url(),
            "GRANIAN_WORKERS": "2",
            "STACKDOCS_SPRITE_IDLE_SECONDS": "2",
        },
    )
    try:
        server.start()
    except Exception:
        server.stop()
        pytest.fail(f"stackdocs run did not come up:\n{server.log()[-4000:]}")
    yield server
    server.stop()


def token_for(app: AppServer, user: str) -> str:
    out = subprocess.run(
        [str(STACKDOCS_BIN), "token", "--user", user],
        env={**os.environ, "STACKDOCS_DATA_DIR": str(app.data_dir)},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def runtimes(app: AppServer) -> set[int]:
    """The Sprite runtime processes started for this app (inside its bubblewrap sandboxes)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            not argv
            or not argv[0].endswith(b"bwrap")
            or str(app.data_dir).encode() not in b" ".join(argv)
        ):
            continue
        for pid in descendants(int(entry.name)):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmd and not cmd[0].endswith(b"bwrap"):
                found.add(pid)
    return found


def worker_pids(app: AppServer) -> set[int]:
    assert app.proc is not None
    reflex = [
        p for p in descendants(app.proc.pid) if b"reflex" in Path(f"/proc/{p}/cmdline").read_bytes()
    ]
    # The supervisor's children that are themselves Reflex processes: the workers.
    return {p for p in reflex if any(p in descendants(q) for q in reflex if q != p)}


async def open_signed_in(url: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, max_size=None)
    await ws.send(json.dumps({"type": "auth", "payload": {"token": token}}))
    async with asyncio.timeout(60):
        while True:
            frame = json.loads(await ws.recv())
            assert frame["type"] != "error", frame
            if frame["type"] == "sprite_status" and frame["payload"]["status"] == "ready":
                return ws


async def test_one_users_sockets_on_both_workers_share_one_sprite(app: AppServer) -> None:
    assert len(worker_pids(app)) == 2
    token = token_for(app, USER)
    ws_url = app.url.replace("http", "ws") + "/ws"
    sockets = [await open_signed_in(ws_url, token)]
    try:
        sprite_dir = next((app.data_dir / "sprites").glob("sd-two-workers-*"))
        # The kernel spreads new connections over the workers: open more until both relay one.
        for _ in range(60):
            if len(list((sprite_dir / "holds").iterdir())) == 2:
                break
            sockets.append(await open_signed_in(ws_url, token))
        holders = {int(p.name) for p in (sprite_dir / "holds").iterdir()}
        assert holders == worker_pids(app), "both workers serve this user's sockets"
        assert len(runtimes(app)) == 1, "one runtime per user, whatever the worker"

        # Every socket, whichever worker relays it, reaches that one runtime.
        await sockets[0].send(
            json.dumps(
                {"type": "mission", "payload": {"text": "!echo shared > /workspace/shared.txt"}}
            )
        )
        async with asyncio.timeout(60):
            while not (sprite_dir / "workspace" / "shared.txt").exists():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        for ws in sockets:
            await ws.send(json.dumps({"type": "state_request", "payload": {}, "id": "s"}))
        for ws in sockets:
            async with asyncio.timeout(60):
                while json.loads(await ws.recv())["type"] != "state":
                    pass
    finally:
        for ws in sockets:
            await ws.close()
    # Every worker let go: the runtime stops (idle 2 s here) once the last holder sleeps.
    # (The record is removed just after the process is gone: wait for both.)
    async with asyncio.timeout(60):
        while runtimes(app) or (sprite_dir / "runtime.json").exists():  # noqa: ASYNC110
            await asyncio.sleep(0.2)


@pytest.mark.browser
def test_ui_state_lives_in_redis_across_workers(app: AppServer, page, redis_server: Redis):
    page.goto(app.url)
    page.get_by_label("User").fill("redis-ui")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("region", name="Mission chat").wait_for(timeout=60_000)
    client = redis.Redis.from_url(redis_server.url)
    assert client.dbsize() > 0  # Reflex's state manager writes the session state to Redis
    for _ in range(4):  # reloads land on either worker: the state comes back from Redis
        page.reload()
        page.get_by_role("region", name="Mission chat").wait_for(timeout=60_000)
