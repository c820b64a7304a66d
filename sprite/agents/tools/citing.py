"""Turning a model-supplied value + source into a checked :class:`CitedValue`."""

from __future__ import annotations

import json
from typing import Any

from sprite.agents.citations import MAX_VALUE_CHARS, Verdict, verify
from sprite.agents.drafts import CitedValue
from sprite.agents.scope import MissionScope
from sprite.agents.tools import ToolInputError, int_arg, json_arg


def check_value(value: Any, where: str) -> Any:
    if value is None:
        raise ToolInputError(f"{where}: 'value' is required (delete_field removes a field)")
    if len(json.dumps(value, default=str)) > MAX_VALUE_CHARS:
        raise ToolInputError(f"{where}: the value is longer than {MAX_VALUE_CHARS} characters")
    return value


async def cite(
    scope: MissionScope,
    value: Any,
    source: Any,
    *,
    default_document_id: str,
    confidence: float | None,
    where: str,
) -> tuple[CitedValue, Verdict]:
    """Check ``source`` against the OCR text; the value is flagged (never refused) when the
    citation does not support it. Malformed sources (wrong types) are refused."""
    source = json_arg(source, f"{where}: source") if source is not None else None
    if source is not None and not isinstance(source, dict):
        raise ToolInputError(f"{where}: 'source' must be an object {{page, quote}}")
    source = source or {}
    document_id = str(source.get("document_id") or default_document_id)
    doc = await scope.document(document_id)
    page = int_arg(source, "page", None, minimum=1)
    start = int_arg(source, "start", None)
    end = int_arg(source, "end", None)
    quote = source.get("quote")
    if quote is not None and not isinstance(quote, str):
        raise ToolInputError(f"{where}: 'quote' must be text")
    pages = await scope.pages(doc["id"])
    page_text = None
    if page is not None and 1 <= page <= len(pages):
        page_text = pages[page - 1]["text"]
    verdict = verify(
        value,
        document_id=doc["id"],
        page=page,
        page_text=page_text,
        page_count=len(pages),
        start=start,
        end=end,
        quote=quote,
    )
    if verdict.span is not None:
        cited_source: dict[str, Any] | None = verdict.span.as_source()
    elif page is not None:
        # Unresolvable, kept as given so the reviewer sees what the agent claimed.
        cited_source = {"document_id": doc["id"], "page": page, "start": start, "end": end,
                        "text": quote}
    else:
        cited_source = None
    return (
        CitedValue(
            value=value,
            confidence=confidence,
            source=cited_source,
            flagged=verdict.flagged,
            flag_reason=verdict.reason,
        ),
        verdict,
    )
