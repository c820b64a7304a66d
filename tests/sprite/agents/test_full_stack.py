"""The whole path, as a user's browser drives it: /ws on the bridge (a real JWT) → the user's
Sprite started by the local provider in its bubblewrap sandbox → the crew's CLI inside it →
the bridge's /proxy/anthropic (the real key injected) → the scripted fake model.

The real key exists only in the bridge's settings and in what the fake received: not in the
Sprite's environment, not in its CLI's, not anywhere in its workspace.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.bridge.conftest import serve_bridge
from tests.fakes.anthropic_api import FakeAnthropicAPI
from tests.sprite.agents import scripts
from tests.sprite.agents.support import REAL_KEY, invoice_pdf, rows
from tests.sprite.agents.test_missions import environ_of, files_containing

USER = "dana"


def cmdline_of(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def final_of(mission_id: str):
    return lambda f: (
        f["type"] == "agent_event"
        and f["payload"].get("mission_id") == mission_id
        and f["payload"]["event_type"] in ("complete", "error")
    )


async def test_a_mission_through_the_bridge_and_the_sandboxed_sprite(
    tmp_path: Path, fake: FakeAnthropicAPI
) -> None:
    async with serve_bridge(
        tmp_path / "data", ANTHROPIC_API_KEY=REAL_KEY, ANTHROPIC_UPSTREAM_URL=fake.url
    ) as running:
        try:
            async with running.client(USER) as client:
                await client.send(
                    "file_upload",
                    {
                        "filename": "invoice.pdf",
                        "mime_type": "application/pdf",
                        "data": base64.b64encode(invoice_pdf()).decode(),
                    },
                    id="up",
                )
                first = await client.until(lambda f: f.get("id") == "up")
                doc = first["payload"]["document_id"]
                await client.until(
                    lambda f: (
                        f["type"] == "document_event"
                        and f["payload"]["status"] in ("ocr_complete", "completed")
                    )
                )
                fake.add(*scripts.extraction(doc))
                await client.send("mission", {"text": scripts.EXTRACT_MISSION}, id="m1")
                started = await client.until(lambda f: f.get("id") == "m1", within=120)
                mission_id = started["payload"]["mission_id"]
                end = await client.until(final_of(mission_id), within=120)
                assert end["payload"]["event_type"] == "complete", end
                charts = [
                    f
                    for f in client.frames
                    if f["type"] == "canvas_update" and f["payload"]["artifact_type"] == "chart"
                ]
                assert charts and charts[0]["payload"]["data"] == scripts.AMOUNTS_FIGURE

                fake.add(*scripts.correction(doc))
                await client.send(
                    "mission",
                    {"text": scripts.CORRECTION_MISSION, "mission_id": mission_id},
                    id="m2",
                )
                follow = await client.until(lambda f: f.get("id") == "m2", within=120)
                follow_id = follow["payload"]["mission_id"]
                end = await client.until(final_of(follow_id), within=120)
                assert end["payload"]["event_type"] == "complete", end

                # Where the key is, and where it is not.
                assert all(r.api_key == REAL_KEY for r in fake.message_requests())
                sprite_pid = running.runtime_python_pid(USER)
                sprite_env = environ_of(sprite_pid)
                proxy_token = sprite_env["STACKDOCS_PROXY_TOKEN"]
                assert sprite_env["ANTHROPIC_BASE_URL"] == f"{running.url}/proxy/anthropic"
                clis = [
                    pid
                    for pid in running.runtime_pids(USER)
                    if b"_bundled/claude" in cmdline_of(pid)
                ]
                assert len(clis) == 1  # one live CLI served both turns of the thread
                cli_env = environ_of(clis[0])
                assert cli_env["ANTHROPIC_API_KEY"] == proxy_token
                for env in (sprite_env, cli_env):
                    assert REAL_KEY not in json.dumps(env)
                assert all(
                    proxy_token not in json.dumps(r.headers) for r in fake.message_requests()
                )

            workspace = running.workspace(USER)
            db = workspace / "agent.db"
            total = rows(
                db, "SELECT value, source_text FROM extraction_fields WHERE name = 'total'"
            )
            assert total == [{"value": "1375", "source_text": "Total: $1,375.00"}]
            history = rows(
                db, "SELECT action FROM extraction_field_history WHERE name = 'total' ORDER BY id"
            )
            assert [h["action"] for h in history] == ["extracted", "corrected"]
            sessions = list(
                (workspace / ".agents" / "home" / ".claude" / "projects").rglob("*.jsonl")
            )
            assert sessions  # the SDK session lives in the workspace (checkpointed with it)
            assert files_containing(workspace, REAL_KEY.encode()) == []
        finally:
            fake.release_hangs()
