"""Tool activity as short human steps: ``read_ocr {document: invoice.pdf}`` → "Reading OCR of
invoice.pdf". Pure; unknown tools get a readable generic form instead of raw JSON."""

from __future__ import annotations

import re
from typing import Any

MAX_STEP_CHARS = 140

# tool name (without any "mcp__server__" prefix) -> (verb phrase, argument keys to mention)
_PHRASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "read_ocr": ("Reading OCR of", ("filename", "document", "document_id")),
    "read_document": ("Reading", ("filename", "document", "document_id")),
    "get_ocr": ("Reading OCR of", ("filename", "document", "document_id")),
    "list_documents": ("Listing documents", ()),
    "search_documents": ("Searching documents for", ("query", "text")),
    "ocr_document": ("Running OCR on", ("filename", "document", "document_id")),
    "extract": ("Extracting fields from", ("filename", "document", "document_id")),
    "save_extraction": ("Saving extraction for", ("filename", "document", "document_id")),
    "create_stack": ("Creating stack", ("name",)),
    "add_to_stack": ("Adding to stack", ("stack", "name", "stack_id")),
    "stack_table": ("Filling stack table", ("table", "name")),
    "publish_artifact": ("Publishing", ("title", "artifact_type")),
    "canvas": ("Publishing", ("title", "artifact_type")),
    "create_table": ("Building table", ("title", "name")),
    "create_chart": ("Drawing chart", ("title",)),
    "query_db": ("Querying the database", ()),
    "sql": ("Querying the database", ()),
    "run_sql": ("Querying the database", ()),
    "bash": ("Running", ("command",)),
    "shell": ("Running", ("command",)),
    "read": ("Reading", ("file_path", "path")),
    "write": ("Writing", ("file_path", "path")),
    "edit": ("Editing", ("file_path", "path")),
    "glob": ("Finding files", ("pattern",)),
    "grep": ("Searching files for", ("pattern",)),
    "task": ("Delegating to", ("subagent_type", "agent", "description")),
    "agent": ("Delegating to", ("subagent_type", "agent", "description")),
    "websearch": ("Searching the web for", ("query",)),
    "webfetch": ("Fetching", ("url",)),
    "todowrite": ("Updating the plan", ()),
}


def _tool_name(raw: str) -> str:
    name = raw.rsplit("__", 1)[-1] if raw.startswith("mcp__") else raw
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("-", "_")


def _words(name: str) -> str:
    return name.replace("_", " ").strip().capitalize() or "Working"


def _short(value: Any) -> str:
    text = " ".join(str(value).split())
    if "/" in text and " " not in text:
        text = text.rstrip("/").rsplit("/", 1)[-1] or text  # a path reads best as its name
    return text


def humanize_tool(content: str, meta: dict[str, Any] | None) -> str:
    """One line for a ``tool`` agent event."""
    meta = meta or {}
    if isinstance(meta.get("summary"), str) and meta["summary"].strip():
        return _clip(meta["summary"])
    if content.strip():
        return _clip(content)  # the producer knows best (it has the filenames)
    raw_name = meta.get("tool") or meta.get("tool_name") or meta.get("name") or ""
    args = meta.get("input") or meta.get("args") or meta.get("arguments") or {}
    if not isinstance(args, dict):
        args = {}
    if not raw_name:
        return "Working"
    name = _tool_name(str(raw_name))
    verb, keys = _PHRASES.get(name, (_words(name), ()))
    target = next((args[k] for k in keys if args.get(k) not in (None, "")), None)
    return _clip(f"{verb} {_short(target)}" if target is not None else verb)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_STEP_CHARS else text[: MAX_STEP_CHARS - 1] + "…"
