"""/ws against the real bridge and real Sprite runtimes: auth, relay, order, errors, health."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import jwt

from bridge.auth import LOCAL_ISSUER
from bridge.session import CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED
from tests.bridge.conftest import RunningBridge


async def test_first_frame_must_be_auth(running: RunningBridge) -> None:
    async with running.raw_socket() as client:
        await client.send("ping", {})
        code, frames = await client.closed_with()
    assert code == CLOSE_UNAUTHORIZED
    assert frames[-1]["type"] == "error" and frames[-1]["payload"]["code"] == "unauthorized"


async def test_garbage_first_frame_is_refused(running: RunningBridge) -> None:
    async with running.raw_socket() as client:
        await client.ws.send("{not json")
        code, frames = await client.closed_with()
    assert code == CLOSE_UNAUTHORIZED and frames[-1]["type"] == "error"


async def test_invalid_and_expired_tokens_are_refused_with_4401(running: RunningBridge) -> None:
    issuer = running.bridge.verifier.local_issuer
    past = int(time.time()) - 7200
    expired = jwt.encode(
        {"iss": LOCAL_ISSUER, "sub": "alice", "iat": past, "exp": past + 60},
        issuer._private_key,
        algorithm="RS256",
        headers={"kid": issuer.kid},
    )
    tampered = running.token("alice")[:-4] + "AAAA"
    for token, code in (
        (expired, "token_expired"),
        (tampered, "bad_signature"),
        ("nonsense", "malformed_token"),
    ):
        async with running.raw_socket() as client:
            await client.send("auth", {"token": token})
            close_code, frames = await client.closed_with()
        assert close_code == CLOSE_UNAUTHORIZED
        assert frames[-1]["payload"]["code"] == code
        assert not any(f["type"] == "sprite_status" for f in frames)
    assert running.bridge.sprite_of("alice") is None  # no user, no Sprite for refused tokens


async def test_sign_in_creates_the_user_and_wakes_their_sprite(running: RunningBridge) -> None:
    async with running.raw_socket() as client:
        await client.send("auth", {"token": running.token("newbie", ttl=600)})
        statuses = []
        while "ready" not in statuses:
            frame = await client.until_type("sprite_status")
            statuses.append(frame["payload"]["status"])
        assert statuses[0] in ("asleep", "waking")
        record = await running.bridge.db.get_user("newbie")
        assert record.sprite_status == "active" and record.sprite_name
        assert running.workspace("newbie").is_dir()


async def test_ping_pong_and_order_is_kept(running: RunningBridge) -> None:
    async with running.client("alice") as client:
        for n in range(200):
            await client.send("ping", {}, id=f"p{n}")
        pongs = [await client.until_type("pong") for _ in range(200)]
    assert [p["id"] for p in pongs] == [f"p{n}" for n in range(200)]


async def test_frames_sent_right_after_auth_wait_for_the_sprite(running: RunningBridge) -> None:
    async with running.raw_socket() as client:
        await client.send("auth", {"token": running.token("eager")})
        for n in range(20):  # sent while the Sprite is still starting
            await client.send("ping", {}, id=f"e{n}")
        pongs = [await client.until_type("pong") for _ in range(20)]
    assert [p["id"] for p in pongs] == [f"e{n}" for n in range(20)]
    assert not any(f["type"] == "error" for f in client.frames)


async def test_bad_frames_get_errors_and_the_socket_stays_open(running: RunningBridge) -> None:
    async with running.client("alice") as client:
        await client.ws.send("[1, 2]")
        assert (await client.until_type("error"))["payload"]["code"] == "not_an_object"
        await client.send("agent_event", {"event_type": "text", "content": "x", "mission_id": "m"})
        assert (await client.until_type("error"))["payload"]["code"] == "not_allowed"
        await client.send("mission", {"text": ""}, id="m1")
        error = await client.until_type("error")
        assert error["payload"]["code"] == "invalid_payload" and error["id"] == "m1"
        await client.send("ping", {}, id="still-here")
        assert (await client.until_type("pong"))["id"] == "still-here"


async def test_sprite_errors_reach_the_client(running: RunningBridge) -> None:
    async with running.client("alice") as client:
        await client.send("document_request", {"document_id": "no-such-doc"}, id="d1")
        error = await client.until_type("error")
    assert error["id"] == "d1" and error["payload"]["message"]


async def test_a_token_refresh_keeps_the_socket_and_expiry_closes_it(
    running: RunningBridge,
) -> None:
    async with running.raw_socket() as client:
        await client.send("auth", {"token": running.token("alice", ttl=1)})
        await client.until(lambda f: f.get("payload", {}).get("status") == "ready")
        await client.send("auth", {"token": running.token("alice", ttl=3600)})
        await asyncio.sleep(8)  # past the first token's expiry + leeway: the refresh holds
        await client.send("ping", {}, id="after-refresh")
        assert (await client.until_type("pong"))["id"] == "after-refresh"

    async with running.raw_socket() as client:
        await client.send("auth", {"token": running.token("alice", ttl=1)})
        code, frames = await client.closed_with(within=30)
    assert code == CLOSE_UNAUTHORIZED
    assert frames[-1]["type"] == "error" and frames[-1]["payload"]["code"] == "token_expired"


async def test_a_refresh_for_another_user_is_refused(running: RunningBridge) -> None:
    async with running.client("alice") as client:
        await client.send("auth", {"token": running.token("bob")})
        code, frames = await client.closed_with()
    assert code == CLOSE_UNAUTHORIZED
    assert frames[-1]["payload"]["code"] == "auth_mismatch"
    assert running.bridge.sprite_of("bob") is None


async def test_a_suspended_user_is_refused_clearly(running: RunningBridge) -> None:
    async with running.client("mallory") as client:
        await running.bridge.suspend_user("mallory")
        code, frames = await client.closed_with()
    assert code == CLOSE_FORBIDDEN
    assert frames[-1]["payload"]["code"] == "account_suspended"
    async with running.raw_socket() as client:
        await client.send("auth", {"token": running.token("mallory")})
        code, frames = await client.closed_with()
    assert code == CLOSE_FORBIDDEN
    assert "suspended" in frames[-1]["payload"]["message"]


async def test_the_session_api_is_the_same_path(running: RunningBridge) -> None:
    session = await running.bridge.connect(running.token("uiuser"))
    try:
        await session.handle(json.dumps({"type": "ping", "payload": {}, "id": "ui1"}))
        frames = []
        async with asyncio.timeout(30):
            async for raw in session.outgoing():
                frames.append(json.loads(raw))
                if frames[-1]["type"] == "pong":
                    break
        assert frames[-1]["id"] == "ui1"
        assert any(f["type"] == "sprite_status" for f in frames)
    finally:
        await session.close()
    assert session.closed


async def test_health_reports_the_sandbox(running: RunningBridge) -> None:
    async with httpx.AsyncClient() as http:
        health = (await http.get(f"{running.url}/health")).json()
        jwks = (await http.get(f"{running.url}/.well-known/jwks.json")).json()
    assert health["status"] == "ok"
    assert health["sandbox"] == "bubblewrap" and health["warnings"] == []
    assert jwks["keys"][0]["kid"] == running.bridge.verifier.local_issuer.kid


async def test_without_a_usable_sandbox_sprites_still_run_with_a_loud_warning(
    tmp_path, monkeypatch
) -> None:
    from bridge.hub import Bridge
    from bridge.providers.local import LocalProvider
    from tests.bridge.conftest import serve_bridge

    monkeypatch.setenv("PATH", "/nonexistent")  # bubblewrap cannot be found

    def factory(settings):
        return Bridge(settings, provider=LocalProvider(settings.data_dir))

    async with serve_bridge(tmp_path / "data", bridge_factory=factory) as running:
        async with httpx.AsyncClient() as http:
            health = (await http.get(f"{running.url}/health")).json()
        assert health["sandbox"] == "DISABLED"
        assert any("SANDBOX DISABLED" in w for w in health["warnings"])
        async with running.client("alice") as client:
            assert "unsandboxed" in await client.shell_output("echo unsandboxed")
