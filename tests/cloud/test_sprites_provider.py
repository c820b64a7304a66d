"""The Sprites.dev provider against the fake API, with the real runtime inside the fake sprite.

The release is uploaded and installed through the filesystem and exec APIs, the runtime runs as
the sprite's HTTP service, and the bridge side reaches it through the sprite URL exactly as it
would on Sprites.dev (org token as Bearer, the runtime's token in the first ``auth`` frame).
"""

from __future__ import annotations

import asyncio
import json
import stat
import uuid
from pathlib import Path

import httpx
import pytest
import websockets

from bridge.providers.base import ProviderError, SpriteEndpoint
from bridge.providers.sprites import SpritesProvider
from bridge.providers.sprites.api import SpritesAPI
from bridge.providers.sprites.provider import ENV_FILE, VERSION_FILE, parse_env_file
from bridge.providers.sprites.release import RUNTIME_ROOT, current_release
from stackdocs.config import BridgeSettings
from tests.fakes.sprites_api import FakeSprites

PUBLIC_URL = "https://bridge.example.com"


def settings_for(fake: FakeSprites, data_dir: Path, **extra: str) -> BridgeSettings:
    return BridgeSettings.from_env(
        {
            "STACKDOCS_DATA_DIR": str(data_dir),
            "STACKDOCS_SPRITE_PROVIDER": "sprites",
            "SPRITES_API_TOKEN": fake.token,
            "SPRITES_API_URL": fake.url,
            "STACKDOCS_PUBLIC_URL": PUBLIC_URL,
            **extra,
        }
    )


class Environment:
    """The bridge's environment factory: counts calls, hands a fresh proxy token each time."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> dict[str, str]:
        self.calls += 1
        return {
            "MISTRAL_BASE_URL": f"{PUBLIC_URL}/proxy/mistral",
            "STACKDOCS_PROXY_TOKEN": f"proxy-{uuid.uuid4().hex}",
            "STACKDOCS_OCR": "local",
            "ANTHROPIC_API_KEY": "sk-must-never-reach-a-sprite",
        }


@pytest.fixture
async def provider(fake_sprites: FakeSprites, tmp_path: Path):
    p = SpritesProvider(settings_for(fake_sprites, tmp_path))
    await p.start()
    yield p
    await p.close()


def sprite_name() -> str:
    return f"sd-test-{uuid.uuid4().hex[:10]}"


async def open_runtime(endpoint: SpriteEndpoint):
    ws = await websockets.connect(endpoint.url, additional_headers=endpoint.headers)
    await ws.send(json.dumps({"type": "auth", "payload": {"token": endpoint.token}}))
    return ws


async def request_state(ws) -> dict:
    await ws.send(json.dumps({"type": "state_request", "payload": {}, "id": "s1"}))
    async with asyncio.timeout(30):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "state":
                return frame["payload"]
            assert frame["type"] != "error", frame


def bundle_uploads(fake: FakeSprites, name: str) -> int:
    return sum(
        1
        for r in fake.requests()
        if r["path"] == f"/v1/sprites/{name}/fs/write" and "bundle.tar.gz" in r["query"]
    )


# ------------------------------------------------------------------------------ create


async def test_create_is_idempotent_and_survives_a_rate_limit(provider, fake_sprites) -> None:
    name = sprite_name()
    fake_sprites.inject(
        "POST",
        "/v1/sprites",
        429,
        body={"error": "sprite_creation_rate_limited", "retry_after_seconds": 1},
        headers={"Retry-After": "1"},
    )
    await provider.create(name)
    await provider.create(name)  # exists: no error, no second sprite
    creates = [
        r for r in fake_sprites.requests() if r["method"] == "POST" and r["path"] == "/v1/sprites"
    ]
    assert len([r for r in creates if r["authorized"]]) >= 2  # the 429, then the real one
    info = fake_sprites.inspect(name)
    assert info["url_settings"] == {"auth": "sprite"} and "stackdocs" in info["labels"]
    assert await provider.status(name) == "asleep"
    assert await provider.status(sprite_name()) == "missing"


async def test_concurrent_creates_from_two_workers_make_one_sprite(fake_sprites, tmp_path):
    name = sprite_name()
    workers = [SpritesProvider(settings_for(fake_sprites, tmp_path)) for _ in range(2)]
    try:
        await asyncio.gather(*(w.create(name) for w in workers))  # one gets a 409: fine
    finally:
        for w in workers:
            await w.close()
    auth = {"Authorization": f"Bearer {fake_sprites.token}"}
    async with httpx.AsyncClient(headers=auth) as http:
        response = await http.get(f"{fake_sprites.url}/v1/sprites", params={"prefix": name})
    listed = response.json()
    assert [s["name"] for s in listed["sprites"]] == [name]


async def test_missing_sprite_in_the_500_form_is_created(provider, fake_sprites) -> None:
    fake_sprites.configure(missing_status=500)
    try:
        name = sprite_name()
        assert await provider.status(name) == "missing"
        await provider.create(name)
        assert await provider.status(name) == "asleep"
    finally:
        fake_sprites.configure(missing_status=404)


async def test_a_refused_token_is_a_clear_error(fake_sprites, tmp_path) -> None:
    bad = SpritesProvider(settings_for(fake_sprites, tmp_path, SPRITES_API_TOKEN="wrong-token"))
    with pytest.raises(ProviderError) as refused:
        await bad.create(sprite_name())
    assert refused.value.code == "sprites_auth" and "SPRITES_API_TOKEN" in refused.value.message
    await bad.close()


# ------------------------------------------------------------------------------ wake, end to end


async def test_wake_deploys_the_runtime_and_the_bridge_reaches_it(provider, fake_sprites):
    name = sprite_name()
    env = Environment()
    await provider.create(name)
    endpoint = await provider.wake(name, env)
    assert env.calls == 1
    assert endpoint.url.startswith("ws://127.0.0.1:")
    assert endpoint.headers == {"Authorization": f"Bearer {fake_sprites.token}"}

    # What landed in the sprite: the release marker, a private env file without any key.
    root = Path(fake_sprites.inspect(name)["root"])
    assert (root / VERSION_FILE.lstrip("/")).read_text().strip() == current_release().version
    env_file = root / ENV_FILE.lstrip("/")
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    runtime_env = parse_env_file(env_file.read_text())
    assert runtime_env["SPRITE_TOKEN"] == endpoint.token
    assert runtime_env["MISTRAL_BASE_URL"] == f"{PUBLIC_URL}/proxy/mistral"
    assert "ANTHROPIC_API_KEY" not in runtime_env
    policy = fake_sprites.inspect(name)["policy"]["rules"]
    assert {"domain": "bridge.example.com", "action": "allow"} in policy
    assert policy[-1] == {"domain": "*", "action": "deny"}

    ws = await open_runtime(endpoint)
    try:
        state = await request_state(ws)
        assert state["documents"] == []
    finally:
        await ws.close()
    assert (root / "workspace" / "agent.db").is_file()  # the runtime's storage, in /workspace

    # Without the org token the sprite URL refuses; with a wrong runtime token, the runtime does.
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(endpoint.url)
    intruder = await open_runtime(SpriteEndpoint(endpoint.url, "wrong" * 8, endpoint.headers))
    async with asyncio.timeout(10):
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await intruder.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_second_wake_reuses_the_deployment(provider, fake_sprites, tmp_path):
    name = sprite_name()
    env = Environment()
    await provider.create(name)
    first = await provider.wake(name, env)
    uploads = bundle_uploads(fake_sprites, name)

    again = await provider.wake(name, env)
    # A restarted bridge (another worker) finds the same runtime without touching it.
    other = SpritesProvider(settings_for(fake_sprites, tmp_path))
    try:
        third = await other.wake(name, env)
    finally:
        await other.close()
    assert again.token == first.token == third.token
    assert env.calls == 1
    assert bundle_uploads(fake_sprites, name) == uploads == 1


async def test_a_paused_sprite_drops_connections_and_wakes_on_connect(provider, fake_sprites):
    name = sprite_name()
    env = Environment()
    await provider.create(name)
    endpoint = await provider.wake(name, env)
    ws = await open_runtime(endpoint)
    await request_state(ws)

    fake_sprites.pause(name)  # what Sprites.dev does ≈30 s after the last activity
    async with asyncio.timeout(10):
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    assert fake_sprites.inspect(name)["status"] == "cold"
    assert await provider.status(name) == "asleep"

    again = await provider.wake(name, env)  # nothing to start: connecting wakes it
    assert again.token == endpoint.token and env.calls == 1
    ws = await open_runtime(again)
    try:
        await request_state(ws)
    finally:
        await ws.close()
    assert fake_sprites.inspect(name)["services"]["stackdocs"]["status"] == "running"


async def test_a_new_release_is_deployed_once(provider, fake_sprites, tmp_path) -> None:
    name = sprite_name()
    env = Environment()
    await provider.create(name)
    first = await provider.wake(name, env)
    # An older release in the sprite (e.g. restored from an old checkpoint, or a bridge
    # upgrade): the marker no longer matches this bridge's release.
    api = SpritesAPI(fake_sprites.token, fake_sprites.url)
    await api.write_file(name, VERSION_FILE, b"0000000000000000\n")
    await api.close()

    restarted = SpritesProvider(settings_for(fake_sprites, tmp_path))
    try:
        second = await restarted.wake(name, env)
    finally:
        await restarted.close()
    assert bundle_uploads(fake_sprites, name) == 2
    assert env.calls == 2 and second.token != first.token  # a restart rotates the tokens
    root = Path(fake_sprites.inspect(name)["root"])
    assert (root / VERSION_FILE.lstrip("/")).read_text().strip() == current_release().version
    releases = sorted(p.name for p in (root / RUNTIME_ROOT.lstrip("/") / "releases").iterdir())
    assert releases == [current_release().version]  # safe to repeat: one release kept
    ws = await open_runtime(second)
    try:
        await request_state(ws)
    finally:
        await ws.close()


async def test_changed_bridge_settings_rewrite_the_environment(fake_sprites, tmp_path) -> None:
    name = sprite_name()
    env = Environment()
    first_provider = SpritesProvider(settings_for(fake_sprites, tmp_path))
    await first_provider.create(name)
    first = await first_provider.wake(name, env)
    await first_provider.close()
    moved = SpritesProvider(
        settings_for(fake_sprites, tmp_path, STACKDOCS_PUBLIC_URL="https://new.example.com")
    )
    try:
        second = await moved.wake(name, env)
    finally:
        await moved.close()
    assert env.calls == 2 and second.token != first.token
    assert bundle_uploads(fake_sprites, name) == 1  # same code: no new upload
    rules = fake_sprites.inspect(name)["policy"]["rules"]
    assert {"domain": "new.example.com", "action": "allow"} in rules


async def test_a_broken_exec_stream_fails_the_deploy(provider, fake_sprites) -> None:
    name = sprite_name()
    await provider.create(name)
    fake_sprites.inject("GET", f"/v1/sprites/{name}/exec", kind="exec_no_exit")
    with pytest.raises(ProviderError) as failed:
        await provider.wake(name, Environment())
    assert failed.value.code == "sprites_unavailable"
    assert "exit status" in failed.value.message


# ------------------------------------------------------------------------------ checkpoints


async def test_checkpoint_create_list_restore(provider, fake_sprites) -> None:
    name = sprite_name()
    env = Environment()
    await provider.create(name)
    endpoint = await provider.wake(name, env)
    root = Path(fake_sprites.inspect(name)["root"])
    notes = root / "workspace" / "notes.txt"
    notes.write_text("version one")

    checkpoint = await provider.checkpoint_create(name, "before the edit")
    assert checkpoint.id == "v1" and checkpoint.comment == "before the edit"
    listed = await provider.checkpoint_list(name)
    assert [c.id for c in listed] == ["v1", "v0"]  # newest first, no "Current" pseudo entry

    notes.write_text("version two")
    with pytest.raises(ProviderError) as unknown:
        await provider.checkpoint_restore(name, "v42")
    assert unknown.value.code == "unknown_checkpoint"
    assert notes.read_text() == "version two"  # nothing changed

    await provider.checkpoint_restore(name, "v1")
    assert notes.read_text() == "version one"
    again = await provider.wake(name, env)  # the runtime restarts with the restored disk
    assert again.token == endpoint.token
    ws = await open_runtime(again)
    try:
        await request_state(ws)
    finally:
        await ws.close()


async def test_delete_removes_the_sprite(provider, fake_sprites) -> None:
    name = sprite_name()
    await provider.create(name)
    await provider.delete(name)
    await provider.delete(name)  # idempotent
    assert await provider.status(name) == "missing"
