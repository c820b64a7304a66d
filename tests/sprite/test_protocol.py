"""The Sprite's side of the WebSocket protocol: auth, frames, broadcast, backpressure."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.sprite.conftest import TOKEN, SpriteClient, connect


async def expect_refused(ws: websockets.ClientConnection) -> dict:
    error = json.loads(await asyncio.wait_for(ws.recv(), 15))
    assert error["type"] == "error" and error["payload"]["code"] == "unauthorized"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 15)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    return error


async def test_bearer_header_or_first_auth_frame(sprite):
    async with connect(sprite) as ws:
        assert (await SpriteClient(ws).request("ping"))["type"] == "pong"
    async with connect(sprite, token="a-proxy-org-token") as ws:  # header for a proxy in front
        client = SpriteClient(ws)
        await client.send("auth", {"token": TOKEN})
        assert (await client.request("ping"))["type"] == "pong"
    async with connect(sprite, token=None) as ws:
        client = SpriteClient(ws)
        await client.send("auth", {"token": TOKEN})
        assert (await client.request("ping"))["type"] == "pong"
        await client.send("auth", {"token": TOKEN})  # a refresh on an open socket is fine
        assert (await client.request("ping"))["type"] == "pong"


@pytest.mark.parametrize("how", ["header", "frame", "no auth frame", "refresh"])
async def test_wrong_or_missing_token_is_closed_4401(sprite, how):
    if how == "header":
        # A foreign Bearer header (a proxy's) is not enough: the first frame must then be auth.
        async with connect(sprite, token="not-the-token") as ws:
            await ws.send(json.dumps({"type": "state_request", "payload": {}}))
            await expect_refused(ws)
        async with connect(sprite, token="not-the-token") as ws:
            await ws.send(json.dumps({"type": "auth", "payload": {"token": "not-the-token"}}))
            await expect_refused(ws)
    elif how == "frame":
        async with connect(sprite, token=None) as ws:
            await ws.send(json.dumps({"type": "auth", "payload": {"token": TOKEN[:-1] + "x"}}))
            await expect_refused(ws)
    elif how == "no auth frame":
        async with connect(sprite, token=None) as ws:
            await ws.send(json.dumps({"type": "state_request", "payload": {}}))
            error = await expect_refused(ws)
            assert "first frame must be auth" in error["payload"]["message"]
    else:
        async with connect(sprite) as ws:
            await ws.send(json.dumps({"type": "auth", "payload": {"token": "expired"}}))
            await expect_refused(ws)


async def test_bad_frames_get_error_frames_and_the_socket_stays_open(client):
    for raw, code in [
        ("not json", "malformed_json"),
        ("[1, 2]", "not_an_object"),
        ('{"payload": {}}', "bad_envelope"),
        ('{"type": "no_such_type"}', "unknown_type"),
        ('{"type": "mission", "payload": {"text": ""}}', "invalid_payload"),
        ('{"type": "state", "payload": {}}', "not_allowed"),
        ('{"type": "checkpoint_list", "payload": {}}', "unsupported"),
        ('{"type": "document_request", "payload": {"document_id": "nope"}}', "not_found"),
        ('{"type": "artifact_request", "payload": {"artifact_id": "nope"}}', "not_found"),
        ('{"type": "mission_cancel", "payload": {"mission_id": "nope"}}', "not_running"),
    ]:
        await client.ws.send(raw)
        reply = await client.next()
        assert reply["type"] == "error", raw
        assert reply["payload"]["code"] == code, (raw, reply)
    assert (await client.request("ping"))["type"] == "pong"


async def test_agent_mission_without_a_model_says_what_is_missing(sprite, client):
    frame_id = await client.send("mission", {"text": "Summarise my invoices"})
    first = await client.wait_for(lambda f: f.get("id") == frame_id)
    assert first["type"] == "agent_event"
    assert first["payload"]["event_type"] == "error"
    assert "ANTHROPIC_API_KEY" in first["payload"]["content"]
    mission_id = first["payload"]["mission_id"]
    (row,) = sprite.query("SELECT status, kind, text FROM missions WHERE id = ?", (mission_id,))
    assert row == {"status": "failed", "kind": "agent", "text": "Summarise my invoices"}


async def test_follow_up_joins_the_thread(sprite, client):
    first = await client.request("mission", {"text": "!echo one", "mission_id": "my-mission"})
    assert first["payload"]["mission_id"] == "my-mission"  # a client-chosen id is kept
    await client.mission_done("my-mission")
    reply = await client.request("mission", {"text": "!echo two", "mission_id": "my-mission"})
    follow_up = reply["payload"]["mission_id"]
    assert follow_up != "my-mission"
    await client.mission_done(follow_up)
    rows = sprite.query("SELECT id, parent_id, thread_id FROM missions ORDER BY created_at")
    assert rows == [
        {"id": "my-mission", "parent_id": None, "thread_id": "my-mission"},
        {"id": follow_up, "parent_id": "my-mission", "thread_id": "my-mission"},
    ]


async def test_two_clients_both_receive_broadcast_events(sprite):
    async with connect(sprite) as ws1, connect(sprite) as ws2:
        one, two = SpriteClient(ws1), SpriteClient(ws2)
        await two.request("ping")  # both registered
        reply = await one.request("mission", {"text": "!echo shared"})
        mission_id = reply["payload"]["mission_id"]
        for client in (one, two):
            done = await client.mission_done(mission_id)
            assert done["payload"]["event_type"] == "complete"
        stack = await one.request("stack_create", {"name": "Q1", "document_ids": []})
        assert stack["type"] == "stack_update"
        seen = await two.wait_for(lambda f: f["type"] == "stack_update")
        assert seen["payload"]["stack"]["name"] == "Q1"
        # Replies go only to the asker.
        await one.request("state_request")
        await two.request("ping")
        assert not [f for f in two.frames if f["type"] == "state"]


async def test_stack_create_checks_documents(sprite, client):
    reply = await client.upload("a.txt", b"alpha")
    document_id = reply["payload"]["document_id"]
    stack = await client.request("stack_create", {"name": "Mine", "document_ids": [document_id]})
    assert stack["payload"]["stack"]["document_ids"] == [document_id]
    assert stack["payload"]["stack"]["tables"] == []
    bad = await client.request("stack_create", {"name": "Bad", "document_ids": ["nope"]})
    assert bad["payload"]["code"] == "not_found" and "nope" in bad["payload"]["message"]
    state = await client.request("state_request")
    assert [s["name"] for s in state["payload"]["stacks"]] == ["Mine"]


async def test_a_client_that_stops_reading_is_disconnected(sprite):
    # Make each state frame large (≈64 KiB of terminal output), then ask for it many times
    # without reading: the bounded queue overflows and the client is closed with 4429.
    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        reply = await client.request("mission", {"text": "!head -c 60000 /dev/urandom | base64"})
        await client.mission_done(reply["payload"]["mission_id"])
    async with (
        connect(sprite, max_queue=1, compression=None, ping_interval=None) as slow,
        connect(sprite) as healthy,
    ):
        for _ in range(1500):
            await slow.send(json.dumps({"type": "state_request", "payload": {}}))
        # Read nothing until the Sprite has given up on this client (it says so in its log).
        for _ in range(1200):
            if "is not reading: disconnecting" in sprite.log():
                break
            await asyncio.sleep(0.05)
        received = 0
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(slow.recv(), 30)
                received += 1
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
        assert received < 1500
        assert (await SpriteClient(healthy).request("ping"))["type"] == "pong"


async def test_state_after_reconnect_redraws_everything(sprite):
    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        reply = await client.upload("notes.txt", b"remember me")
        document_id = reply["payload"]["document_id"]
        await client.wait_document(document_id)
        shell = await client.request("mission", {"text": "!echo drawn"})
        mission_id = shell["payload"]["mission_id"]
        await client.mission_done(mission_id)
    async with connect(sprite) as ws:
        state = (await SpriteClient(ws).request("state_request"))["payload"]
    assert [d["id"] for d in state["documents"]] == [document_id]
    (mission,) = state["missions"]
    assert mission["id"] == mission_id and mission["status"] == "completed"
    assert mission["finished_at"] and mission["text"] == "!echo drawn"
    assert [e["event_type"] for e in mission["events"]] == ["tool", "complete"]
    (artifact,) = state["artifacts"]
    assert artifact["artifact_type"] == "terminal" and artifact["data"]["output"] == "drawn\n"
    assert artifact["truncated"] is False
