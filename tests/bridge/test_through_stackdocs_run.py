"""The bridge inside the real product: ``stackdocs run`` (Reflex production mode, one port)."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
import websockets

from tests.support.processes import PROJECT_ROOT, STACKDOCS_BIN, AppServer

pytestmark = pytest.mark.slow


def _token(app_server: AppServer, user: str) -> str:
    result = subprocess.run(
        [str(STACKDOCS_BIN), "token", "--user", user],
        cwd=PROJECT_ROOT,
        env={"STACKDOCS_DATA_DIR": str(app_server.data_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


async def test_ws_health_and_proxy_are_served_by_stackdocs_run(app_server: AppServer) -> None:
    async with httpx.AsyncClient(base_url=app_server.url, timeout=30) as http:
        health = (await http.get("/health")).json()
        assert health["status"] == "ok" and health["sandbox"] == "bubblewrap"
        refused = await http.post(
            "/proxy/anthropic/v1/messages", headers={"x-api-key": "sdp_forged"}, json={}
        )
        assert refused.status_code == 401
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert jwks["keys"]

    token = _token(app_server, "run-user")  # minted by the CLI, verified by the running app
    async with websockets.connect(app_server.url.replace("http", "ws") + "/ws") as ws:
        await ws.send(json.dumps({"type": "auth", "payload": {"token": token}}))
        await ws.send(json.dumps({"type": "ping", "payload": {}, "id": "through-run"}))
        await ws.send(json.dumps({"type": "mission", "payload": {"text": "!echo in-sandbox"}}))
        seen = []
        while not any(f["type"] == "agent_event" and f["payload"]["event_type"] == "complete"
                      for f in seen):  # fmt: skip
            seen.append(json.loads(await ws.recv()))
    pong = next(f for f in seen if f["type"] == "pong")
    assert pong["id"] == "through-run"
    terminal = [f for f in seen if f["type"] == "canvas_update"][-1]
    assert "in-sandbox" in terminal["payload"]["data"]["output"]
    assert (app_server.data_dir / "platform.db").exists()

    async with websockets.connect(app_server.url.replace("http", "ws") + "/ws") as ws:
        await ws.send(json.dumps({"type": "auth", "payload": {"token": token + "x"}}))
        frames = []
        with pytest.raises(websockets.ConnectionClosedError):
            while True:
                frames.append(json.loads(await ws.recv()))
    assert ws.close_code == 4401 and frames[-1]["type"] == "error"
