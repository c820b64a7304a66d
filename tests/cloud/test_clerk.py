"""Clerk mode end to end through ``/ws``: the bridge's real verifier against a fake Clerk.

Tokens have Clerk's shape (``iss`` = Frontend API URL, ``sub`` = ``user_…``, ``sid``, ``azp``,
60 s lifetime, a ``kid`` from the published JWKS). The bridge fetches the JWKS over HTTP like it
would from Clerk; a key rotation (a ``kid`` it has not seen) makes it fetch again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bridge.auth import REFRESH_COOLDOWN
from tests.bridge.conftest import RunningBridge, WsClient, serve_bridge
from tests.fakes.clerk import FakeClerk, decode_unverified


@pytest.fixture
def clerk() -> Iterator[FakeClerk]:
    with FakeClerk() as fake:
        yield fake


@pytest.fixture
async def bridge(tmp_path: Path, clerk: FakeClerk) -> AsyncIterator[RunningBridge]:
    async with serve_bridge(
        tmp_path / "data",
        STACKDOCS_AUTH="clerk",
        CLERK_JWKS_URL=clerk.jwks_url,
        CLERK_ISSUER=clerk.issuer,
    ) as running:
        yield running


async def sign_in(client: WsClient, token: str) -> None:
    await client.send("auth", {"token": token})
    await client.until(
        lambda f: f["type"] == "sprite_status" and f["payload"]["status"] == "ready", within=60
    )


async def alive(client: WsClient) -> bool:
    await client.send("ping", {}, id="p")
    frame = await client.until(lambda f: f["type"] in ("pong", "error"))
    return frame["type"] == "pong"


async def refused(
    client: WsClient, token: str, within: float = 30
) -> tuple[int | None, list[dict]]:
    await client.send("auth", {"token": token})
    return await client.closed_with(within=within)


def test_fake_tokens_have_clerks_claim_shape(clerk: FakeClerk) -> None:
    claims = decode_unverified(clerk.mint("user_2abc", azp="https://stackdocs.example.com"))
    assert claims["iss"] == clerk.issuer and claims["sub"] == "user_2abc"
    assert claims["sid"].startswith("sess_") and claims["azp"] == "https://stackdocs.example.com"
    assert claims["exp"] - claims["iat"] == 60


async def test_a_clerk_session_token_signs_in_through_ws(bridge, clerk) -> None:
    async with bridge.raw_socket() as client:
        await sign_in(client, clerk.mint("user_2alice"))
        await client.send("state_request", {}, id="s")
        state = await client.until_type("state", within=60)
        assert state["payload"]["documents"] == []
    user = await bridge.bridge.db.get_user("user_2alice")
    assert user is not None and user.sprite_status == "active"
    assert clerk.jwks_requests == 1  # fetched once, then cached


async def test_refresh_on_an_open_socket_and_key_rotation(bridge, clerk) -> None:
    async with bridge.raw_socket() as client:
        await sign_in(client, clerk.mint("user_2bob"))
        await client.send("auth", {"token": clerk.mint("user_2bob")})  # the 50 s refresh
        assert await alive(client)

        before = clerk.jwks_requests
        clerk.rotate(keep_old=False)  # Clerk rotated: the new kid is unknown to the bridge
        # The bridge refetches for an unknown kid at most once per cooldown after its last
        # fetch (a flood of forged kids cannot hammer Clerk); a real rotation comes long after.
        await asyncio.sleep(REFRESH_COOLDOWN + 0.5)
        await client.send("auth", {"token": clerk.mint("user_2bob")})
        assert await alive(client)
        assert clerk.jwks_requests == before + 1  # the unknown kid made it fetch again


async def test_a_key_retired_from_the_jwks_is_refused(bridge, clerk) -> None:
    async with bridge.raw_socket() as client:
        await sign_in(client, clerk.mint("user_2bob"))
        old_key = clerk.signing_key
        clerk.rotate(keep_old=False)
        await asyncio.sleep(REFRESH_COOLDOWN + 0.5)
        await client.send("auth", {"token": clerk.mint("user_2bob")})
        assert await alive(client)  # the new key: fetched and accepted
        code, frames = await refused(client, clerk.mint("user_2bob", key=old_key), within=8)
        assert code == 4401
        assert any(f["type"] == "error" and f["payload"]["code"] == "unknown_key" for f in frames)


async def test_refresh_keeps_the_socket_past_the_first_tokens_expiry(bridge, clerk) -> None:
    async with bridge.raw_socket() as client:
        await sign_in(client, clerk.mint("user_2carol", ttl=2))
        await client.send("auth", {"token": clerk.mint("user_2carol", ttl=120)})
        await asyncio.sleep(9)  # past the first token's exp + the bridge's leeway
        assert await alive(client)


async def test_without_refresh_the_socket_closes_when_the_token_expires(bridge, clerk):
    async with bridge.raw_socket() as client:
        await sign_in(client, clerk.mint("user_2dave", ttl=1))
        code, frames = await client.closed_with(within=30)
        assert code == 4401
        assert any(f["type"] == "error" and f["payload"]["code"] == "token_expired" for f in frames)


async def test_a_refresh_for_another_user_is_refused(bridge, clerk) -> None:
    async with bridge.raw_socket() as client:
        await sign_in(client, clerk.mint("user_2erin"))
        code, frames = await refused(client, clerk.mint("user_2mallory"))
        assert code == 4401
        assert any(f["payload"].get("code") == "auth_mismatch" for f in frames)


@pytest.mark.parametrize("case", ["expired", "other_issuer", "not_a_jwt"])
async def test_bad_clerk_tokens_are_refused_with_4401(bridge, clerk, case) -> None:
    if case == "expired":
        token = clerk.mint("user_2x", issued_at=time.time() - 600)
    elif case == "other_issuer":
        with FakeClerk() as other:
            token = other.mint("user_2x", key=clerk.signing_key)  # right key, wrong iss
    else:
        token = "sess_not.a.jwt"
    async with bridge.raw_socket() as client:
        code, frames = await refused(client, token)
    assert code == 4401
    assert frames and frames[-1]["type"] == "error"
