"""A Sprite's life behind the bridge: idle sleep, wake by message, crash, checkpoints, restart,
slow clients — all with real runtimes in bubblewrap and real sockets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bridge.hub import Bridge
from bridge.session import CLOSE_SLOW_CLIENT
from tests.bridge.conftest import RunningBridge, serve_bridge
from tests.support.processes import free_port

IDLE = "0.5"


def _touch(path: Path) -> None:
    path.write_text("go")


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for the host's init to reap it is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
async def sleepy(tmp_path: Path):
    async with serve_bridge(tmp_path / "data", STACKDOCS_SPRITE_IDLE_SECONDS=IDLE) as running:
        yield running


async def test_sleep_when_idle_then_wake_by_message_losing_nothing(sleepy: RunningBridge) -> None:
    async with sleepy.client("alice") as client:
        await client.shell_output("echo before-sleep > /workspace/note.txt")
    await sleepy.wait_runtime_status("alice", "asleep")

    async with sleepy.raw_socket() as client:
        await client.send("auth", {"token": sleepy.token("alice")})
        for n in range(10):  # sent at once, while the Sprite is waking
            await client.send("ping", {}, id=f"w{n}")
        pongs = [await client.until_type("pong") for _ in range(10)]
        assert [p["id"] for p in pongs] == [f"w{n}" for n in range(10)]
        statuses = [f["payload"]["status"] for f in client.frames if f["type"] == "sprite_status"]
        assert statuses[:3] == ["asleep", "waking", "ready"]
        assert not any(f["type"] == "error" for f in client.frames)
        assert "before-sleep" in await client.shell_output("cat /workspace/note.txt")


async def test_a_running_mission_keeps_the_sprite_awake(sleepy: RunningBridge) -> None:
    async with sleepy.client("alice") as client:
        await client.send(
            "mission", {"text": "!while [ ! -f /workspace/go ]; do sleep 0.05; done; echo went"}
        )
        await client.until(lambda f: f["type"] == "agent_event")  # it started
    await asyncio.sleep(float(IDLE) * 6)  # several idle periods with no client
    assert await sleepy.runtime_status("alice") == "running"
    await asyncio.to_thread(_touch, sleepy.workspace("alice") / "go")
    await sleepy.wait_runtime_status("alice", "asleep")


async def test_kill_9_mid_stream_then_continue(running: RunningBridge) -> None:
    async with running.client("alice") as client:
        await client.send(
            "mission", {"text": "!for i in $(seq 1 100000); do echo line $i; sleep 0.01; done"}
        )
        await client.until(lambda f: f["type"] == "canvas_update")  # streaming
        old_pids = running.runtime_pids("alice")
        running.kill_runtime("alice")
        await client.until_type("state_reload")  # reconnected to a fresh runtime
        assert not set(old_pids) & set(running.runtime_pids("alice"))
        await client.send("ping", {}, id="after-crash")
        assert (await client.until_type("pong"))["id"] == "after-crash"
        assert "still-works" in await client.shell_output("echo still-works")
        await client.send("state_request", {}, id="s")
        state = await client.until_type("state")
        assert state["payload"]["missions"]  # the history survived the crash


async def test_checkpoint_change_restore_verify(running: RunningBridge) -> None:
    async with running.client("alice") as client:
        await client.shell_output("echo one > /workspace/note.txt")
        await client.send("checkpoint_create", {"comment": "before"}, id="c1")
        created = await client.until(lambda f: f.get("id") == "c1")
        assert created["type"] == "checkpoints"
        [checkpoint] = created["payload"]["items"]
        assert checkpoint["id"] == "v1" and checkpoint["comment"] == "before"

        await client.shell_output("echo two > /workspace/note.txt; touch /workspace/later.txt")
        await client.send("state_request", {}, id="s1")
        missions_before = len((await client.until_type("state"))["payload"]["missions"])

        await client.send("checkpoint_restore", {"checkpoint_id": "v1"}, id="r1")
        seen: dict[str, dict] = {}
        while len(seen) < 2:  # the answer and the redraw signal, in either order
            frame = await client.until(lambda f: f.get("id") == "r1" or f["type"] == "state_reload")
            seen[frame["type"]] = frame
        assert set(seen) == {"checkpoints", "state_reload"}

        assert (await client.shell_output("cat /workspace/note.txt")).strip() == "one"
        assert "gone" in await client.shell_output("test -e /workspace/later.txt || echo gone")
        await client.send("state_request", {}, id="s2")
        missions_after = (await client.until_type("state"))["payload"]["missions"]
        # agent.db is the checkpoint's: the missions run after it are not there (the 3 checks
        # just run are), so the history is shorter than before the restore.
        assert len(missions_after) < missions_before + 3

        await client.send("checkpoint_restore", {"checkpoint_id": "v99"}, id="bad")
        error = await client.until(lambda f: f.get("id") == "bad")
        assert error["type"] == "error" and error["payload"]["code"] == "unknown_checkpoint"
        await client.send("checkpoint_list", {}, id="l")
        assert [c["id"] for c in (await client.until(lambda f: f.get("id") == "l"))[
            "payload"]["items"]] == ["v1"]  # fmt: skip
    assert (running.workspace("alice") / "note.txt").read_text().strip() == "one"


async def test_clients_reconnect_and_redraw_after_a_bridge_restart(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    async with serve_bridge(data, port=port) as first:
        async with first.client("alice") as client:
            await client.shell_output("echo survived > /workspace/r.txt")
            token = first.token("alice")
        old_pids = first.runtime_pids("alice")
    assert not any(_alive(pid) for pid in old_pids)  # nothing left behind
    async with serve_bridge(data, port=port) as second:
        async with second.raw_socket() as client:
            await client.send("auth", {"token": token})  # the same token still verifies
            await client.send("state_request", {}, id="redraw")
            state = await client.until(lambda f: f.get("id") == "redraw")
            assert state["type"] == "state" and state["payload"]["missions"]
            assert "survived" in await client.shell_output("cat /workspace/r.txt")


async def test_a_slow_client_is_dropped_without_stalling_others(tmp_path: Path) -> None:
    def factory(settings):
        return Bridge(settings, session_outbox_frames=4, slow_client_seconds=3)

    async with serve_bridge(tmp_path / "data", bridge_factory=factory) as running:
        # max_queue=1: the client library stops reading the socket as soon as one frame waits.
        async with running.client("alice", max_queue=1) as slow, running.client("bob") as other:
            [slow_session] = running.bridge.sessions_of("alice")
            done = await slow.mission("!head -c 3000000 /dev/urandom | base64")
            artifact_id = done["payload"]["meta"]["artifact_id"]
            for n in range(30):  # ~4 MB each, never read
                await slow.ws.send(
                    json.dumps(
                        {"type": "artifact_request",
                         "payload": {"artifact_id": artifact_id}, "id": f"a{n}"}
                    )
                )  # fmt: skip
            for n in range(5):  # another client is served meanwhile
                await other.send("ping", {}, id=f"o{n}")
                assert (await other.until_type("pong"))["id"] == f"o{n}"
            async with asyncio.timeout(60):
                await slow_session.wait_closed()
            assert slow_session.close_code == CLOSE_SLOW_CLIENT
            await other.send("ping", {}, id="after")
            assert (await other.until_type("pong"))["id"] == "after"
        # The slow user's next connection works normally.
        async with running.client("alice") as again:
            await again.send("ping", {}, id="back")
            assert (await again.until_type("pong"))["id"] == "back"
