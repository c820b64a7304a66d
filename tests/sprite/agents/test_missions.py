"""Missions end to end: the real Sprite runtime and WebSocket server, the crew on the real
Claude Agent SDK and CLI, the real bridge proxy injecting the real key, the scripted fake model.

Sprite (runtime + CrewRunner) ──WS── test client
   └─ claude CLI ──HTTP──▶ bridge /proxy/anthropic (token → real key) ──▶ fake Anthropic API
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sprite.agents.runner import CrewRunner
from stackdocs.config import SpriteSettings
from tests.fakes.anthropic_api import FakeAnthropicAPI
from tests.sprite.agents import scripts
from tests.sprite.agents.conftest import Proxy
from tests.sprite.agents.support import (
    REAL_KEY,
    in_process_sprite,
    invoice_pdf,
    rows,
    sprite_settings,
)


def cli_processes() -> list[int]:
    """Claude CLI processes started by this test process (its descendants)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"_bundled/claude" in cmdline:
                found.append(child)
    return found


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


class Runners:
    """A runner factory that keeps the runners it made (to count the CLIs they started)."""

    def __init__(self, **options) -> None:
        self.made: list[CrewRunner] = []
        self.options = options

    def __call__(self, settings: SpriteSettings) -> CrewRunner:
        runner = CrewRunner(settings, **self.options)
        self.made.append(runner)
        return runner


def files_containing(root: Path, needle: bytes) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle in path.read_bytes():
                    hits.append(path)
            except OSError:
                pass
    return hits


async def test_extraction_then_a_follow_up_correction_resumes_the_session(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    workspace = tmp_path / "workspace"
    settings = sprite_settings(proxy.base_url, proxy.token)
    runners = Runners()
    async with in_process_sprite(workspace, settings, runners) as sprite, sprite.client() as client:
        doc = await client.upload("invoice.pdf", invoice_pdf(), "application/pdf")
        fake.add(*scripts.extraction(doc))
        mission_id, events = await client.mission(scripts.EXTRACT_MISSION)
        assert [r.name for r in fake.unmatched] == [], [r.last_user_text for r in fake.unmatched]

        # -- the events tell the story, readably, and end with one completion
        kinds = [e["event_type"] for e in events]
        assert kinds[-1] == "complete" and kinds.count("complete") == 1
        assert "error" not in kinds
        tools = [e for e in events if e["event_type"] == "tool"]
        starts = [e["content"] for e in tools if e["meta"]["phase"] == "start"]
        assert starts == [
            "Asking the analyst: Extract the invoice",
            "Reading OCR of invoice.pdf",
            "Saving 5 extracted field(s) of invoice.pdf",
            "Showing the extraction of invoice.pdf",
            "Drawing chart “Invoice amounts”",
            "Saving the extraction",
        ]
        assert [e["meta"]["agent"] for e in tools if e["meta"]["phase"] == "start"] == [
            "commander",
            *["analyst"] * 5,
        ]
        ends = [e for e in tools if e["meta"]["phase"] == "end"]
        assert len(ends) == 6 and all(e["meta"]["ok"] for e in ends)
        # Text: the commander's words only (not the analyst's), streamed, coalesced.
        text = "".join(e["content"] for e in events if e["event_type"] == "text")
        assert text == "I'll ask the analyst to extract it." + scripts.FINAL_ANSWER
        text_frames = sum(1 for e in events if e["event_type"] == "text")
        deltas = len(scripts.FINAL_ANSWER) // 2
        assert text_frames < deltas / 4, (text_frames, deltas)
        complete = events[-1]
        assert complete["meta"]["status"] == "completed" and complete["meta"]["tools"] == 6
        session_id = complete["meta"]["session_id"]

        # -- canvas: the extraction table (cited cells) and the chart
        canvas = client.events(mission_id, "canvas_update")
        table = next(c for c in canvas if c["artifact_type"] == "table")
        chart = next(c for c in canvas if c["artifact_type"] == "chart")
        assert table["artifact_id"] == f"extraction-{doc}"
        assert chart["data"] == scripts.AMOUNTS_FIGURE and chart["title"] == "Invoice amounts"
        by_field = {row[0]: row for row in table["data"]["rows"]}
        assert by_field["total"][1]["source"]["text"] == "Subtotal: $1,250.00"
        assert by_field["payment_terms"][1]["flagged"] is True

        # -- SQLite: fields with verified citations, one flagged; mission and session
        db = workspace / "agent.db"
        pages = {
            p["page_number"]: p["text"]
            for p in rows(
                db, "SELECT page_number, text FROM ocr_pages WHERE document_id = ?", (doc,)
            )
        }
        saved = {f["name"]: f for f in rows(db, "SELECT * FROM extraction_fields")}
        assert set(saved) == {"vendor", "invoice_number", "date", "total", "payment_terms"}
        for field in saved.values():
            assert field["source_document_id"] == doc
            span = pages[field["source_page"]][field["source_start"] : field["source_end"]]
            assert span == field["source_text"]
        assert saved["payment_terms"]["flagged"] == 1
        assert [n for n, f in saved.items() if f["flagged"]] == ["payment_terms"]
        [mission] = rows(db, "SELECT * FROM missions WHERE id = ?", (mission_id,))
        assert mission["status"] == "completed" and mission["session_id"] == session_id
        persisted = [
            json.loads(r["payload"])
            for r in rows(
                db,
                "SELECT payload FROM mission_events WHERE mission_id = ? ORDER BY id",
                (mission_id,),
            )
        ]
        assert persisted == events  # a reload redraws exactly what was streamed
        stored = {a["artifact_type"] for a in rows(db, "SELECT * FROM artifacts")}
        assert stored == {"table", "chart"}

        # -- the key: the model saw the real one, the Sprite side only its proxy token
        requests = fake.message_requests()
        assert requests and all(r.api_key == REAL_KEY for r in requests)
        assert all(proxy.token not in json.dumps(r.headers) for r in requests)
        [cli] = cli_processes()
        env = environ_of(cli)
        assert env["ANTHROPIC_API_KEY"] == proxy.token
        assert env["ANTHROPIC_BASE_URL"] == proxy.base_url
        assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
        assert env["SPRITE_TOKEN"] == ""
        assert REAL_KEY not in "\0".join(f"{k}={v}" for k, v in env.items())
        assert REAL_KEY not in json.dumps(dict(os.environ))

        # -- follow-up in the thread: the same live CLI, the same SDK session
        fake.add(*scripts.correction(doc))
        follow_id, follow = await client.mission(scripts.CORRECTION_MISSION, mission_id=mission_id)
        assert follow[-1]["event_type"] == "complete", follow[-1]
        assert follow[-1]["meta"]["session_id"] == session_id
        assert runners.made[0].clients_started == 1  # no new CLI for the follow-up
        assert cli_processes() == [cli]
        resumed_request = fake.message_requests()[-1]
        assert scripts.EXTRACT_MISSION in json.dumps(resumed_request.messages)
        total = rows(db, "SELECT * FROM extraction_fields WHERE name = 'total'")[0]
        assert (json.loads(total["value"]), total["flagged"]) == (1375, 0)
        assert total["source_text"] == "Total: $1,375.00"
        history = rows(
            db, "SELECT * FROM extraction_field_history WHERE name = 'total' ORDER BY id"
        )
        assert [h["action"] for h in history] == ["extracted", "corrected"]
        assert json.loads(history[1]["before"])["value"] == 1250
        assert history[1]["reason"] == "the total includes tax"
        assert history[1]["mission_id"] == follow_id
        [thread] = {m["thread_id"] for m in rows(db, "SELECT thread_id FROM missions")}
        assert thread == mission_id
        request = await client.send("extraction_request", {"document_id": doc})
        reply = await client.until(lambda f: f.get("id") == request)
        assert reply["type"] == "extraction"
        fields = {f["name"]: f for f in reply["payload"]["fields"]}
        assert fields["total"]["value"] == 1375 and fields["total"]["corrections"] == 1
        assert fields["total"]["source"]["start"] == pages[1].index("Total: $1,375.00")
        assert fields["payment_terms"]["flagged"] is True

    # -- the Sprite stops (its CLIs with it) and starts again: the thread resumes from disk
    assert cli_processes() == []
    assert files_containing(workspace, REAL_KEY.encode()) == []
    fake.add(*[r for r in scripts.correction(doc)])
    async with in_process_sprite(workspace, settings, runners) as sprite, sprite.client() as client:
        _again_id, again = await client.mission(scripts.CORRECTION_MISSION, mission_id=follow_id)
        assert again[-1]["event_type"] == "complete", again[-1]
        assert again[-1]["meta"]["session_id"] == session_id
        assert runners.made[1].clients_started == 1
        history_sent = json.dumps(fake.message_requests()[-1].messages)
        assert scripts.EXTRACT_MISSION in history_sent and "payment_terms" in history_sent
