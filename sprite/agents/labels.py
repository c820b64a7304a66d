"""Human-readable names for tool calls: ``read_ocr {document_id}`` → "Reading OCR of
invoice.pdf". Pure; shown in the mission chat as the agents work."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

MAX_LABEL_CHARS = 120
AGENT_TITLES = {"researcher": "researcher", "analyst": "analyst", "coder": "coder"}


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(value: Any) -> int:
    if isinstance(value, list | dict):
        return len(value)
    if isinstance(value, str) and value.strip().startswith(("[", "{")):
        import json

        try:
            return len(json.loads(value))
        except ValueError:
            return 0
    return 0


def bare_name(tool_name: str) -> str:
    """``mcp__stackdocs__read_ocr`` → ``read_ocr``."""
    return tool_name.rsplit("__", 1)[-1] if tool_name.startswith("mcp__") else tool_name


def tool_label(tool_name: str, args: Mapping[str, Any], filenames: Mapping[str, str]) -> str:
    """What the agent is doing, in a few words."""
    name = bare_name(tool_name)
    args = args if isinstance(args, Mapping) else {}

    def doc() -> str:
        document_id = args.get("document_id")
        if not document_id:
            return "a document"
        return filenames.get(str(document_id), f"document {str(document_id)[:8]}")

    def title() -> str:
        return f"“{_clip(args.get('title') or 'untitled')}”"

    page = f" (page {args['page']})" if isinstance(args.get("page"), int) else ""
    labels: dict[str, Callable[[], str]] = {
        "list_documents": lambda: "Listing documents",
        "read_ocr": lambda: f"Reading OCR of {doc()}{page}",
        "search_documents": lambda: f"Searching documents for “{_clip(args.get('query', ''))}”",
        "read_extraction": lambda: f"Reading extracted fields of {doc()}",
        "save_extraction": lambda: (
            f"Saving {_count(args.get('fields'))} extracted field(s) of {doc()}"
        ),
        "set_field": lambda: f"Correcting {_clip(args.get('name', 'a field'), 40)} of {doc()}",
        "delete_field": lambda: f"Removing {_clip(args.get('name', 'a field'), 40)} from {doc()}",
        "complete": lambda: "Saving the extraction",
        "save_metadata": lambda: f"Saving details of {doc()}",
        "show_table": lambda: f"Showing table {title()}",
        "show_markdown": lambda: f"Writing {title()}",
        "show_json": lambda: f"Showing data {title()}",
        "show_chart": lambda: f"Drawing chart {title()}",
        "show_extraction": lambda: f"Showing the extraction of {doc()}",
        "create_stack": lambda: f"Creating stack “{_clip(args.get('name', ''))}”",
        "add_stack_documents": lambda: (
            f"Adding {_count(args.get('document_ids'))} document(s) to a stack"
        ),
        "define_stack_table": lambda: f"Defining table “{_clip(args.get('name', ''))}”",
        "fill_stack_rows": lambda: f"Filling {_count(args.get('rows'))} table row(s)",
        "read_stack": lambda: "Reading the stack",
        "show_stack_table": lambda: "Showing the stack table",
        "Agent": lambda: (
            f"Asking the {AGENT_TITLES.get(str(args.get('subagent_type')), 'specialist')}"
            f": {_clip(args.get('description') or args.get('prompt') or '', 70)}"
        ),
        "Task": lambda: (
            f"Asking the {AGENT_TITLES.get(str(args.get('subagent_type')), 'specialist')}"
            f": {_clip(args.get('description') or args.get('prompt') or '', 70)}"
        ),
        "Bash": lambda: f"Running {_clip(args.get('description') or args.get('command', ''))}",
        "Read": lambda: f"Reading {os.path.basename(str(args.get('file_path', 'a file')))}",
        "Write": lambda: f"Writing {os.path.basename(str(args.get('file_path', 'a file')))}",
        "Edit": lambda: f"Editing {os.path.basename(str(args.get('file_path', 'a file')))}",
        "Glob": lambda: f"Finding files {_clip(args.get('pattern', ''))}",
        "Grep": lambda: f"Searching files for “{_clip(args.get('pattern', ''))}”",
    }
    make = labels.get(name)
    label = make() if make else name.replace("_", " ").strip().capitalize() or "Working"
    return _clip(label, MAX_LABEL_CHARS)


def brief_input(args: Any, limit: int = 200) -> dict[str, Any]:
    """The tool input, small enough for an event: long texts clipped, lists counted."""
    if not isinstance(args, Mapping):
        return {}
    brief: dict[str, Any] = {}
    for key, value in list(args.items())[:12]:
        if isinstance(value, str):
            brief[key] = value if len(value) <= limit else value[: limit - 1] + "…"
        elif isinstance(value, bool | int | float) or value is None:
            brief[key] = value
        elif isinstance(value, list):
            brief[key] = f"[{len(value)} item(s)]"
        elif isinstance(value, dict):
            brief[key] = f"{{{len(value)} key(s)}}"
    return brief
