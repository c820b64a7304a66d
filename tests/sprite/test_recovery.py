"""Crashes and stops leave a consistent workspace; a restart picks up where it was."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sqlite3

from tests.sprite import documents
from tests.sprite.conftest import SpriteClient, connect, workspace_files


async def test_kill_9_during_ingest_then_restart_finishes_the_document(make_sprite):
    sprite = make_sprite()
    data = documents.scanned_pdf(pages=4)  # several seconds of OCR: the kill lands mid-way
    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        reply = await client.upload("scanned.pdf", data)
        document_id = reply["payload"]["document_id"]
        for _ in range(400):  # until the worker has started on it
            if sprite.query("SELECT 1 FROM documents WHERE ingest_attempts = 1"):
                break
            await asyncio.sleep(0.01)
        sprite.kill()
    (doc,) = sprite.query("SELECT status, ingest_attempts, file_path FROM documents")
    assert doc["status"] == "processing" and doc["ingest_attempts"] == 1
    assert sprite.query("SELECT * FROM ocr_results") == []

    restarted = make_sprite(sprite.workspace)
    async with connect(restarted) as ws:
        client = SpriteClient(ws)
        state = await client.request("state_request")
        assert [d["status"] for d in state["payload"]["documents"]] in (
            ["processing"],
            ["ocr_complete"],
        )
        for _ in range(1200):  # re-queued on start: wait for it to finish
            (row,) = restarted.query("SELECT status FROM documents")
            if row["status"] != "processing":
                break
            await asyncio.sleep(0.05)
        content = await client.request("document_request", {"document_id": document_id})
    payload = content["payload"]
    assert payload["status"] == "ocr_complete"
    assert len(payload["pages"]) == 4 and "Scanned page 4" in payload["pages"][3]["text"]
    (doc,) = restarted.query("SELECT ingest_attempts, file_path FROM documents")
    assert doc["ingest_attempts"] == 2
    assert (restarted.workspace / doc["file_path"]).read_bytes() == data
    assert workspace_files(restarted.workspace) == {doc["file_path"], f"ocr/{document_id}.md"}


async def test_a_document_that_keeps_killing_the_sprite_is_failed_not_retried(make_sprite):
    sprite = make_sprite()
    async with connect(sprite) as ws:
        reply = await SpriteClient(ws).upload("scanned.pdf", documents.scanned_pdf(pages=3))
        document_id = reply["payload"]["document_id"]
        sprite.kill()
    # As if the restart had died on it again: the second attempt was cut short too.
    with sqlite3.connect(sprite.workspace / "agent.db") as conn:
        conn.execute("UPDATE documents SET ingest_attempts = 2")
    restarted = make_sprite(sprite.workspace)
    async with connect(restarted) as ws:
        state = await SpriteClient(ws).request("state_request")
    (doc,) = state["payload"]["documents"]
    assert doc["id"] == document_id and doc["status"] == "failed"
    assert "interrupted 2 times" in doc["error"] and "upload it again" in doc["error"]


async def test_kill_9_during_a_chunked_upload_leaves_no_trace(make_sprite):
    sprite = make_sprite()
    data = documents.many_page_text_pdf(pages=5)
    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        await client.request(
            "file_upload_start",
            {
                "upload_id": "u",
                "filename": "half.pdf",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        )
        await client.request(
            "file_upload_chunk",
            {"upload_id": "u", "seq": 0, "data": base64.b64encode(data[:1000]).decode()},
        )
        sprite.kill()
    (leftover,) = (sprite.workspace / "documents").iterdir()
    assert leftover.name.startswith(".tmp-")
    restarted = make_sprite(sprite.workspace)
    async with connect(restarted) as ws:
        state = await SpriteClient(ws).request("state_request")
    assert state["payload"]["documents"] == []
    assert workspace_files(restarted.workspace) == set()


async def test_restart_repairs_files_a_crash_or_a_user_left_inconsistent(make_sprite):
    sprite = make_sprite()
    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        kept = (await client.upload("kept.txt", b"kept text"))["payload"]["document_id"]
        gone = (await client.upload("gone.txt", b"gone text"))["payload"]["document_id"]
        await client.wait_document(kept)
        await client.wait_document(gone)
    sprite.terminate()
    ws_root = sprite.workspace
    (ws_root / f"ocr/{kept}.md").unlink()  # cached text removed: rebuilt from the database
    (ws_root / f"documents/{gone}_gone.txt").unlink()  # stored file removed by hand
    orphan = ws_root / "documents/0b5a1e7c-2f4d-4c61-9d0e-6a4f3c2b1a09_never-recorded.txt"
    orphan.write_text("crash between rename and insert")
    (ws_root / "ocr/0b5a1e7c-2f4d-4c61-9d0e-6a4f3c2b1a09.md").write_text("orphan text")
    (ws_root / "documents/my own notes.txt").write_text("put here from the shell: kept")
    (ws_root / "ocr/.tmp-123-half.md").write_text("half")
    (ws_root / "artifacts/.tmp-9-x.log").write_text("half")

    restarted = make_sprite(ws_root)
    async with connect(restarted) as ws:
        state = await SpriteClient(ws).request("state_request")
    statuses = {d["id"]: (d["status"], d["error"]) for d in state["payload"]["documents"]}
    assert statuses[kept] == ("ocr_complete", None)
    assert statuses[gone] == ("failed", "the stored file is missing from documents/")
    assert (ws_root / f"ocr/{kept}.md").read_text() == "<!-- page 1 -->\nkept text\n\n"
    assert workspace_files(ws_root) == {
        f"documents/{kept}_kept.txt",
        f"ocr/{kept}.md",
        f"ocr/{gone}.md",
        "documents/my own notes.txt",  # a user's own file is never swept
    }


async def test_sigterm_interrupts_running_missions_and_restart_reports_them(make_sprite):
    sprite = make_sprite()
    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        reply = await client.request("mission", {"text": "!echo working; sleep 60"})
        mission_id = reply["payload"]["mission_id"]
        await client.wait_for(
            lambda f: f["type"] == "canvas_update" and f["payload"]["data"]["output"] == "working\n"
        )
        assert sprite.terminate() == 0
    assert "stopping" in sprite.log()

    restarted = make_sprite(sprite.workspace)
    async with connect(restarted) as ws:
        state = (await SpriteClient(ws).request("state_request"))["payload"]
    (mission,) = state["missions"]
    assert mission["id"] == mission_id and mission["status"] == "interrupted"
    assert mission["events"][-1]["meta"] == {"status": "interrupted"}
    (artifact,) = state["artifacts"]
    assert artifact["data"]["status"] == "interrupted"
    assert artifact["data"]["output"] == "working\n"
    assert (restarted.workspace / artifact["data"]["log_path"]).read_text() == "working\n"


async def test_kill_9_during_a_mission_is_reported_interrupted_after_restart(make_sprite):
    sprite = make_sprite()
    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        reply = await client.request("mission", {"text": "!sleep 60"})
        mission_id = reply["payload"]["mission_id"]
        sprite.kill()
    restarted = make_sprite(sprite.workspace)
    async with connect(restarted) as ws:
        state = (await SpriteClient(ws).request("state_request"))["payload"]
    (mission,) = state["missions"]
    assert mission["id"] == mission_id and mission["status"] == "interrupted"
    assert "Interrupted" in mission["events"][-1]["content"]


async def test_sigterm_during_ingest_finishes_or_requeues_without_counting_a_crash(make_sprite):
    sprite = make_sprite()
    async with connect(sprite) as ws:
        reply = await SpriteClient(ws).upload("scanned.pdf", documents.scanned_pdf(pages=2))
        document_id = reply["payload"]["document_id"]
        for _ in range(400):  # until the worker has started on it
            if sprite.query("SELECT 1 FROM documents WHERE ingest_attempts = 1"):
                break
            await asyncio.sleep(0.01)
        assert sprite.terminate() == 0
    (doc,) = sprite.query("SELECT status, ingest_attempts FROM documents")
    assert (doc["status"], doc["ingest_attempts"]) in (("ocr_complete", 1), ("processing", 0))

    restarted = make_sprite(sprite.workspace)
    async with connect(restarted) as ws:
        client = SpriteClient(ws)
        for _ in range(1200):
            (row,) = restarted.query("SELECT status FROM documents")
            if row["status"] != "processing":
                break
            await asyncio.sleep(0.05)
        content = await client.request("document_request", {"document_id": document_id})
    assert content["payload"]["status"] == "ocr_complete"
    assert restarted.query("SELECT ingest_attempts FROM documents") == [{"ingest_attempts": 1}]
