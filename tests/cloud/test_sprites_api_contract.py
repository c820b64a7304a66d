"""Contract tests of the fake Sprites.dev API against the official SDK and raw wire checks.

These pin the documented behaviour the provider relies on (see the note
``sprites-dev-api.md``): if the fake drifts from the SDK's expectations, these fail first.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import sprites
import websockets
from sprites.exceptions import AuthenticationError, NetworkError, NotFoundError, SpriteError

from tests.fakes.sprites_api import FakeSprites


def unique(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def client(fake_sprites: FakeSprites):
    async with sprites.AsyncSpritesClient(fake_sprites.token, base_url=fake_sprites.url) as c:
        yield c


def api(fake: FakeSprites, token: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=fake.url,
        headers={"Authorization": f"Bearer {token or fake.token}"},
        timeout=30,
    )


# ------------------------------------------------------------------------------ auth and CRUD


def test_every_request_needs_the_org_token(fake_sprites: FakeSprites) -> None:
    with api(fake_sprites, token="wrong") as http:
        response = http.get("/v1/sprites")
    assert response.status_code == 401
    assert response.json() == {"error": "authentication failed"}
    assert httpx.get(f"{fake_sprites.url}/v1/sprites").status_code == 401


async def test_sdk_reports_a_bad_token(fake_sprites: FakeSprites) -> None:
    async with sprites.AsyncSpritesClient("nope", base_url=fake_sprites.url) as bad:
        with pytest.raises(AuthenticationError):
            await bad.get_sprite("anything")


async def test_exec_upgrade_needs_the_org_token(fake_sprites: FakeSprites, client) -> None:
    name = unique()
    await client.create_sprite(name)
    ws_url = fake_sprites.url.replace("http", "ws") + f"/v1/sprites/{name}/exec?cmd=true"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url, additional_headers={"Authorization": "Bearer x"}):
            pass
    assert refused.value.response.status_code == 401


def test_create_get_list_delete(fake_sprites: FakeSprites) -> None:
    name = unique("crud")
    with api(fake_sprites) as http:
        created = http.post("/v1/sprites", json={"name": name, "url_settings": {"auth": "sprite"}})
        assert created.status_code == 201
        body = created.json()
        assert body["name"] == name and body["id"].startswith("sprite-")
        assert body["status"] == "cold" and body["url"].startswith("http")
        assert body["url_settings"] == {"auth": "sprite"}

        duplicate = http.post("/v1/sprites", json={"name": name})
        assert duplicate.status_code == 409 and "error" in duplicate.json()

        bad = http.post("/v1/sprites", json={"name": "Not_A_DNS_Label"})
        assert bad.status_code == 400 and bad.json() == {"errors": ["invalid sprite name format"]}

        assert http.get(f"/v1/sprites/{name}").json()["name"] == name
        listed = http.get("/v1/sprites", params={"prefix": "crud-"}).json()
        assert name in [s["name"] for s in listed["sprites"]] and listed["has_more"] is False

        assert http.delete(f"/v1/sprites/{name}").status_code == 204
        missing = http.get(f"/v1/sprites/{name}")
        assert missing.status_code == 404 and missing.json() == {"error": "sprite not found"}


def test_list_pages_with_a_continuation_token(fake_sprites: FakeSprites) -> None:
    prefix = unique("page")
    with api(fake_sprites) as http:
        for i in range(3):
            assert http.post("/v1/sprites", json={"name": f"{prefix}-{i}"}).status_code == 201
        first = http.get("/v1/sprites", params={"prefix": prefix, "max_results": 2}).json()
        assert len(first["sprites"]) == 2 and first["has_more"] is True
        rest = http.get(
            "/v1/sprites",
            params={"prefix": prefix, "continuation_token": first["next_continuation_token"]},
        ).json()
        assert [s["name"] for s in rest["sprites"]] == [f"{prefix}-2"]


def test_missing_sprite_in_its_observed_500_form(fake_sprites: FakeSprites) -> None:
    fake_sprites.configure(missing_status=500)
    try:
        with api(fake_sprites) as http:
            response = http.get(f"/v1/sprites/{unique('gone')}")
        assert response.status_code == 500
        assert response.json() == {"error": "failed to retrieve sprite"}
    finally:
        fake_sprites.configure(missing_status=404)


async def test_sdk_maps_missing_and_duplicate(client) -> None:
    with pytest.raises(NotFoundError):
        await client.get_sprite(unique("none"))
    name = unique()
    await client.create_sprite(name)
    with pytest.raises(SpriteError, match="409"):
        await client.create_sprite(name)


def test_rate_limit_answers_429_with_retry_after(fake_sprites: FakeSprites) -> None:
    body = {
        "error": "sprite_creation_rate_limited",
        "message": "slow down",
        "retry_after_seconds": 1,
    }
    fake_sprites.inject("POST", "/v1/sprites", 429, body=body, headers={"Retry-After": "1"})
    with api(fake_sprites) as http:
        limited = http.post("/v1/sprites", json={"name": unique()})
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        assert limited.json()["error"] == "sprite_creation_rate_limited"
        assert http.post("/v1/sprites", json={"name": unique()}).status_code == 201


# ------------------------------------------------------------------------------ exec


async def test_exec_streams_stdout_stderr_and_exit_code(client) -> None:
    sprite = await client.create_sprite(unique("exec"))
    result = await sprite.run(
        "sh",
        "-c",
        'echo "out $GREETING"; echo err >&2; pwd; exit 7',
        capture_output=True,
        env={"GREETING": "hi"},
        cwd="/tmp",
    )
    assert result.returncode == 7
    assert result.stdout == b"out hi\n/tmp\n"
    assert result.stderr == b"err\n"


async def test_exec_wire_framing(fake_sprites: FakeSprites, client) -> None:
    name = unique("frames")
    await client.create_sprite(name)
    url = (
        fake_sprites.url.replace("http", "ws")
        + f"/v1/sprites/{name}/exec?cmd=cat&stdin=true&tty=false"
    )
    auth = {"Authorization": f"Bearer {fake_sprites.token}"}
    async with websockets.connect(url, additional_headers=auth) as ws:
        info = json.loads(await ws.recv())
        assert info["type"] == "session_info" and info["tty"] is False
        await ws.send(bytes([0]) + b"echoed through stdin")
        await ws.send(bytes([4]))  # stdin EOF: cat ends
        frames = [await ws.recv() for _ in range(2)]
    assert frames[0] == bytes([1]) + b"echoed through stdin"
    assert frames[1] == bytes([3, 0])


async def test_exec_close_without_exit_frame_is_an_error(fake_sprites: FakeSprites, client):
    name = unique("noexit")
    sprite = await client.create_sprite(name)
    fake_sprites.inject("GET", f"/v1/sprites/{name}/exec", kind="exec_no_exit")
    with pytest.raises(NetworkError, match="exit status"):
        await sprite.run("true")


# ------------------------------------------------------------------------------ filesystem


async def test_filesystem_write_read_list_and_errors(fake_sprites: FakeSprites, client) -> None:
    name = unique("fs")
    sprite = await client.create_sprite(name)
    fs = sprite.filesystem("/")
    await (fs / "opt/app/config.json").write_text('{"a": 1}', mode=0o600)
    assert await (fs / "opt/app/config.json").read_text() == '{"a": 1}'
    assert [p.name async for p in (fs / "opt/app").iterdir()] == ["config.json"]
    seen = await sprite.run("cat", "/opt/app/config.json", capture_output=True)
    assert seen.stdout == b'{"a": 1}'  # what the API wrote is what commands see
    with api(fake_sprites) as http:
        listing = http.get(f"/v1/sprites/{name}/fs/list", params={"path": "/opt/app"}).json()
        entry = listing["entries"][0]
        assert listing["count"] == 1 and entry["mode"] == "0600" and entry["isDir"] is False
        missing = http.get(f"/v1/sprites/{name}/fs/read", params={"path": "/opt/none"})
        assert missing.status_code == 404
        assert missing.json() == {
            "error": "no such file or directory",
            "code": "ENOENT",
            "path": "/opt/none",
        }


# ------------------------------------------------------------------------------ services + URL


def test_service_streams_start_and_the_url_routes_to_it(fake_sprites: FakeSprites) -> None:
    name = unique("svc")
    with api(fake_sprites) as http:
        sprite = http.post("/v1/sprites", json={"name": name}).json()
        http.put(
            f"/v1/sprites/{name}/fs/write",
            params={"path": "/srv/index.html", "mkdirParents": "true"},
            content=b"hello from the sprite",
        )
        response = http.put(
            f"/v1/sprites/{name}/services/web",
            json={
                "cmd": "/bin/sh",
                "args": ["-c", 'exec python3 -m http.server "$PORT"'],
                "dir": "/srv",
                "http_port": 8080,
            },
        )
        events = [json.loads(line) for line in response.text.splitlines()]
        assert [e["type"] for e in events] == ["started", "complete"]
        assert events[1]["log_files"]["combined"] == "/.sprite/logs/services/web.log"

        second = http.put(
            f"/v1/sprites/{name}/services/api", json={"cmd": "true", "http_port": 9000}
        )
        assert second.status_code == 409

        state = http.get(f"/v1/sprites/{name}/services/web").json()
        assert state["http_port"] == 8080 and state["state"]["status"] == "running"

    assert httpx.get(sprite["url"] + "/index.html").status_code == 401
    page = httpx.get(
        sprite["url"] + "/index.html", headers={"Authorization": f"Bearer {fake_sprites.token}"}
    )
    assert page.status_code == 200 and page.text == "hello from the sprite"


def test_a_service_that_dies_reports_exit(fake_sprites: FakeSprites) -> None:
    name = unique("dies")
    with api(fake_sprites) as http:
        http.post("/v1/sprites", json={"name": name})
        response = http.put(
            f"/v1/sprites/{name}/services/bad", json={"cmd": "/bin/sh", "args": ["-c", "exit 4"]}
        )
    events = [json.loads(line) for line in response.text.splitlines()]
    assert events[-1]["type"] == "exit" and events[-1]["exit_code"] == 4


def test_a_paused_sprite_wakes_on_a_url_request(fake_sprites: FakeSprites) -> None:
    name = unique("wake")
    with api(fake_sprites) as http:
        sprite = http.post("/v1/sprites", json={"name": name}).json()
        http.put(
            f"/v1/sprites/{name}/services/web",
            json={
                "cmd": "/bin/sh",
                "args": ["-c", 'exec python3 -m http.server "$PORT"'],
                "http_port": 8080,
            },
        )
    assert fake_sprites.pause(name)["status"] == "cold"
    assert fake_sprites.inspect(name)["services"]["web"]["status"] == "stopped"
    page = httpx.get(sprite["url"] + "/", headers={"Authorization": f"Bearer {fake_sprites.token}"})
    assert page.status_code == 200
    assert fake_sprites.inspect(name)["status"] == "running"


def test_network_policy_round_trip(fake_sprites: FakeSprites) -> None:
    name = unique("pol")
    rules = [{"domain": "bridge.example.com", "action": "allow"}, {"domain": "*", "action": "deny"}]
    with api(fake_sprites) as http:
        http.post("/v1/sprites", json={"name": name})
        assert (
            http.post(f"/v1/sprites/{name}/policy/network", json={"rules": rules}).status_code
            == 204
        )
        assert http.get(f"/v1/sprites/{name}/policy/network").json() == {"rules": rules}
        assert (
            http.post(
                f"/v1/sprites/{name}/policy/network", json={"rules": [{"domain": "x"}]}
            ).status_code
            == 400
        )


# ------------------------------------------------------------------------------ checkpoints


async def test_checkpoints_create_list_restore(fake_sprites: FakeSprites, client) -> None:
    sprite = await client.create_sprite(unique("cp"))
    fs = sprite.filesystem("/")
    await (fs / "workspace/notes.txt").write_text("before")
    created = [m.data for m in await sprite.create_checkpoint("first")]
    assert created[-1] == "Checkpoint v1 created successfully"
    ids = [cp.id for cp in await sprite.list_checkpoints()]
    assert ids == ["Current", "v1", "v0"]  # newest first, with the pseudo entry and v0

    await (fs / "workspace/notes.txt").write_text("after")
    restored = list(await sprite.restore_checkpoint("v1"))
    assert restored[-1].type == "complete"
    assert await (fs / "workspace/notes.txt").read_text() == "before"

    unknown = list(await sprite.restore_checkpoint("v99"))  # still 200, error in the stream
    assert [m.type for m in unknown] == ["error"] and "v99" in unknown[0].error


async def test_tcp_proxy_reaches_a_port_inside_the_sprite(fake_sprites: FakeSprites) -> None:
    name = unique("tcp")
    with api(fake_sprites) as http:
        http.post("/v1/sprites", json={"name": name})
        http.put(
            f"/v1/sprites/{name}/services/echo",
            json={
                "cmd": "/bin/sh",
                "args": ["-c", 'exec python3 -m http.server "$PORT"'],
                "http_port": 8080,
            },
        )
    url = fake_sprites.url.replace("http", "ws") + f"/v1/sprites/{name}/proxy"
    auth = {"Authorization": f"Bearer {fake_sprites.token}"}
    async with websockets.connect(url, additional_headers=auth) as ws:
        await ws.send(json.dumps({"host": "localhost", "port": 8080}))
        assert json.loads(await ws.recv())["status"] == "connected"
        await ws.send(b"GET / HTTP/1.0\r\n\r\n")
        reply = b""
        async for chunk in ws:
            reply += chunk
    assert reply.startswith(b"HTTP/1.0 200")
