"""Stack tools: create a stack of documents, add documents, define a table's columns, fill its
rows (one per document, every cell cited and checked like an extracted field), read it back and
show it on the canvas.

Creating stacks and tables takes effect at once (clients get a ``stack_update``); cell values go
to the mission's draft and are saved with the rest of its work.
"""

from __future__ import annotations

from typing import Any

from claude_agent_sdk import SdkMcpTool, tool

from sprite.agents import store
from sprite.agents.drafts import CellChange
from sprite.agents.scope import MissionScope
from sprite.agents.tools import (
    SOURCE_SCHEMA,
    STRING_OR_ARRAY,
    ToolInputError,
    confidence_arg,
    guarded,
    json_arg,
    ok,
    text_arg,
)
from sprite.agents.tools.canvas import publish, stack_table_artifact_id, stack_table_data
from sprite.agents.tools.citing import check_value, cite

COLUMN_TYPES = ("text", "number", "date", "currency", "boolean")
MAX_COLUMNS = 100
MAX_ROWS_PER_CALL = 500


def _id_list(raw: Any, what: str) -> list[str]:
    ids = json_arg(raw, what) if raw is not None else []
    if not isinstance(ids, list) or not all(isinstance(i, str) and i.strip() for i in ids):
        raise ToolInputError(f"'{what}' must be a list of document ids")
    return [i.strip() for i in ids]


def stack_tools(scope: MissionScope) -> list[SdkMcpTool[Any]]:
    async def announce(stack_id: str) -> dict[str, Any]:
        stack = await scope.storage.get_stack(stack_id)
        if stack is None:
            raise ToolInputError(f"no stack with id {stack_id!r}")
        await scope.publish("stack_update", {"stack": stack})
        return stack

    @tool(
        "create_stack",
        "Create a stack: a named collection of documents to compare or tabulate together."
        " Returns the stack id.",
        {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "description": {"type": "string"},
                "document_ids": {"type": STRING_OR_ARRAY, "items": {"type": "string"}},
            },
            "required": ["name"],
        },
    )
    @guarded
    async def create_stack(args: dict[str, Any]) -> dict[str, Any]:
        name = text_arg(args, "name", limit=255)
        description = text_arg(args, "description", required=False, limit=2000) or None
        document_ids = _id_list(args.get("document_ids"), "document_ids")
        stack = await scope.storage.create_stack(name, document_ids, description)
        await announce(stack["id"])
        return ok(f"Stack {name!r} created: stack_id={stack['id']} with "
                  f"{len(stack['document_ids'])} document(s).")

    @tool(
        "add_stack_documents",
        "Add documents to a stack.",
        {
            "type": "object",
            "properties": {
                "stack_id": {"type": "string"},
                "document_ids": {"type": STRING_OR_ARRAY, "items": {"type": "string"}},
            },
            "required": ["stack_id", "document_ids"],
        },
    )
    @guarded
    async def add_stack_documents(args: dict[str, Any]) -> dict[str, Any]:
        stack_id = text_arg(args, "stack_id", limit=128)
        document_ids = _id_list(args.get("document_ids"), "document_ids")
        if not document_ids:
            raise ToolInputError("'document_ids' is empty")
        added = await store.add_stack_documents(scope.storage, stack_id, document_ids)
        stack = await announce(stack_id)
        return ok(f"Added {len(added)} document(s); the stack now has "
                  f"{len(stack['document_ids'])}.")

    @tool(
        "define_stack_table",
        "Define a table in a stack: its name and columns [{name, type, description}] (type is"
        " one of text, number, date, currency, boolean). Each document of the stack becomes a"
        " row. Returns the table id.",
        {
            "type": "object",
            "properties": {
                "stack_id": {"type": "string"},
                "name": {"type": "string"},
                "columns": {
                    "type": STRING_OR_ARRAY,
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "type": {"type": "string", "enum": list(COLUMN_TYPES)},
                            "description": {"type": "string"},
                        },
                        "required": ["name"],
                    },
                },
            },
            "required": ["stack_id", "name", "columns"],
        },
    )
    @guarded
    async def define_stack_table(args: dict[str, Any]) -> dict[str, Any]:
        stack_id = text_arg(args, "stack_id", limit=128)
        name = text_arg(args, "name", limit=255)
        raw_columns = json_arg(args.get("columns"), "columns")
        if not isinstance(raw_columns, list) or not raw_columns:
            raise ToolInputError("'columns' must be a non-empty list of {name, type}")
        if len(raw_columns) > MAX_COLUMNS:
            raise ToolInputError(f"at most {MAX_COLUMNS} columns")
        columns, seen = [], set()
        for raw in raw_columns:
            raw = {"name": raw} if isinstance(raw, str) else raw
            if not isinstance(raw, dict) or not str(raw.get("name") or "").strip():
                raise ToolInputError("each column needs a name")
            column_name = str(raw["name"]).strip()[:100]
            if column_name in seen:
                raise ToolInputError(f"column {column_name!r} appears twice")
            seen.add(column_name)
            kind = str(raw.get("type") or "text")
            if kind not in COLUMN_TYPES:
                raise ToolInputError(f"column {column_name!r}: type must be one of "
                                     f"{', '.join(COLUMN_TYPES)}")
            column = {"name": column_name, "type": kind}
            if raw.get("description"):
                column["description"] = str(raw["description"])[:500]
            columns.append(column)
        table_id = await store.create_stack_table(scope.storage, stack_id, name, columns)
        await announce(stack_id)
        return ok(f"Table {name!r} defined: table_id={table_id}, columns "
                  f"{', '.join(c['name'] for c in columns)}.")

    @tool(
        "fill_stack_rows",
        "Fill rows of a stack table: one row per document, each cell {value, confidence,"
        " source: {page, quote}} citing that document's OCR text. Citations are checked; a"
        " value its source does not show is kept FLAGGED. Saved with the mission's work.",
        {
            "type": "object",
            "properties": {
                "table_id": {"type": "string"},
                "rows": {
                    "type": STRING_OR_ARRAY,
                    "items": {
                        "type": "object",
                        "properties": {
                            "document_id": {"type": "string"},
                            "cells": {
                                "type": "object",
                                "description": "column name -> {value, confidence, source}",
                                "additionalProperties": {
                                    "type": "object",
                                    "properties": {
                                        "value": {},
                                        "confidence": {"type": "number"},
                                        "source": SOURCE_SCHEMA,
                                    },
                                },
                            },
                        },
                        "required": ["document_id", "cells"],
                    },
                },
            },
            "required": ["table_id", "rows"],
        },
    )
    @guarded
    async def fill_stack_rows(args: dict[str, Any]) -> dict[str, Any]:
        table_id = text_arg(args, "table_id", limit=128)
        table = await store.get_stack_table(scope.storage, table_id)
        if table is None:
            raise ToolInputError(f"no stack table with id {table_id!r}")
        columns = {c["name"] for c in table["columns"]}
        members = set(await store.stack_document_ids(scope.storage, table["stack_id"]))
        rows = json_arg(args.get("rows"), "rows")
        if not isinstance(rows, list) or not rows:
            raise ToolInputError("'rows' must be a non-empty list of {document_id, cells}")
        if len(rows) > MAX_ROWS_PER_CALL:
            raise ToolInputError(f"at most {MAX_ROWS_PER_CALL} rows per call")
        changes: list[CellChange] = []
        lines: list[str] = []
        for number, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise ToolInputError(f"row {number} must be an object {{document_id, cells}}")
            doc = await scope.document(row.get("document_id"))
            if doc["id"] not in members:
                raise ToolInputError(f"{doc['filename']} is not in this stack; add it with "
                                     "add_stack_documents first")
            cells = json_arg(row.get("cells"), f"row {number} cells")
            if not isinstance(cells, dict) or not cells:
                raise ToolInputError(f"row {number}: 'cells' must map column names to values")
            for column, cell in cells.items():
                if column not in columns:
                    raise ToolInputError(f"row {number}: no column {column!r} (columns: "
                                         f"{', '.join(sorted(columns))})")
                cell = cell if isinstance(cell, dict) and "value" in cell else {"value": cell}
                where = f"{doc['filename']} · {column}"
                value = check_value(cell.get("value"), where)
                confidence = (
                    confidence_arg(cell["confidence"], where)
                    if cell.get("confidence") is not None else None
                )
                cited, verdict = await cite(
                    scope, value, cell.get("source"), default_document_id=doc["id"],
                    confidence=confidence, where=where,
                )
                changes.append(CellChange(table_id, doc["id"], column, cited))
                lines.append(f"- {where}: {verdict.describe()}")
        scope.draft.cell_changes.extend(changes)
        flagged = sum(1 for c in changes if c.after.flagged)
        head = f"Staged {len(changes)} cell(s) in {len(rows)} row(s)"
        head += f", {flagged} FLAGGED" if flagged else ", all verified"
        return ok("\n".join([head + ".", *lines]))

    @tool(
        "read_stack",
        "Read a stack: its documents and tables, with each table's columns and cell values"
        " (including this mission's unsaved rows).",
        {
            "type": "object",
            "properties": {"stack_id": {"type": "string"}},
            "required": ["stack_id"],
        },
    )
    @guarded
    async def read_stack(args: dict[str, Any]) -> dict[str, Any]:
        stack_id = text_arg(args, "stack_id", limit=128)
        stack = await scope.storage.get_stack(stack_id)
        if stack is None:
            raise ToolInputError(f"no stack with id {stack_id!r}")
        await scope.refresh_filenames()
        lines = [f"Stack {stack['name']!r} (id={stack['id']}), documents:"]
        lines += [f"- {scope.filenames.get(d, d)} (id={d})" for d in stack["document_ids"]]
        for table in stack["tables"]:
            data, _ = await stack_table_data(scope, table["id"])
            lines.append(f"Table {table['name']!r} (table_id={table['id']}): "
                         f"{' | '.join(data['columns'])}")
            for row in data["rows"]:
                shown = [row[0]] + [
                    "" if cell is None else
                    f"{cell['value']}{' [FLAGGED]' if cell.get('flagged') else ''}"
                    for cell in row[1:]
                ]
                lines.append("  " + " | ".join(str(v) for v in shown))
        return ok("\n".join(lines))

    @tool(
        "show_stack_table",
        "Show a stack table on the canvas, one row per document, values linked to their"
        " sources. The same artifact is updated when rows change.",
        {
            "type": "object",
            "properties": {"table_id": {"type": "string"}, "title": {"type": "string"}},
            "required": ["table_id"],
        },
    )
    @guarded
    async def show_stack_table(args: dict[str, Any]) -> dict[str, Any]:
        table_id = text_arg(args, "table_id", limit=128)
        data, name = await stack_table_data(scope, table_id)
        title = text_arg(args, "title", required=False, limit=300) or name
        artifact_id = await publish(
            scope, "table", title, data, stack_table_artifact_id(table_id)
        )
        return ok(f"Table shown: artifact_id={artifact_id} ({len(data['rows'])} rows).")

    return [
        create_stack,
        add_stack_documents,
        define_stack_table,
        fill_stack_rows,
        read_stack,
        show_stack_table,
    ]
