"""The crew's tools, built per live session as closures over its :class:`MissionScope`.

This is the seed's tool-factory pattern: each ``*_tools(scope)`` function returns SDK tools whose
handlers close over the scope (the workspace's storage, the current mission's id and emit
function, its unsaved draft), and :func:`build_server` registers them all as one in-process MCP
server. Which agent may call which tool is decided by the whitelists in ``sprite.agents.crew``.

A handler never raises for bad input: it answers an error result the model can read and act on
(:class:`ToolInputError`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from claude_agent_sdk import McpSdkServerConfig, SdkMcpTool, create_sdk_mcp_server

SERVER_NAME = "stackdocs"
# A tool result longer than this is cut (the model is told how to read on).
MAX_RESULT_CHARS = 60_000

Result = dict[str, Any]
Handler = Callable[[dict[str, Any]], Awaitable[Result]]


class ToolInputError(ValueError):
    """Bad arguments from the model: reported back to it as an error result."""


def qualified(name: str) -> str:
    """The name the model (and ``allowed_tools``) uses for one of our tools."""
    return f"mcp__{SERVER_NAME}__{name}"


def ok(text: str) -> Result:
    if len(text) > MAX_RESULT_CHARS:
        text = text[: MAX_RESULT_CHARS - 80] + "\n… (result cut; ask for less)"
    return {"content": [{"type": "text", "text": text}]}


def fail(text: str) -> Result:
    return {"content": [{"type": "text", "text": f"Error: {text}"}], "is_error": True}


def guarded(handler: Handler) -> Handler:
    """Turn :class:`ToolInputError` (and ``LookupError`` from storage) into error results."""

    @wraps(handler)
    async def run(args: dict[str, Any]) -> Result:
        try:
            return await handler(args)
        except (ToolInputError, LookupError) as exc:
            return fail(str(exc).strip("'\""))

    return run


def json_arg(value: Any, what: str) -> Any:
    """Models sometimes send an object or list as a JSON string: accept both."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ToolInputError(f"{what} must be JSON (an object or a list)") from None
    return value


def text_arg(args: dict[str, Any], key: str, *, required: bool = True, limit: int = 500) -> str:
    value = args.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ToolInputError(f"'{key}' is required")
        return ""
    if not isinstance(value, str):
        value = str(value)
    if len(value) > limit:
        raise ToolInputError(f"'{key}' is longer than {limit} characters")
    return value.strip()


def int_arg(
    args: dict[str, Any], key: str, default: int | None = None, *, minimum: int = 0
) -> int | None:
    value = args.get(key, default)
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ToolInputError(f"'{key}' must be a whole number") from None
    if number < minimum:
        raise ToolInputError(f"'{key}' must be at least {minimum}")
    return number


def confidence_arg(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ToolInputError(f"{where}: confidence must be a number from 0 to 1") from None
    if not 0.0 <= number <= 1.0:
        raise ToolInputError(f"{where}: confidence must be from 0 to 1, got {value}")
    return number


# JSON-schema pieces shared by several tools.
SOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Where the value is written in the OCR text: the page (1-based) and either a short exact"
        " quote of the text that shows the value, or the character span [start, end) in that"
        " page's text as read_ocr/search_documents report it."
    ),
    "properties": {
        "page": {"type": "integer", "minimum": 1},
        "quote": {"type": "string"},
        "start": {"type": "integer", "minimum": 0},
        "end": {"type": "integer", "minimum": 0},
        "document_id": {"type": "string", "description": "defaults to the field's document"},
    },
}
STRING_OR_ARRAY = ["array", "string"]  # arrays may arrive JSON-encoded
STRING_OR_OBJECT = ["object", "string"]


def build_server(tools: list[SdkMcpTool[Any]]) -> McpSdkServerConfig:
    return create_sdk_mcp_server(name=SERVER_NAME, version="2.0.0", tools=tools)
