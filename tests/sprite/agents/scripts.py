"""Scripted model behaviour for the agent tests: what the fake Anthropic API answers, matched by
the content of each request (the mission text, a specialist's task, the last tool result)."""

from __future__ import annotations

from sprite.agents.tools import qualified
from tests.fakes.anthropic_api import (
    Message,
    Rule,
    Text,
    ToolUse,
    after_tool,
    rule,
    text_reply,
    tool_reply,
)

EXTRACT_MISSION = "Extract the key fields of the invoice and chart its amounts"
EXTRACT_TASK = "Extract vendor, invoice number, date, total and due terms"
FINAL_ANSWER = (
    "I extracted the invoice from ACME SUPPLIES LTD: invoice INV-2024-001 dated 2024-03-05, "
    "total $1,250.00. The payment terms value is flagged for review because its cited text "
    "does not show it. The extraction table and a chart of the amounts are on the canvas. "
    "Each value cites the page and the exact span of the OCR text it was read from; click a "
    "value in the table to open its source. Ask me to correct any field and I will keep the "
    "previous value in the history."
)
CORRECTION_MISSION = "The total is wrong, it should include tax"
CORRECTION_TASK = "Correct the total of the invoice to include tax"
AMOUNTS_FIGURE = {
    "data": [{"type": "bar", "x": ["Subtotal", "Tax", "Total"], "y": [1250, 125, 1375]}],
    "layout": {"title": {"text": "Invoice amounts"}},
}


def extraction(document_id: str) -> list[Rule]:
    """Commander delegates to the analyst, who reads, extracts with citations (one of them
    wrong), shows a table and a chart, and completes; the commander answers at length."""
    fields = [
        {
            "name": "vendor",
            "value": "ACME SUPPLIES LTD",
            "confidence": 0.98,
            "source": {"page": 1, "quote": "ACME SUPPLIES LTD"},
        },
        {
            "name": "invoice_number",
            "value": "INV-2024-001",
            "confidence": 0.97,
            "source": {"page": 1, "quote": "Invoice INV-2024-001"},
        },
        {
            "name": "date",
            "value": "2024-03-05",
            "confidence": 0.95,
            "source": {"page": 1, "quote": "Date: 2024-03-05"},
        },
        {
            "name": "total",
            "value": 1250,
            "confidence": 0.7,
            "source": {"page": 1, "quote": "Subtotal: $1,250.00"},
        },
        # Wrong on purpose: page 2 says 30 days.
        {
            "name": "payment_terms",
            "value": "60 days",
            "confidence": 0.5,
            "source": {"page": 2, "quote": "due within 30 days"},
        },
    ]
    return [
        rule(
            lambda r: EXTRACT_MISSION in r.last_user_text and not r.tool_results(),
            Message(
                [
                    Text("I'll ask the analyst to extract it."),
                    ToolUse(
                        "Agent",
                        {
                            "subagent_type": "analyst",
                            "description": "Extract the invoice",
                            "prompt": f"{EXTRACT_TASK} from document {document_id}"
                            " and chart its amounts.",
                        },
                    ),
                ]
            ),
            name="commander delegates",
        ),
        rule(
            lambda r: EXTRACT_TASK in r.last_user_text and not r.tool_results(),
            tool_reply(qualified("read_ocr"), {"document_id": document_id}),
            name="analyst reads",
        ),
        rule(
            after_tool("read_ocr", contains="Total: $1,375.00"),
            tool_reply(
                qualified("save_extraction"), {"document_id": document_id, "fields": fields}
            ),
            name="analyst saves",
        ),
        rule(
            after_tool("save_extraction", contains="1 FLAGGED"),
            tool_reply(qualified("show_extraction"), {"document_id": document_id}),
            name="analyst shows table",
        ),
        rule(
            after_tool("show_extraction"),
            tool_reply(
                qualified("show_chart"), {"title": "Invoice amounts", "figure": AMOUNTS_FIGURE}
            ),
            name="analyst charts",
        ),
        rule(
            after_tool("show_chart", contains="artifact_id=chart-"),
            tool_reply(qualified("complete"), {"summary": "extracted 5 fields"}),
            name="analyst completes",
        ),
        rule(
            after_tool("complete", contains="Saved 5 field change(s)"),
            text_reply("Saved 5 fields; payment_terms is flagged."),
            name="analyst reports",
        ),
        rule(
            after_tool("Agent", contains="payment_terms is flagged"),
            Message([Text(FINAL_ANSWER)], chunk_chars=2),
            name="commander answers",
        ),
    ]


def correction(document_id: str) -> list[Rule]:
    """The follow-up: the commander (who remembers the thread) delegates the fix."""
    return [
        rule(
            lambda r: CORRECTION_MISSION in r.last_user_text and not r.tool_results(),
            tool_reply(
                "Agent",
                {
                    "subagent_type": "analyst",
                    "description": "Fix the total",
                    "prompt": f"{CORRECTION_TASK}, document {document_id}.",
                },
            ),
            name="commander delegates the fix",
        ),
        rule(
            lambda r: CORRECTION_TASK in r.last_user_text and not r.tool_results(),
            tool_reply(
                qualified("set_field"),
                {
                    "document_id": document_id,
                    "name": "total",
                    "value": 1375,
                    "confidence": 0.99,
                    "source": {"page": 1, "quote": "Total: $1,375.00"},
                    "reason": "the total includes tax",
                },
            ),
            name="analyst corrects",
        ),
        rule(
            after_tool("set_field", contains="verified"),
            tool_reply(qualified("complete"), {}),
            name="analyst saves the fix",
        ),
        rule(
            after_tool("complete", contains="Saved 1 field change(s)"),
            tool_reply(qualified("show_extraction"), {"document_id": document_id}),
            name="analyst redraws",
        ),
        rule(
            after_tool("show_extraction"),
            text_reply("Total corrected to 1375."),
            name="analyst reports the fix",
        ),
        rule(
            after_tool("Agent", contains="Total corrected"),
            text_reply("Done: the total now includes tax ($1,375.00)."),
            name="commander confirms",
        ),
    ]


def staged_then(document_id: str, mission: str) -> list[Rule]:
    """A mission whose analyst stages fields; what the model does next is up to the test."""
    task = f"Stage fields for: {mission}"
    return [
        rule(
            lambda r: mission in r.last_user_text and not r.tool_results(),
            tool_reply(
                "Agent", {"subagent_type": "analyst", "description": "extract", "prompt": task}
            ),
        ),
        rule(
            lambda r: task in r.last_user_text and not r.tool_results(),
            tool_reply(
                qualified("save_extraction"),
                {
                    "document_id": document_id,
                    "fields": [
                        {
                            "name": "vendor",
                            "value": "ACME SUPPLIES LTD",
                            "confidence": 0.9,
                            "source": {"page": 1, "quote": "ACME SUPPLIES LTD"},
                        }
                    ],
                },
            ),
        ),
    ]
