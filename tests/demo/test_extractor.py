"""The deterministic extractor goes through the agents' own tools and citation check: its spans
verify, a wrong span is flagged (never trusted), and it is not a model for anything else."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sprite.agents import UnavailableRunner, create_runner, store
from sprite.agents.scope import MissionScope
from sprite.demo_extractor import (
    AGENT,
    NOT_A_MODEL,
    DemoExtractorRunner,
    Reading,
    Toolbox,
    read_invoice,
)
from sprite.missions import MissionContext
from sprite.storage import Storage
from stackdocs.config import SpriteSettings
from stackdocs.demo import facts
from stackdocs.demo.missions import STACK_COLUMNS, STACK_NAME, STACK_TABLE_NAME
from tests.demo.conftest import run_async

TOKEN = "demo-extractor-test-token-0123456789"


def settings(**overrides: Any) -> SpriteSettings:
    values: dict[str, Any] = {
        "token": TOKEN,
        "ocr": "local",
        "model": None,
        "anthropic_base_url": None,
        "mistral_base_url": None,
        "proxy_token": None,
        "max_upload_mb": 20,
        "shell_timeout_seconds": 30,
    }
    values.update(overrides)
    return SpriteSettings(**values)


class Recorder:
    """The mission's emit: keeps every frame (what the runtime would persist and broadcast)."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, msg_type: str, payload: dict[str, Any]) -> None:
        self.frames.append((msg_type, payload))

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [p for t, p in self.frames if t == "agent_event" and p["event_type"] == kind]


async def storage_with_invoices(root: Path, demo_pages) -> tuple[Storage, dict[str, str]]:
    """agent.db holding the demo invoices' real OCR pages (the ingest pipeline's output)."""
    storage = await Storage.open(root / "agent.db")
    ids = {}
    for number, invoice in enumerate(facts.INVOICES):
        document_id = f"doc-{number}"
        await storage.insert_document(
            document_id=document_id,
            filename=invoice.filename,
            original_filename=invoice.filename,
            file_path=f"documents/{document_id}_{invoice.filename}",
            size_bytes=1,
            mime_type=invoice.mime_type,
            sha256="0" * 64,
        )
        pages = demo_pages[invoice.filename]
        await storage.save_ocr_result(
            document_id=document_id,
            pages=[(p["page"], p["text"], p["method"], 0) for p in pages],
            raw_text="\n".join(p["text"] for p in pages),
            text_path=f"ocr/{document_id}.md",
            page_count=len(pages),
            layout={},
            processing_time_ms=1,
            usage={},
            model="test",
            engine="local",
        )
        ids[invoice.number] = document_id
    return storage, ids


def context(root: Path, storage: Storage, text: str, emit: Recorder) -> MissionContext:
    return MissionContext(
        mission_id="mission-1",
        text=text,
        workspace=root,
        storage=storage,
        settings=settings(demo_extractor=True),
        emit=emit,
        cancelled=asyncio.Event(),
        resume_session_id=None,
    )


def test_spans_verify_and_a_wrong_span_is_flagged_by_the_agents_check(tmp_path, demo_pages):
    run_async(_spans_verify_and_a_wrong_span_is_flagged_by_the_agents_check(tmp_path, demo_pages))


async def _spans_verify_and_a_wrong_span_is_flagged_by_the_agents_check(tmp_path, demo_pages):
    storage, ids = await storage_with_invoices(tmp_path, demo_pages)
    try:
        emit = Recorder()
        ctx = context(tmp_path, storage, "(test)", emit)
        scope = MissionScope(storage=storage, workspace=tmp_path, model="test")
        scope.bind(ctx.mission_id, emit)
        tools = Toolbox(scope, ctx)
        created = await tools.call(
            "create_stack", {"name": STACK_NAME, "document_ids": list(ids.values())}
        )
        stack_id = created.split("stack_id=")[1].split()[0]
        defined = await tools.call(
            "define_stack_table",
            {
                "stack_id": stack_id,
                "name": STACK_TABLE_NAME,
                "columns": [{"name": n, "type": t} for n, t in STACK_COLUMNS],
            },
        )
        table_id = defined.split("table_id=")[1].split(",")[0]

        meridian = facts.invoice_by_number("MDC-2026-014")
        readings = read_invoice(demo_pages[meridian.filename])
        good = {name: r.cited() for name, r in readings.items()}
        total = readings["Total"]
        # The same value, cited one line up (the subtotal's amount): the check must catch it.
        page_text = demo_pages[meridian.filename][total.page - 1]["text"]
        subtotal_at = page_text.index(facts.money(meridian.subtotal))
        wrong = Reading(
            total.value,
            total.page,
            subtotal_at,
            subtotal_at + len(facts.money(meridian.subtotal)),
            total.method,
        )
        await tools.call(
            "fill_stack_rows",
            {
                "table_id": table_id,
                "rows": [
                    {"document_id": ids["MDC-2026-014"], "cells": good},
                    {
                        "document_id": ids["NW-2026-0117"],
                        "cells": {
                            **{
                                n: r.cited()
                                for n, r in read_invoice(
                                    demo_pages[facts.invoice_by_number("NW-2026-0117").filename]
                                ).items()
                            },
                        },
                    },
                ],
            },
        )
        result = await tools.call(
            "fill_stack_rows",
            {
                "table_id": table_id,
                "rows": [{"document_id": ids["MDC-2026-014"], "cells": {"Total": wrong.cited()}}],
            },
        )
        assert "1 FLAGGED" in result

        flagged = [c for c in scope.draft.cell_changes if c.after.flagged]
        assert [(c.document_id, c.column) for c in flagged] == [(ids["MDC-2026-014"], "Total")]
        reason = flagged[0].after.flag_reason or ""
        assert f"the cited text '{facts.money(meridian.subtotal)}' does not contain" in reason
        verified = [c for c in scope.draft.cell_changes if not c.after.flagged]
        assert len(verified) == 2 * len(STACK_COLUMNS)
        for change in verified:
            source = change.after.source
            assert source["text"] == source["text"].strip() and source["text"]
        meridian_total = next(
            c for c in verified if c.document_id == ids["MDC-2026-014"] and c.column == "Total"
        )
        assert meridian_total.after.source["page"] == 2
        assert meridian_total.after.source["text"] == facts.money(meridian.total)

        # The tool calls were reported like an agent's, by the demo extractor.
        starts = [e for e in emit.events("tool") if e["meta"]["phase"] == "start"]
        assert [e["meta"]["tool"] for e in starts] == [
            "create_stack",
            "define_stack_table",
            "fill_stack_rows",
            "fill_stack_rows",
        ]
        assert {e["meta"]["agent"] for e in emit.events("tool")} == {AGENT}
    finally:
        await storage.close()


def test_a_wrong_span_on_another_value_is_flagged_with_the_reason(tmp_path, demo_pages):
    run_async(_a_wrong_span_on_another_value_is_flagged_with_the_reason(tmp_path, demo_pages))


async def _a_wrong_span_on_another_value_is_flagged_with_the_reason(tmp_path, demo_pages):
    storage, ids = await storage_with_invoices(tmp_path, demo_pages)
    try:
        emit = Recorder()
        ctx = context(tmp_path, storage, "(test)", emit)
        scope = MissionScope(storage=storage, workspace=tmp_path, model="test")
        scope.bind(ctx.mission_id, emit)
        tools = Toolbox(scope, ctx)
        atlas = facts.invoice_by_number("AOS-58812")
        readings = read_invoice(demo_pages[atlas.filename])
        number = readings["Invoice number"]
        shifted = Reading(number.value, number.page, number.start + 4, number.end + 4, "x")
        await tools.call(
            "save_extraction",
            {
                "document_id": ids["AOS-58812"],
                "fields": [
                    {"name": "Invoice number", **shifted.cited()},
                    {"name": "Vendor", **readings["Vendor"].cited()},
                ],
            },
        )
        changes = {c.name: c.after for c in scope.draft.field_changes}
        assert changes["Invoice number"].flagged
        assert "does not contain the value 'AOS-58812'" in changes["Invoice number"].flag_reason
        assert not changes["Vendor"].flagged
        assert changes["Vendor"].source["text"] == atlas.vendor
    finally:
        await storage.close()


def test_the_whole_invoice_mission_commits_verified_cells(tmp_path, demo_pages):
    run_async(_the_whole_invoice_mission_commits_verified_cells(tmp_path, demo_pages))


async def _the_whole_invoice_mission_commits_verified_cells(tmp_path, demo_pages):
    storage, _ids = await storage_with_invoices(tmp_path, demo_pages)
    try:
        emit = Recorder()
        from stackdocs.demo.missions import SEED_MISSIONS

        text = next(m.text for m in SEED_MISSIONS if m.key == "invoice-stack")
        runner = DemoExtractorRunner(settings(demo_extractor=True))
        await runner.run(context(tmp_path, storage, text, emit))
        [complete] = emit.events("complete")
        assert complete["meta"]["agent"] == AGENT
        assert "Saved 42 table cell(s)" in complete["content"]
        [stack] = await storage.list_stacks()
        table = stack["tables"][0]
        cells = await store.committed_cells(storage, table["id"])
        assert len(cells) == 42 and not any(c.flagged for c in cells.values())
        # Running the mission again refills the same table: nothing is duplicated.
        await runner.run(context(tmp_path, storage, text, Recorder()))
        assert len(await storage.list_stacks()) == 1
        assert len(await store.committed_cells(storage, table["id"])) == 42
    finally:
        await storage.close()


def test_any_other_mission_gets_one_clear_error(tmp_path):
    run_async(_any_other_mission_gets_one_clear_error(tmp_path))


async def _any_other_mission_gets_one_clear_error(tmp_path):
    storage = await Storage.open(tmp_path / "agent.db")
    try:
        for text in ("Summarise my documents", "!ls"):
            emit = Recorder()
            await DemoExtractorRunner(settings()).run(context(tmp_path, storage, text, emit))
            assert [t for t, _ in emit.frames] == ["agent_event"]
            [error] = emit.events("error")
            assert error["content"] == NOT_A_MODEL
    finally:
        await storage.close()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"demo_extractor": True}, DemoExtractorRunner),
        ({}, UnavailableRunner),
    ],
)
def test_the_demo_extractor_runs_only_when_asked_and_without_a_model(overrides, expected):
    assert type(create_runner(settings(**overrides))) is expected


def test_a_model_always_wins_over_the_demo_extractor():
    runner = create_runner(
        settings(
            demo_extractor=True,
            anthropic_base_url="http://127.0.0.1:9/proxy/anthropic",
            proxy_token="sdp_test",
        )
    )
    assert type(runner).__name__ == "CrewRunner"


def test_the_flag_is_read_and_checked_by_config():
    env = {"SPRITE_TOKEN": TOKEN, "STACKDOCS_DEMO_EXTRACTOR": "1"}
    assert SpriteSettings.from_env(env).demo_extractor is True
    assert SpriteSettings.from_env({"SPRITE_TOKEN": TOKEN}).demo_extractor is False
    from stackdocs.config import ConfigError

    with pytest.raises(ConfigError, match="STACKDOCS_DEMO_EXTRACTOR"):
        SpriteSettings.from_env({**env, "STACKDOCS_DEMO_EXTRACTOR": "maybe"})
