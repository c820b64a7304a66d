"""The crew's tools against a real agent.db: citations checked, work staged then committed in
one transaction, corrections kept as history, canvas artifacts published, stacks tabulated."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from sprite.agents import crew, store
from sprite.agents.scope import MissionScope
from sprite.agents.tools import qualified
from sprite.agents.tools.canvas import canvas_tools
from sprite.agents.tools.documents import document_tools
from sprite.agents.tools.extraction import extraction_tools
from sprite.agents.tools.stacks import stack_tools
from sprite.storage import new_id
from tests.sprite.agents.conftest import InvoiceStore
from tests.sprite.agents.support import rows


class Recorder:
    def __init__(self) -> None:
        self.frames: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, msg_type: str, payload: dict[str, Any]) -> None:
        self.frames.append((msg_type, payload))

    def of(self, msg_type: str) -> list[dict[str, Any]]:
        return [p for t, p in self.frames if t == msg_type]


class Tools:
    def __init__(self, scope: MissionScope) -> None:
        built = [
            *document_tools(scope),
            *extraction_tools(scope),
            *canvas_tools(scope),
            *stack_tools(scope),
        ]
        self.by_name = {t.name: t for t in built}

    async def __call__(self, tool_name: str, /, **args: Any) -> tuple[str, bool]:
        result = await self.by_name[tool_name].handler(args)
        return result["content"][0]["text"], bool(result.get("is_error"))


@pytest.fixture
async def bench(invoice_store: InvoiceStore):
    storage = invoice_store.storage
    mission_id = new_id()
    await storage.create_mission(mission_id, "test mission", "agent")
    scope = MissionScope(
        storage=storage, workspace=invoice_store.workspace, model="fake-model", session_id="sess-1"
    )
    recorder = Recorder()
    scope.bind(mission_id, recorder)
    return invoice_store, scope, Tools(scope), recorder


def fields_in_db(store_: InvoiceStore) -> dict[str, dict[str, Any]]:
    return {
        r["name"]: r for r in rows(store_.workspace / "agent.db", "SELECT * FROM extraction_fields")
    }


def test_every_tool_in_a_whitelist_exists_with_a_valid_input_schema(tmp_path) -> None:
    scope = MissionScope(storage=None, workspace=tmp_path, model="m")  # type: ignore[arg-type]
    tools = Tools(scope).by_name
    for name, tool in tools.items():
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        assert tool.description, name
    listed = set(
        crew.COMMANDER_TOOLS + crew.RESEARCHER_TOOLS + crew.ANALYST_TOOLS + crew.CODER_TOOLS
    )
    assert listed <= set(tools), listed - set(tools)
    seed = {
        "read_ocr",
        "read_extraction",
        "save_extraction",
        "set_field",
        "delete_field",
        "complete",
        "save_metadata",
        "show_table",
        "show_markdown",
        "show_json",
        "show_chart",
        "list_documents",
        "create_stack",
        "add_stack_documents",
        "define_stack_table",
        "fill_stack_rows",
    }
    assert seed <= set(tools)
    definitions = crew.agents(tmp_path)
    assert set(definitions) == {"commander", "researcher", "analyst", "coder"}
    assert "Bash" not in definitions["analyst"].tools
    assert "Bash" in definitions["coder"].tools
    assert qualified("save_extraction") not in definitions["researcher"].tools
    assert definitions["commander"].tools[0] == "Agent"
    assert set(crew.allowed_tools()) >= set(definitions["analyst"].tools)


async def test_read_ocr_pages_and_search_give_citable_offsets(bench) -> None:
    invoice, _scope, call, _ = bench
    text, error = await call("read_ocr", document_id=invoice.document_id)
    assert not error
    assert "--- page 1 of 2 · characters 0-" in text and "Total: $1,375.00" in text
    assert "--- page 2 of 2" in text
    text, _ = await call(
        "read_ocr", document_id=invoice.document_id, page=1, max_chars=200, offset=100
    )
    assert "characters 100-112 of 112" in text and "characters 0-34 of 34" in text
    text, _ = await call(
        "read_ocr", document_id=invoice.document_id, max_chars=200, offset=10, page=1
    )
    text, _ = await call("read_ocr", document_id=invoice.document_id, page=2, max_chars=200)
    assert text.count("--- page") == 1 and "more text" not in text
    # A long page comes in parts, each saying where to go on.
    long_id = new_id()
    long_text = "".join(f"line {n:04d} of the appendix\n" for n in range(400))
    await invoice.storage.insert_document(
        document_id=long_id,
        filename="appendix.pdf",
        original_filename="appendix.pdf",
        file_path=f"documents/{long_id}_appendix.pdf",
        size_bytes=1,
        mime_type="application/pdf",
        sha256="1" * 64,
    )
    await invoice.storage.save_ocr_result(
        document_id=long_id,
        pages=[(1, long_text, "text_layer", 0)],
        raw_text=long_text,
        text_path=f"ocr/{long_id}.md",
        page_count=1,
        layout=None,
        processing_time_ms=1,
        usage={},
        model="t",
        engine="local",
    )
    text, _ = await call("read_ocr", document_id=long_id, max_chars=1000)
    assert "characters 0-1000 of 10400" in text
    assert "call read_ocr with page=1 offset=1000" in text
    text, _ = await call("read_ocr", document_id=long_id, offset=10000, max_chars=1000)
    assert "characters 10000-10400 of 10400" in text and "more text" not in text
    found, _ = await call("search_documents", query="total:  $1,375.00")
    start, end = (int(x) for x in found.split("[", 1)[1].split("]", 1)[0].split(":"))
    assert invoice.pages[0][start:end] == "Total: $1,375.00"
    text, error = await call("read_ocr", document_id="nope")
    assert error and "list_documents" in text
    text, error = await call("read_ocr", document_id=invoice.document_id, page=9)
    assert error and "2 page(s)" in text
    listing, _ = await call("list_documents")
    assert f"id={invoice.document_id} | invoice.pdf" in listing and "2 page(s)" in listing


async def test_extraction_is_staged_checked_then_committed_with_history(bench) -> None:
    invoice, _scope, call, recorder = bench
    doc = invoice.document_id
    text, error = await call(
        "save_extraction",
        document_id=doc,
        fields=[
            {
                "name": "vendor",
                "value": "Acme Supplies Ltd",
                "confidence": 0.97,
                "source": {"page": 1, "quote": "ACME SUPPLIES LTD"},
            },
            {
                "name": "total",
                "value": 1250,
                "confidence": 0.8,
                "source": {"page": 1, "quote": "Subtotal: $1,250.00"},
            },
            {
                "name": "due",
                "value": "60 days",
                "confidence": 0.4,
                "source": {"page": 2, "quote": "due within 30 days"},
            },
        ],
    )
    assert not error
    assert "Staged 3 field(s) of invoice.pdf, 1 FLAGGED" in text
    assert "- due: FLAGGED" in text
    # Staged, not saved: the database has nothing yet, but the mission's reads see it.
    assert fields_in_db(invoice) == {}
    seen, _ = await call("read_extraction", document_id=doc)
    assert "total = 1250" in seen and "unsaved in this mission" in seen

    text, _ = await call("complete")
    assert text == "Saved 3 field change(s) on 1 document(s), 1 flagged for review."
    saved = fields_in_db(invoice)
    total = saved["total"]
    assert (total["source_page"], total["flagged"]) == (1, 0)
    assert invoice.pages[0][total["source_start"] : total["source_end"]] == "Subtotal: $1,250.00"
    assert total["source_text"] == "Subtotal: $1,250.00"
    assert saved["due"]["flagged"] == 1 and "does not contain" in saved["due"]["flag_reason"]
    assert json.loads(saved["vendor"]["value"]) == "Acme Supplies Ltd"
    [extraction] = recorder.of("extraction")
    assert {f["name"] for f in extraction["fields"]} == {"vendor", "total", "due"}

    # A correction: the old source does not show the new value, so it is flagged …
    text, _ = await call(
        "set_field", document_id=doc, name="total", value=1375, reason="should include tax"
    )
    assert "FLAGGED" in text and "Total: $1,375.00" not in text and "[" in text
    # … and corrected again with the right source, then deleted field, then saved.
    text, _ = await call(
        "set_field",
        document_id=doc,
        name="total",
        value=1375,
        source={"page": 1, "quote": "Total: $1,375.00"},
        reason="with tax",
    )
    assert "(was 1375)" in text and "verified" in text
    text, _ = await call("delete_field", document_id=doc, name="due", reason="wrong")
    assert "Staged removal" in text
    text, error = await call("delete_field", document_id=doc, name="nothing")
    assert error and "fields: total, vendor" in text
    await call("complete")
    saved = fields_in_db(invoice)
    assert set(saved) == {"vendor", "total"}
    assert json.loads(saved["total"]["value"]) == 1375 and saved["total"]["flagged"] == 0
    history = await store.field_history(invoice.storage, doc, "total")
    assert [h["action"] for h in history] == ["extracted", "corrected", "corrected"]
    assert history[1]["before"]["value"] == 1250 and history[1]["after"]["flagged"] is True
    assert history[2]["reason"] == "with tax"
    assert history[2]["after"]["source"]["text"] == "Total: $1,375.00"
    snapshots = rows(
        invoice.workspace / "agent.db", "SELECT * FROM extractions ORDER BY created_at, rowid"
    )
    assert [s["is_correction"] for s in snapshots] == [0, 1]
    assert json.loads(snapshots[-1]["extracted_fields"]) == {
        "vendor": "Acme Supplies Ltd",
        "total": 1375,
    }
    assert all(s["session_id"] == "sess-1" for s in snapshots)
    [document] = rows(invoice.workspace / "agent.db", "SELECT session_id FROM documents")
    assert document["session_id"] == "sess-1"
    payload = await store.extraction_payload(invoice.storage, doc)
    total_field = next(f for f in payload["fields"] if f["name"] == "total")
    assert total_field["corrections"] == 2
    assert total_field["source"]["start"] == invoice.pages[0].index("Total: $1,375.00")


async def test_bad_input_is_refused_whole_and_nothing_is_staged(bench) -> None:
    invoice, scope, call, _ = bench
    doc = invoice.document_id
    for fields, message in [
        ([{"name": "a", "value": 1, "confidence": 2}], "confidence must be from 0 to 1"),
        (
            [
                {"name": "a", "value": 1, "confidence": 0.5},
                {"name": "a", "value": 2, "confidence": 0.5},
            ],
            "appears twice",
        ),
        ([{"name": "", "value": 1, "confidence": 0.5}], "'name' is required"),
        ([{"name": "a", "value": None, "confidence": 0.5}], "'value' is required"),
        ("not json", "must be JSON"),
        ([], "non-empty list"),
    ]:
        text, error = await call("save_extraction", document_id=doc, fields=fields)
        assert error and message in text, (fields, text)
    assert scope.draft.is_empty()
    # A JSON-encoded list (models do that) is accepted.
    text, error = await call(
        "save_extraction",
        document_id=doc,
        fields=json.dumps([{"name": "vendor", "value": "ACME SUPPLIES LTD", "confidence": 0.9}]),
    )
    assert not error and "no source cited" in text


async def test_a_failed_commit_writes_nothing(bench, monkeypatch) -> None:
    invoice, _scope, call, _ = bench
    doc = invoice.document_id
    await call(
        "save_extraction",
        document_id=doc,
        fields=[
            {
                "name": "vendor",
                "value": "ACME SUPPLIES LTD",
                "confidence": 0.9,
                "source": {"page": 1, "quote": "ACME SUPPLIES LTD"},
            },
            {
                "name": "total",
                "value": 1375,
                "confidence": 0.9,
                "source": {"page": 1, "quote": "Total: $1,375.00"},
            },
        ],
    )
    await call("save_metadata", document_id=doc, display_name="ACME invoice", tags=["invoice"])
    # The commit fails half-way through (after the snapshot row and a field were written).
    real_dump = store._dump
    calls = {"n": 0}

    def failing_dump(value):
        calls["n"] += 1
        if calls["n"] == 4:  # after the snapshot and the first field were written
            raise RuntimeError("disk full")
        return real_dump(value)

    monkeypatch.setattr(store, "_dump", failing_dump)
    with pytest.raises(RuntimeError, match="disk full"):  # the SDK reports it to the model
        await call("complete")
    monkeypatch.setattr(store, "_dump", real_dump)
    assert calls["n"] >= 4
    assert fields_in_db(invoice) == {}
    assert rows(invoice.workspace / "agent.db", "SELECT * FROM extractions") == []
    assert rows(invoice.workspace / "agent.db", "SELECT * FROM extraction_field_history") == []
    doc_row = rows(invoice.workspace / "agent.db", "SELECT display_name FROM documents")[0]
    assert doc_row["display_name"] is None


async def test_canvas_tools_publish_checked_artifacts(bench) -> None:
    invoice, scope, call, recorder = bench
    doc = invoice.document_id
    text, error = await call(
        "show_chart",
        title="Amounts",
        figure={
            "data": [{"type": "bar", "x": ["Subtotal", "Tax"], "y": [1250, 125]}],
            "layout": {"title": {"text": "Amounts"}},
        },
    )
    assert not error and "artifact_id=chart-" in text
    text, error = await call(
        "show_chart", title="Bad", figure={"data": [{"type": "bar", "colour": "red"}]}
    )
    assert error and "not a valid Plotly figure" in text and "colour" in text
    text, error = await call("show_chart", title="Bad", figure="[1, 2]")
    assert error and "Plotly figure" in text
    text, error = await call(
        "show_table",
        title="Lines",
        columns=["Item", "Amount"],
        rows=[
            [
                "Subtotal",
                {
                    "value": 1250,
                    "source": {"document_id": doc, "page": 1, "quote": "Subtotal: $1,250.00"},
                },
            ],
            ["Tax", {"value": 99, "source": {"document_id": doc, "page": 1, "quote": "Tax (10%)"}}],
        ],
    )
    assert not error and "1 cited cell(s) FLAGGED" in text
    text, error = await call("show_table", title="x", columns=["a", "b"], rows=[[1]])
    assert error and "row 1 has 1 cells but there are 2 columns" in text
    await call("show_markdown", title="Notes", text="# Invoice\nAll good.")
    await call("show_json", title="Raw", data={"a": [1, 2]})
    updates = recorder.of("canvas_update")
    assert [u["artifact_type"] for u in updates] == ["chart", "table", "markdown", "json"]
    table = updates[1]["data"]
    cell = table["rows"][0][1]
    assert cell["source"]["start"] == invoice.pages[0].index("Subtotal: $1,250.00")
    assert table["rows"][1][1]["flagged"] is True
    assert updates[2]["data"] == {"text": "# Invoice\nAll good."}
    assert all(u["mission_id"] == scope.mission_id for u in updates)
    # Replacing an artifact keeps its id.
    chart_id = updates[0]["artifact_id"]
    text, _ = await call(
        "show_chart",
        title="Amounts v2",
        artifact_id=chart_id,
        figure={"data": [{"type": "pie", "labels": ["a"], "values": [1]}]},
    )
    assert recorder.of("canvas_update")[-1]["artifact_id"] == chart_id


async def test_stack_tables_carry_cited_cells(bench) -> None:
    invoice, _scope, call, recorder = bench
    doc = invoice.document_id
    text, error = await call("create_stack", name="Q1 invoices", document_ids=[doc])
    assert not error
    stack_id = text.split("stack_id=")[1].split(" ")[0]
    text, _ = await call(
        "define_stack_table",
        stack_id=stack_id,
        name="Totals",
        columns=[{"name": "Vendor"}, {"name": "Total", "type": "currency"}],
    )
    table_id = text.split("table_id=")[1].split(",")[0]
    text, error = await call(
        "fill_stack_rows",
        table_id=table_id,
        rows=[
            {
                "document_id": doc,
                "cells": {
                    "Vendor": {
                        "value": "ACME SUPPLIES LTD",
                        "confidence": 0.9,
                        "source": {"page": 1, "quote": "ACME SUPPLIES LTD"},
                    },
                    "Total": {
                        "value": 1375,
                        "confidence": 0.9,
                        "source": {"page": 1, "quote": "Subtotal: $1,250.00"},
                    },
                },
            }
        ],
    )
    assert not error and "1 FLAGGED" in text
    text, error = await call(
        "fill_stack_rows", table_id=table_id, rows=[{"document_id": doc, "cells": {"Nope": 1}}]
    )
    assert error and "no column 'Nope'" in text
    text, _ = await call("show_stack_table", table_id=table_id)
    table = recorder.of("canvas_update")[-1]
    assert table["artifact_id"] == f"stack-table-{table_id}"
    assert table["data"]["columns"] == ["Document", "Vendor", "Total"]
    assert table["data"]["rows"][0][2]["flagged"] is True
    await call("complete")
    cells = rows(invoice.workspace / "agent.db", "SELECT * FROM stack_table_cells")
    assert {c["column_name"]: c["flagged"] for c in cells} == {"Vendor": 0, "Total": 1}
    vendor = next(c for c in cells if c["column_name"] == "Vendor")
    assert invoice.pages[0][vendor["source_start"] : vendor["source_end"]] == "ACME SUPPLIES LTD"
    [row] = rows(invoice.workspace / "agent.db", "SELECT * FROM stack_table_rows")
    assert json.loads(row["row_data"]) == {"Vendor": "ACME SUPPLIES LTD", "Total": 1375}
    stack_updates = recorder.of("stack_update")
    assert stack_updates[-1]["stack"]["tables"][0]["name"] == "Totals"
    # The committed rows redraw the table artifact that showed them.
    assert recorder.of("canvas_update")[-1]["artifact_id"] == f"stack-table-{table_id}"
    listing, _ = await call("read_stack", stack_id=stack_id)
    assert "Total" in listing and "1375 [FLAGGED]" in listing


async def test_tools_refuse_to_act_between_missions(bench) -> None:
    _invoice, scope, call, _ = bench
    scope.unbind()
    text, error = await call("show_markdown", title="x", text="y")
    assert error and "no mission is running" in text
