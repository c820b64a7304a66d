"""Extraction tools (the seed's set): read, save, correct and delete fields with citations,
complete (save the mission's work), and save a document's details.

Every field carries a value, a confidence (0–1) and a source in the OCR text. The source is
checked: a value its cited text does not show is kept but FLAGGED, and the answer tells the
agent where the value does appear, if anywhere. Changes go to the mission's draft and reach the
database together (see ``sprite.agents.drafts``).
"""

from __future__ import annotations

from typing import Any

from claude_agent_sdk import SdkMcpTool, tool

from sprite.agents import store
from sprite.agents.commit import commit_mission_work
from sprite.agents.drafts import CitedValue, FieldChange
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
from sprite.agents.tools.citing import check_value, cite

MAX_FIELDS_PER_CALL = 500
MAX_TAGS = 30


def _field_line(name: str, value: CitedValue) -> str:
    source = value.source or {}
    where = (
        f"page {source.get('page')} [{source.get('start')}:{source.get('end')}]"
        if source.get("page") is not None
        else "no source"
    )
    check = f"FLAGGED ({value.flag_reason})" if value.flagged else "verified"
    confidence = "?" if value.confidence is None else f"{value.confidence:.2f}"
    return f"- {name} = {value.value!r} · confidence {confidence} · {where} · {check}"


def _field_name(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ToolInputError(f"{where}: 'name' is required")
    name = raw.strip()
    if len(name) > 200:
        raise ToolInputError(f"{where}: field names are at most 200 characters")
    return name


def extraction_tools(scope: MissionScope) -> list[SdkMcpTool[Any]]:
    async def current(document_id: str) -> dict[str, CitedValue]:
        committed = await store.committed_fields(scope.storage, document_id)
        return scope.draft.fields_over(document_id, committed)

    @tool(
        "read_extraction",
        "Read the fields extracted from a document so far (saved ones, plus this mission's"
        " unsaved changes), each with its confidence, source span and check result.",
        {
            "type": "object",
            "properties": {"document_id": {"type": "string"}},
            "required": ["document_id"],
        },
    )
    @guarded
    async def read_extraction(args: dict[str, Any]) -> dict[str, Any]:
        doc = await scope.document(args.get("document_id"))
        fields = await current(doc["id"])
        if not fields:
            return ok(f"No fields extracted from {doc['filename']} yet.")
        lines = [f"{len(fields)} field(s) of {doc['filename']} (id={doc['id']}):"]
        lines += [_field_line(name, value) for name, value in fields.items()]
        if not scope.draft.is_empty():
            lines.append(f"(unsaved in this mission: {scope.draft.summary()})")
        return ok("\n".join(lines))

    @tool(
        "save_extraction",
        "Save extracted fields of a document. Each field: name, value, confidence (0-1) and"
        " source {page, quote} — quote the exact words of the OCR text that show the value (or"
        " give start/end offsets). The source is checked against the text; a value it does not"
        " support is saved FLAGGED for review. Fields already present are replaced.",
        {
            "type": "object",
            "properties": {
                "document_id": {"type": "string"},
                "fields": {
                    "type": STRING_OR_ARRAY,
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "value": {},
                            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                            "source": SOURCE_SCHEMA,
                        },
                        "required": ["name", "value", "confidence"],
                    },
                },
            },
            "required": ["document_id", "fields"],
        },
    )
    @guarded
    async def save_extraction(args: dict[str, Any]) -> dict[str, Any]:
        doc = await scope.document(args.get("document_id"))
        fields = json_arg(args.get("fields"), "fields")
        if not isinstance(fields, list) or not fields:
            raise ToolInputError("'fields' must be a non-empty list of {name, value, confidence,"
                                 " source}")
        if len(fields) > MAX_FIELDS_PER_CALL:
            raise ToolInputError(f"at most {MAX_FIELDS_PER_CALL} fields per call")
        # Check everything first: a bad field refuses the whole call, so nothing is half-saved.
        changes: list[FieldChange] = []
        lines: list[str] = []
        seen: set[str] = set()
        for number, raw in enumerate(fields, 1):
            if not isinstance(raw, dict):
                raise ToolInputError(f"field {number} must be an object")
            name = _field_name(raw.get("name"), f"field {number}")
            if name in seen:
                raise ToolInputError(f"field {name!r} appears twice")
            seen.add(name)
            where = f"field {name!r}"
            value = check_value(raw.get("value"), where)
            confidence = confidence_arg(raw.get("confidence"), where)
            cited, verdict = await cite(
                scope, value, raw.get("source"), default_document_id=doc["id"],
                confidence=confidence, where=where,
            )
            changes.append(FieldChange(doc["id"], name, "extracted", cited))
            lines.append(f"- {name}: {verdict.describe()}")
        scope.draft.field_changes.extend(changes)
        flagged = sum(1 for c in changes if c.after is not None and c.after.flagged)
        head = f"Staged {len(changes)} field(s) of {doc['filename']}"
        head += f", {flagged} FLAGGED" if flagged else ", all verified"
        head += ". They are saved when you call complete (or when the mission ends)."
        return ok("\n".join([head, *lines]))

    @tool(
        "set_field",
        "Correct (or add) one field of a document: new value, and optionally confidence, source"
        " {page, quote} and the reason. Without a source the field keeps its old one and the new"
        " value is checked against it. The old value is kept in the field's history.",
        {
            "type": "object",
            "properties": {
                "document_id": {"type": "string"},
                "name": {"type": "string"},
                "value": {},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "source": SOURCE_SCHEMA,
                "reason": {"type": "string"},
            },
            "required": ["document_id", "name", "value"],
        },
    )
    @guarded
    async def set_field(args: dict[str, Any]) -> dict[str, Any]:
        doc = await scope.document(args.get("document_id"))
        name = _field_name(args.get("name"), "set_field")
        where = f"field {name!r}"
        value = check_value(args.get("value"), where)
        previous = (await current(doc["id"])).get(name)
        if args.get("confidence") is not None:
            confidence = confidence_arg(args.get("confidence"), where)
        else:
            confidence = previous.confidence if previous and previous.confidence else 1.0
        source = args.get("source")
        if source is None and previous is not None and previous.source is not None:
            source = {k: previous.source.get(k) for k in ("document_id", "page", "start", "end")}
        cited, verdict = await cite(
            scope, value, source, default_document_id=doc["id"], confidence=confidence,
            where=where,
        )
        reason = text_arg(args, "reason", required=False, limit=1000) or None
        scope.draft.field_changes.append(
            FieldChange(doc["id"], name, "corrected" if previous else "extracted", cited, reason)
        )
        was = f" (was {previous.value!r})" if previous is not None else " (new field)"
        return ok(f"Staged {name} = {value!r}{was}: {verdict.describe()}.")

    @tool(
        "delete_field",
        "Remove a field from a document's extraction (kept in its history), with the reason.",
        {
            "type": "object",
            "properties": {
                "document_id": {"type": "string"},
                "name": {"type": "string"},
                "reason": {"type": "string"},
            },
            "required": ["document_id", "name"],
        },
    )
    @guarded
    async def delete_field(args: dict[str, Any]) -> dict[str, Any]:
        doc = await scope.document(args.get("document_id"))
        name = _field_name(args.get("name"), "delete_field")
        fields = await current(doc["id"])
        if name not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise ToolInputError(f"{doc['filename']} has no field {name!r} (fields: {known})")
        reason = text_arg(args, "reason", required=False, limit=1000) or None
        scope.draft.field_changes.append(FieldChange(doc["id"], name, "deleted", None, reason))
        return ok(f"Staged removal of {name} from {doc['filename']}.")

    @tool(
        "complete",
        "Save this mission's extraction work (fields, corrections, table rows, document"
        " details) to the workspace now, in one step. Call it once the extraction is done.",
        {
            "type": "object",
            "properties": {"summary": {"type": "string"}},
        },
    )
    @guarded
    async def complete(_args: dict[str, Any]) -> dict[str, Any]:
        if scope.draft.is_empty():
            return ok("Nothing to save: no fields or rows were changed in this mission.")
        committed = await commit_mission_work(scope)
        return ok(committed.describe() + ".")

    @tool(
        "save_metadata",
        "Save a document's details: a display name, tags and a one-paragraph summary.",
        {
            "type": "object",
            "properties": {
                "document_id": {"type": "string"},
                "display_name": {"type": "string"},
                "tags": {"type": STRING_OR_ARRAY, "items": {"type": "string"}},
                "summary": {"type": "string"},
            },
            "required": ["document_id"],
        },
    )
    @guarded
    async def save_metadata(args: dict[str, Any]) -> dict[str, Any]:
        doc = await scope.document(args.get("document_id"))
        details: dict[str, Any] = {}
        if args.get("display_name") is not None:
            details["display_name"] = text_arg(args, "display_name", limit=255)
        if args.get("summary") is not None:
            details["summary"] = text_arg(args, "summary", limit=5000)
        if args.get("tags") is not None:
            tags = json_arg(args.get("tags"), "tags")
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise ToolInputError("'tags' must be a list of short texts")
            details["tags"] = [t.strip()[:50] for t in tags if t.strip()][:MAX_TAGS]
        if not details:
            raise ToolInputError("give at least one of display_name, tags, summary")
        scope.draft.add_metadata(doc["id"], details)
        return ok(f"Staged details of {doc['filename']}: {', '.join(details)}.")

    return [read_extraction, save_extraction, set_field, delete_field, complete, save_metadata]
