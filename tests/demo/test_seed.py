"""Seeding through the real product (bridge API, sandboxed Sprite process, /ws, local OCR),
idempotence, reset through the checkpoint machinery, and clear refusals.

The workspace is inspected in its ``agent.db`` (read-only, after the seeding bridge stopped)."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bridge.providers import sprite_name_for
from stackdocs.config import BridgeSettings
from stackdocs.demo import facts
from stackdocs.demo.missions import SEED_MISSIONS, STACK_COLUMNS, STACK_NAME
from stackdocs.demo.seed import (
    DEMO_USER,
    WorkspaceClient,
    checkpoint_comment,
    serve_seeding_bridge,
)
from stackdocs.demo_launch import ensure_demo, prepare_demo
from tests.demo.conftest import run_async
from tests.support.processes import free_port

pytestmark = pytest.mark.slow


def settings_for(data_dir: Path, **env: str) -> BridgeSettings:
    return BridgeSettings.from_env({"STACKDOCS_DATA_DIR": str(data_dir), **env}, port=free_port())


def sprite_dir(data_dir: Path) -> Path:
    return data_dir / "sprites" / sprite_name_for(DEMO_USER)


def query(data_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    path = sprite_dir(data_dir) / "workspace" / "agent.db"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute(sql, params)]
    finally:
        db.close()


def inventory(data_dir: Path) -> dict[str, Any]:
    return {
        "documents": sorted(
            (r["filename"], r["status"])
            for r in query(data_dir, "SELECT filename, status FROM documents")
        ),
        "stacks": [r["name"] for r in query(data_dir, "SELECT name FROM stacks")],
        "missions": sorted(
            (r["text"], r["status"]) for r in query(data_dir, "SELECT text, status FROM missions")
        ),
        "artifacts": sorted(
            (r["artifact_type"], r["title"])
            for r in query(data_dir, "SELECT artifact_type, title FROM artifacts")
        ),
        "cells": len(query(data_dir, "SELECT 1 FROM stack_table_cells")),
    }


def checkpoints(data_dir: Path) -> list[str]:
    folder = sprite_dir(data_dir) / "checkpoints"
    return sorted(
        json.loads((p / "checkpoint.json").read_text())["comment"]
        for p in folder.iterdir()
        if (p / "checkpoint.json").exists()
    )


def say_into(lines: list[str]):
    return lines.append


def test_seed_is_complete_cited_idempotent_and_reset_restores_it(tmp_path):
    run_async(_seed_is_complete_cited_idempotent_and_reset_restores_it(tmp_path))


async def _seed_is_complete_cited_idempotent_and_reset_restores_it(tmp_path):
    data = tmp_path / "data"
    settings = settings_for(data)
    lines: list[str] = []

    assert await ensure_demo(settings, reset=False, live=False, say=say_into(lines)) == "seeded"
    seeded = inventory(data)

    # Every document through the real pipeline: the scan by Tesseract, the rest by text layer
    # or conversion, each with its text file in ocr/.
    assert [name for name, _ in seeded["documents"]] == sorted(
        [i.filename for i in facts.INVOICES] + [facts.CONTRACT.filename, facts.LEDGER_FILENAME]
    )
    assert {status for _, status in seeded["documents"]} == {"ocr_complete"}
    methods = {
        r["filename"]: r["method"]
        for r in query(
            data,
            "SELECT d.filename, p.method FROM ocr_pages p JOIN documents d ON d.id = p.document_id",
        )
    }
    scan = next(i for i in facts.INVOICES if i.scanned)
    assert methods[scan.filename] == "tesseract"
    for doc in query(data, "SELECT id FROM documents"):
        assert (sprite_dir(data) / "workspace" / "ocr" / f"{doc['id']}.md").is_file()

    # The story on the canvas: one artifact of every type, every seed mission completed.
    assert {t for t, _ in seeded["artifacts"]} == {"table", "markdown", "json", "terminal", "chart"}
    assert len(seeded["artifacts"]) == 5
    assert seeded["missions"] == sorted((m.text, "completed") for m in SEED_MISSIONS)
    assert seeded["stacks"] == [STACK_NAME]

    # The stack table: one row per invoice, every cell cited and verified on its page.
    cells = query(
        data,
        "SELECT d.filename, c.column_name, c.value, c.source_page, c.source_start,"
        " c.source_end, c.source_text, c.flagged, c.source_document_id = c.document_id AS own"
        " FROM stack_table_cells c JOIN documents d ON d.id = c.document_id",
    )
    assert len(cells) == len(facts.INVOICES) * len(STACK_COLUMNS)
    pages = {
        (r["document_id"], r["page_number"]): r["text"]
        for r in query(data, "SELECT document_id, page_number, text FROM ocr_pages")
    }
    ids = {r["filename"]: r["id"] for r in query(data, "SELECT id, filename FROM documents")}
    for cell in cells:
        assert cell["flagged"] == 0 and cell["own"] == 1, cell
        text = pages[(ids[cell["filename"]], cell["source_page"])]
        assert text[cell["source_start"] : cell["source_end"]] == cell["source_text"]
    rows: dict[str, dict[str, Any]] = {}
    for cell in cells:
        rows.setdefault(cell["filename"], {})[cell["column_name"]] = json.loads(cell["value"])
    for invoice in facts.INVOICES:
        assert rows[invoice.filename]["Total"] == facts.money(invoice.total)
        assert rows[invoice.filename]["Vendor"] == invoice.vendor
        assert rows[invoice.filename]["Due date"] == invoice.due.isoformat()
    contract_fields = query(data, "SELECT name, flagged FROM extraction_fields")
    assert sorted(f["name"] for f in contract_fields) == sorted(
        t.name for t in facts.CONTRACT.terms
    )
    assert not any(f["flagged"] for f in contract_fields)
    terminal = query(data, "SELECT data FROM artifacts WHERE artifact_type = 'terminal'")[0]
    output = json.loads(terminal["data"])["output"]
    for invoice in facts.INVOICES:
        assert (
            f"Invoice number: {invoice.number}\tTotal due: {facts.money(invoice.total)}" in output
        )
    assert checkpoints(data) == [checkpoint_comment(False)]
    assert any("checkpoint v1" in line for line in lines)

    # Twice: nothing is duplicated, nothing is run again.
    assert await ensure_demo(settings, reset=False, live=False, say=say_into(lines)) == "kept"
    assert inventory(data) == seeded
    assert checkpoints(data) == [checkpoint_comment(False)]

    # The presenter changes things during a demo (a new mission, a file deleted in the shell).
    async with serve_seeding_bridge(settings, live=False) as (ws_url, bridge):
        import websockets

        async with websockets.connect(ws_url) as ws:
            client = WorkspaceClient(ws)
            await client.send("auth", {"token": bridge.mint_local_token(DEMO_USER)})
            await client.send("mission", {"text": "!rm documents/*atlas* && echo gone"})
            await client.wait(
                lambda f: (
                    f["type"] == "agent_event"
                    and f["payload"]["event_type"] in ("complete", "error")
                ),
                60,
                "the shell mission",
            )
            await client.close()
    changed = inventory(data)
    assert changed != seeded
    assert len(changed["missions"]) == len(SEED_MISSIONS) + 1

    # --reset: back to the seeded state from the checkpoint, without seeding again.
    assert await ensure_demo(settings, reset=True, live=False, say=say_into(lines)) == "restored"
    assert inventory(data) == seeded
    atlas = facts.invoice_by_number("AOS-58812").filename
    assert list((sprite_dir(data) / "workspace" / "documents").glob(f"*{atlas}"))
    assert checkpoints(data) == [checkpoint_comment(False)]


def test_reset_without_a_current_seed_checkpoint_seeds_from_an_empty_workspace(tmp_path):
    run_async(_reset_without_a_current_seed_checkpoint_seeds_from_an_empty_workspace(tmp_path))


async def _reset_without_a_current_seed_checkpoint_seeds_from_an_empty_workspace(tmp_path):
    data = tmp_path / "data"
    settings = settings_for(data)
    # A demo user with a workspace but no seed of this version (e.g. an older demo's).
    async with serve_seeding_bridge(settings, live=False) as (ws_url, bridge):
        import websockets

        async with websockets.connect(ws_url) as ws:
            client = WorkspaceClient(ws)
            await client.send("auth", {"token": bridge.mint_local_token(DEMO_USER)})
            await client.send("mission", {"text": "!echo leftover > leftover.txt"})
            await client.wait(
                lambda f: f["type"] == "agent_event" and f["payload"]["event_type"] == "complete",
                60,
                "the shell mission",
            )
            await client.request(
                "checkpoint_create", {"comment": "Demo seed v0 (old)"}, "checkpoints"
            )
            await client.close()
    assert (sprite_dir(data) / "workspace" / "leftover.txt").exists()

    assert await ensure_demo(settings, reset=True, live=False, say=lambda _l: None) == "seeded"
    assert not (sprite_dir(data) / "workspace" / "leftover.txt").exists()
    assert checkpoints(data) == [checkpoint_comment(False)]
    assert len(inventory(data)["missions"]) == len(SEED_MISSIONS)


def test_refusals_are_one_clear_line(tmp_path, capsys):
    data = tmp_path / "data"
    clerk = BridgeSettings.from_env(
        {
            "STACKDOCS_DATA_DIR": str(data),
            "STACKDOCS_AUTH": "clerk",
            "CLERK_JWKS_URL": "https://clerk.example/.well-known/jwks.json",
            "CLERK_ISSUER": "https://clerk.example",
        },
        port=free_port(),
    )
    with pytest.raises(SystemExit) as exited:
        prepare_demo(clerk, reset=False, live=False)
    assert exited.value.code == 2
    assert "local issuer" in capsys.readouterr().err

    with pytest.raises(SystemExit):
        prepare_demo(settings_for(data), reset=False, live=True)
    err = capsys.readouterr().err
    assert "--live" in err and "ANTHROPIC_API_KEY" in err

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = BridgeSettings.from_env(
            {"STACKDOCS_DATA_DIR": str(data)}, port=taken.getsockname()[1]
        )
        with pytest.raises(SystemExit):
            prepare_demo(busy, reset=False, live=False)
    assert "already in use" in capsys.readouterr().err
    assert not (data / "sprites").exists()  # nothing was seeded on the way


def test_live_sends_the_same_missions_to_the_agents_through_the_proxy(tmp_path):
    run_async(_live_sends_the_same_missions_to_the_agents_through_the_proxy(tmp_path))


async def _live_sends_the_same_missions_to_the_agents_through_the_proxy(tmp_path):
    """--live: the agents get the seed missions (the model here is the scripted fake, which
    just answers in words); what they did not produce is reported, the seed is labelled."""
    from tests.fakes.anthropic_api import FakeAnthropicAPI, anything, rule, text_reply

    key = "sk-ant-demo-live-test-0123456789abcdefghijklmnop"
    fake = FakeAnthropicAPI([rule(anything, text_reply("Noted."), repeat=True)]).start()
    try:
        data = tmp_path / "data"
        settings = settings_for(data, ANTHROPIC_API_KEY=key, ANTHROPIC_UPSTREAM_URL=fake.url)
        lines: list[str] = []
        assert await ensure_demo(settings, reset=False, live=True, say=lines.append) == "seeded"
        asked = [r.last_user_text for r in fake.message_requests()]
        for mission in SEED_MISSIONS:
            sent = [text for text in asked if mission.text in text]
            # Shell missions never reach a model; every other one does, word for word.
            assert bool(sent) is (not mission.is_shell), mission.key
        assert {r.api_key for r in fake.message_requests()} == {key}  # injected by the bridge
        assert checkpoints(data) == [checkpoint_comment(True)]
        assert any("warning:" in line and STACK_NAME in line for line in lines)
        # The agents ran them, not the deterministic extractor (which a later plain start,
        # keeping the live seed, does not run either).
        assert await ensure_demo(settings, reset=False, live=False, say=lines.append) == "kept"
        assert not query(data, "SELECT 1 FROM mission_events WHERE payload LIKE '%demo-extractor%'")
        assert query(data, "SELECT 1 FROM mission_events WHERE payload LIKE '%Noted.%'")
    finally:
        fake.stop()
