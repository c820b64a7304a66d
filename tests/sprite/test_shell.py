"""`!` missions: a real bash in the workspace, streamed as a terminal artifact."""

from __future__ import annotations

import asyncio
import os

from tests.sprite.conftest import SpriteClient, connect


async def run(client: SpriteClient, command: str) -> tuple[str, dict, dict]:
    """Send a shell mission; returns (mission_id, final agent_event, last terminal data)."""
    frame_id = await client.send("mission", {"text": command})
    first = await client.wait_for(lambda f: f.get("id") == frame_id)
    assert first["type"] == "agent_event" and first["payload"]["event_type"] == "tool"
    mission_id = first["payload"]["mission_id"]
    done = await client.mission_done(mission_id)
    updates = [
        f
        for f in client.frames
        if f["type"] == "canvas_update" and f["payload"]["mission_id"] == mission_id
    ]
    return mission_id, done["payload"], updates[-1]["payload"]


async def test_output_exit_code_and_cwd(sprite, client):
    (sprite.workspace / "documents" / "note.txt").write_text("x")
    mission_id, done, artifact = await run(
        client, "!pwd; echo to-stdout; echo to-stderr >&2; ls documents; exit 3"
    )
    assert done["event_type"] == "error" and done["meta"]["exit_code"] == 3
    assert artifact["artifact_type"] == "terminal"
    data = artifact["data"]
    assert data["exit_code"] == 3 and data["status"] == "exited" and data["running"] is False
    assert data["output"].splitlines() == [
        str(sprite.workspace),
        "to-stdout",
        "to-stderr",
        "note.txt",
    ]
    (row,) = sprite.query("SELECT status, kind, error FROM missions WHERE id = ?", (mission_id,))
    assert row == {"status": "failed", "kind": "shell", "error": "Exit code 3."}

    mission_id, done, artifact = await run(client, "!echo fine")
    assert done["event_type"] == "complete" and artifact["data"]["exit_code"] == 0
    (row,) = sprite.query("SELECT status, error FROM missions WHERE id = ?", (mission_id,))
    assert row == {"status": "completed", "error": None}


async def test_streaming_is_coalesced_and_long_output_kept_whole(sprite, client):
    # 200,000 numbered lines (≈1.3 MB) in a burst: frames carry the tail, the log has it all.
    mission_id, done, artifact = await run(client, "!seq 1 200000; sleep 0.3; echo end")
    assert done["event_type"] == "complete"
    updates = [f for f in client.frames if f["type"] == "canvas_update"]
    assert len(updates) < 100  # coalesced, not one frame per line
    data = artifact["data"]
    assert data["truncated"] is True and len(data["output"]) <= 64 * 1024
    assert data["output"].endswith("200000\nend\n")
    log = sprite.workspace / data["log_path"]
    assert log.read_text().splitlines() == [*map(str, range(1, 200001)), "end"]
    assert data["output_bytes"] == log.stat().st_size

    full = await client.request("artifact_request", {"artifact_id": artifact["artifact_id"]})
    assert full["type"] == "canvas_update"
    assert full["payload"]["data"]["output"] == log.read_text()
    assert full["payload"]["truncated"] is False

    state = await client.request("state_request")
    (saved,) = state["payload"]["artifacts"]
    assert saved["artifact_id"] == artifact["artifact_id"]
    assert saved["data"]["output"] == data["output"] and saved["mission_id"] == mission_id


async def test_timeout_kills_the_command(make_sprite):
    sprite = make_sprite(env={"STACKDOCS_SHELL_TIMEOUT": "1"})
    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        _mission_id, done, artifact = await run(client, "!echo started; sleep 30 & wait")
        assert done["event_type"] == "error" and "Timed out after 1 s" in done["content"]
        assert artifact["data"]["status"] == "timeout"
        assert artifact["data"]["output"] == "started\n"
    _assert_no_sleepers()


async def test_cancel_kills_the_process_group(sprite, client):
    frame_id = await client.send("mission", {"text": "!echo begin; sleep 60 & sleep 61; echo no"})
    first = await client.wait_for(lambda f: f.get("id") == frame_id)
    mission_id = first["payload"]["mission_id"]
    await client.wait_for(
        lambda f: f["type"] == "canvas_update" and f["payload"]["data"]["output"] == "begin\n"
    )
    await client.send("mission_cancel", {"mission_id": mission_id})
    done = await client.mission_done(mission_id)
    assert done["payload"]["meta"] == {"status": "cancelled"}
    final = [f for f in client.frames if f["type"] == "canvas_update"][-1]
    assert final["payload"]["data"]["status"] == "cancelled"
    assert "no" not in final["payload"]["data"]["output"]
    (row,) = sprite.query("SELECT status FROM missions WHERE id = ?", (mission_id,))
    assert row["status"] == "cancelled"
    _assert_no_sleepers()

    again = await client.request("mission_cancel", {"mission_id": mission_id})
    assert again["payload"]["code"] == "not_running"
    assert "cancelled" in again["payload"]["message"]


def _assert_no_sleepers() -> None:
    """No `sleep 60/61/30` child of a killed command survives."""
    leftovers = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if cmdline[:1] == [b"sleep"] and cmdline[1:2] in ([b"60"], [b"61"], [b"30"]):
                leftovers.append(pid)
    assert not leftovers


async def test_two_missions_run_concurrently(sprite, client):
    slow = await client.send("mission", {"text": "!sleep 1; echo slow"})
    fast = await client.send("mission", {"text": "!echo fast"})
    slow_id = (await client.wait_for(lambda f: f.get("id") == slow))["payload"]["mission_id"]
    fast_id = (await client.wait_for(lambda f: f.get("id") == fast))["payload"]["mission_id"]
    first_done = await client.mission_done()
    assert first_done["payload"]["mission_id"] == fast_id
    await client.mission_done(slow_id)
    await asyncio.sleep(0)
