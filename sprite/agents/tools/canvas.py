"""Publishing artifacts to the canvas: tables, markdown, JSON, Plotly charts, extractions.

Each tool emits one ``canvas_update`` (persisted by the runtime, then broadcast) and answers the
artifact id, which the agent passes back to replace that artifact later. Data shapes follow the
canvas (app/canvas): a table is ``{columns, rows}`` whose cells are scalars or cited values
``{value, source: {document_id, page, start, end, text}, flagged?}``; markdown is ``{text}``; a
chart is a Plotly figure ``{data: [traces], layout}``, checked with plotly before it is shown.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from claude_agent_sdk import SdkMcpTool, tool

from sprite.agents import store
from sprite.agents.drafts import CitedValue
from sprite.agents.scope import MissionScope
from sprite.agents.tools import (
    STRING_OR_ARRAY,
    STRING_OR_OBJECT,
    ToolInputError,
    guarded,
    json_arg,
    ok,
    text_arg,
)
from sprite.agents.tools.citing import cite

MAX_TABLE_ROWS = 200_000
MAX_TABLE_COLUMNS = 200
MAX_MARKDOWN_CHARS = 500_000
MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_FIGURE_BYTES = 8 * 1024 * 1024


def new_artifact_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def cited_cell(value: CitedValue) -> dict[str, Any]:
    cell: dict[str, Any] = {"value": value.value}
    if value.source is not None:
        cell["source"] = value.source
    if value.flagged:
        cell["flagged"] = True
        cell["flag_reason"] = value.flag_reason
    return cell


async def publish(
    scope: MissionScope, artifact_type: str, title: str, data: Any, artifact_id: str | None
) -> str:
    artifact_id = artifact_id or new_artifact_id(artifact_type)
    await scope.publish(
        "canvas_update",
        {
            "artifact_id": artifact_id,
            "artifact_type": artifact_type,
            "title": title,
            "data": data,
            "mission_id": scope.mission_id,
        },
    )
    return artifact_id


def extraction_artifact_id(document_id: str) -> str:
    return f"extraction-{document_id}"


def stack_table_artifact_id(table_id: str) -> str:
    return f"stack-table-{table_id}"


async def extraction_table(scope: MissionScope, document_id: str) -> dict[str, Any]:
    """The document's fields (saved, with this mission's unsaved changes laid over) as table
    data with cited value cells."""
    committed = await store.committed_fields(scope.storage, document_id)
    fields = scope.draft.fields_over(document_id, committed)
    rows = []
    for name, value in fields.items():
        source = value.source or {}
        rows.append(
            [
                name,
                cited_cell(value),
                value.confidence,
                source.get("page"),
                "flagged: " + (value.flag_reason or "") if value.flagged else "verified",
            ]
        )
    return {"columns": ["Field", "Value", "Confidence", "Page", "Check"], "rows": rows}


async def publish_extraction(scope: MissionScope, document_id: str, title: str | None) -> str:
    doc = await scope.document(document_id)
    data = await extraction_table(scope, doc["id"])
    return await publish(
        scope, "table", title or f"Extraction · {doc['filename']}", data,
        extraction_artifact_id(doc["id"]),
    )


async def stack_table_data(scope: MissionScope, table_id: str) -> tuple[dict[str, Any], str]:
    table = await store.get_stack_table(scope.storage, table_id)
    if table is None:
        raise ToolInputError(f"no stack table with id {table_id!r}")
    columns = [c["name"] for c in table["columns"]]
    cells = scope.draft.cells_over(table_id, await store.committed_cells(scope.storage, table_id))
    document_ids = await store.stack_document_ids(scope.storage, table["stack_id"])
    for document_id, _column in cells:
        if document_id not in document_ids:
            document_ids.append(document_id)
    if not scope.filenames:
        await scope.refresh_filenames()
    rows = []
    for document_id in document_ids:
        row: list[Any] = [scope.filenames.get(document_id, document_id)]
        for column in columns:
            value = cells.get((document_id, column))
            row.append(None if value is None else cited_cell(value))
        rows.append(row)
    return {"columns": ["Document", *columns], "rows": rows}, table["name"]


def _validate_table(columns: Any, rows: Any) -> tuple[list[Any], list[Any]]:
    columns = json_arg(columns, "columns")
    rows = json_arg(rows, "rows")
    if not isinstance(columns, list) or not columns:
        raise ToolInputError("'columns' must be a non-empty list of column names")
    if len(columns) > MAX_TABLE_COLUMNS:
        raise ToolInputError(f"at most {MAX_TABLE_COLUMNS} columns")
    if not isinstance(rows, list):
        raise ToolInputError("'rows' must be a list of rows (lists or objects)")
    if len(rows) > MAX_TABLE_ROWS:
        raise ToolInputError(f"at most {MAX_TABLE_ROWS} rows")
    for number, row in enumerate(rows, 1):
        if isinstance(row, list):
            if len(row) != len(columns):
                raise ToolInputError(
                    f"row {number} has {len(row)} cells but there are {len(columns)} columns"
                )
        elif not isinstance(row, dict):
            raise ToolInputError(f"row {number} must be a list of cells or an object")
    return columns, rows


async def _check_cited_cells(scope: MissionScope, rows: list[Any]) -> int:
    """Cells given as ``{value, source}`` get their citation checked; returns how many were
    flagged."""
    flagged = 0
    for row in rows:
        cells = row if isinstance(row, list) else list(row.values())
        for index, cell in enumerate(cells):
            if not (isinstance(cell, dict) and "value" in cell and "source" in cell):
                continue
            source = cell.get("source")
            default_doc = source.get("document_id") if isinstance(source, dict) else None
            if not default_doc:
                raise ToolInputError("a cited cell's source needs document_id and page")
            checked, _ = await cite(
                scope, cell["value"], source, default_document_id=default_doc,
                confidence=None, where="table cell",
            )
            replacement = cited_cell(checked)
            flagged += int(checked.flagged)
            if isinstance(row, list):
                row[index] = replacement
            else:
                row[list(row.keys())[index]] = replacement
    return flagged


def validate_figure(figure: Any) -> dict[str, Any]:
    """A Plotly figure dict checked by plotly itself (raises ToolInputError with its reason)."""
    import plotly.graph_objects as go

    figure = json_arg(figure, "figure")
    if not isinstance(figure, dict) or not isinstance(figure.get("data", []), list):
        raise ToolInputError("'figure' must be a Plotly figure {data: [traces], layout: {}}")
    if len(json.dumps(figure, default=str)) > MAX_FIGURE_BYTES:
        raise ToolInputError("the figure is larger than 8 MB; aggregate the data first")
    checked = {"data": figure.get("data", []), "layout": figure.get("layout", {}) or {}}
    if figure.get("frames"):
        checked["frames"] = figure["frames"]
    try:
        go.Figure(checked)
    except (ValueError, TypeError) as exc:
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        raise ToolInputError(
            "not a valid Plotly figure: " + " ".join(lines[:6])[:800]
        ) from None
    return checked


def canvas_tools(scope: MissionScope) -> list[SdkMcpTool[Any]]:
    artifact_id_schema = {
        "type": "string",
        "description": "give the id of an artifact you published earlier to replace it",
    }

    @tool(
        "show_table",
        "Show a table on the canvas. 'rows' are lists aligned with 'columns' (or objects keyed"
        " by column). A cell may be a cited value {value, source: {document_id, page, quote}}"
        " — its citation is checked. Returns the artifact id.",
        {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "columns": {"type": STRING_OR_ARRAY, "items": {"type": "string"}},
                "rows": {"type": STRING_OR_ARRAY},
                "artifact_id": artifact_id_schema,
            },
            "required": ["title", "columns", "rows"],
        },
    )
    @guarded
    async def show_table(args: dict[str, Any]) -> dict[str, Any]:
        title = text_arg(args, "title", limit=300)
        columns, rows = _validate_table(args.get("columns"), args.get("rows"))
        flagged = await _check_cited_cells(scope, rows)
        artifact_id = await publish(
            scope, "table", title, {"columns": columns, "rows": rows}, args.get("artifact_id")
        )
        note = f" {flagged} cited cell(s) FLAGGED: their source does not show the value." \
            if flagged else ""
        return ok(f"Table shown: artifact_id={artifact_id} ({len(rows)} rows).{note}")

    @tool(
        "show_markdown",
        "Show a markdown document on the canvas (a report, a summary, notes). Returns the"
        " artifact id.",
        {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "text": {"type": "string"},
                "artifact_id": artifact_id_schema,
            },
            "required": ["title", "text"],
        },
    )
    @guarded
    async def show_markdown(args: dict[str, Any]) -> dict[str, Any]:
        title = text_arg(args, "title", limit=300)
        text = text_arg(args, "text", limit=MAX_MARKDOWN_CHARS)
        artifact_id = await publish(
            scope, "markdown", title, {"text": text}, args.get("artifact_id")
        )
        return ok(f"Markdown shown: artifact_id={artifact_id}.")

    @tool(
        "show_json",
        "Show JSON data on the canvas as a collapsible tree. Returns the artifact id.",
        {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "data": {"description": "any JSON value"},
                "artifact_id": artifact_id_schema,
            },
            "required": ["title", "data"],
        },
    )
    @guarded
    async def show_json(args: dict[str, Any]) -> dict[str, Any]:
        title = text_arg(args, "title", limit=300)
        if "data" not in args:
            raise ToolInputError("'data' is required")
        data = args["data"]
        if len(json.dumps(data, default=str)) > MAX_JSON_BYTES:
            raise ToolInputError("the data is larger than 8 MB")
        artifact_id = await publish(scope, "json", title, data, args.get("artifact_id"))
        return ok(f"JSON shown: artifact_id={artifact_id}.")

    @tool(
        "show_chart",
        "Show a chart on the canvas: a Plotly figure {data: [traces], layout: {...}} (for"
        " example {data: [{type: 'bar', x: [...], y: [...]}], layout: {title: {text: '...'}}})."
        " It is validated by plotly; an invalid figure is refused with the reason. Returns the"
        " artifact id.",
        {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "figure": {"type": STRING_OR_OBJECT},
                "artifact_id": artifact_id_schema,
            },
            "required": ["title", "figure"],
        },
    )
    @guarded
    async def show_chart(args: dict[str, Any]) -> dict[str, Any]:
        title = text_arg(args, "title", limit=300)
        # plotly's validation is CPU work: keep it off the event loop.
        figure = await asyncio.to_thread(validate_figure, args.get("figure"))
        artifact_id = await publish(scope, "chart", title, figure, args.get("artifact_id"))
        return ok(f"Chart shown: artifact_id={artifact_id} ({len(figure['data'])} trace(s)).")

    @tool(
        "show_extraction",
        "Show a document's extracted fields on the canvas as a table whose values link to their"
        " source in the document (flagged values marked). Shows unsaved changes of this mission"
        " too; the same artifact is updated after corrections.",
        {
            "type": "object",
            "properties": {"document_id": {"type": "string"}, "title": {"type": "string"}},
            "required": ["document_id"],
        },
    )
    @guarded
    async def show_extraction(args: dict[str, Any]) -> dict[str, Any]:
        title = text_arg(args, "title", required=False, limit=300) or None
        artifact_id = await publish_extraction(scope, args.get("document_id"), title)
        return ok(f"Extraction shown: artifact_id={artifact_id}.")

    return [show_table, show_markdown, show_json, show_chart, show_extraction]
