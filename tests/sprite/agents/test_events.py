"""SDK messages become readable agent events; text is coalesced; labels read like steps."""

from __future__ import annotations

from claude_agent_sdk import (
    AssistantMessage,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)

from sprite.agents.events import EventTranslator, TextCoalescer
from sprite.agents.labels import brief_input, tool_label

FILES = {"doc-1": "invoice.pdf"}


def delta(text: str, parent: str | None = None) -> StreamEvent:
    return StreamEvent(
        uuid="u",
        session_id="s",
        parent_tool_use_id=parent,
        event={
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": text},
        },
    )


def start(message_id: str) -> StreamEvent:
    return StreamEvent(
        uuid="u", session_id="s", event={"type": "message_start", "message": {"id": message_id}}
    )


def test_streamed_text_is_reported_once_and_subagent_text_not_at_all() -> None:
    tr = EventTranslator(filenames=FILES)
    out = tr.translate(start("m1")) + tr.translate(delta("Hel")) + tr.translate(delta("lo"))
    assert [o.text for o in out] == ["Hel", "lo"]
    # The complete message repeats the streamed text: not reported again.
    assert tr.translate(AssistantMessage([TextBlock("Hello")], "model", message_id="m1")) == []
    # A specialist's text stays inside its hand-back.
    assert tr.translate(delta("secret", parent="toolu_1")) == []
    assert (
        tr.translate(AssistantMessage([TextBlock("sub")], "model", parent_tool_use_id="toolu_1"))
        == []
    )
    # A message that was not streamed (no partial events) is reported whole.
    assert [
        o.text for o in tr.translate(AssistantMessage([TextBlock("Bye")], "m", message_id="m2"))
    ] == ["Bye"]


def test_tool_start_and_end_carry_label_agent_and_outcome() -> None:
    clock = iter([10.0, 10.25, 20.0, 20.5, 21.0])
    tr = EventTranslator(filenames=FILES, clock=lambda: next(clock))
    [delegate] = tr.translate(
        AssistantMessage(
            [ToolUseBlock("t1", "Agent", {"subagent_type": "analyst", "description": "extract"})],
            "m",
        )
    )
    assert delegate.event["content"] == "Asking the analyst: extract"
    assert delegate.event["meta"]["agent"] == "commander"
    [read] = tr.translate(
        AssistantMessage(
            [ToolUseBlock("t2", "mcp__stackdocs__read_ocr", {"document_id": "doc-1", "page": 2})],
            "m",
            parent_tool_use_id="t1",
        )
    )
    assert read.event["event_type"] == "tool"
    assert read.event["content"] == "Reading OCR of invoice.pdf (page 2)"
    assert read.event["meta"] | {"input": None} == {
        "phase": "start",
        "tool": "read_ocr",
        "tool_use_id": "t2",
        "agent": "analyst",
        "summary": "Reading OCR of invoice.pdf (page 2)",
        "input": None,
    }
    [done] = tr.translate(
        UserMessage(
            [ToolResultBlock("t2", [{"type": "text", "text": "page text " * 100}], None)],
            parent_tool_use_id="t1",
        )
    )
    meta = done.event["meta"]
    assert done.event["content"] == "Reading OCR of invoice.pdf (page 2) — done"
    assert (meta["phase"], meta["ok"], meta["agent"]) == ("end", True, "analyst")
    assert len(meta["result"]) <= 300 and meta["duration_ms"] == 9750
    [failed] = tr.translate(UserMessage([ToolResultBlock("t1", "boom", True)]))
    assert failed.event["meta"]["ok"] is False and failed.event["content"].endswith("failed")
    assert tr.tools_started == 2


def test_session_result_and_model_errors_are_remembered_not_streamed() -> None:
    tr = EventTranslator()
    tr.translate(SystemMessage("init", {"session_id": "sess-1"}))
    assert tr.session_id == "sess-1"
    synthetic = AssistantMessage(
        [TextBlock("API Error: 500 Internal server error")], "<synthetic>", error="server_error"
    )
    assert tr.translate(synthetic) == []
    assert tr.model_error == "API Error: 500 Internal server error"
    assert tr.model_error_kind == "server_error"
    result = ResultMessage("success", 1, 0, True, 1, "sess-1")
    assert tr.translate(result) == [] and tr.result is result


def test_text_is_coalesced_into_frames_at_most_an_interval_apart() -> None:
    now = [0.0]
    coalescer = TextCoalescer(0.05, clock=lambda: now[0])
    assert coalescer.due_in() is None
    coalescer.add("a")
    now[0] = 0.02
    coalescer.add("b")
    assert abs(coalescer.due_in() - 0.03) < 1e-9
    now[0] = 0.06
    assert coalescer.due_in() == 0
    assert coalescer.take() == "ab" and coalescer.due_in() is None
    coalescer.add("")
    assert coalescer.due_in() is None


def test_labels_name_the_work_and_inputs_stay_small() -> None:
    assert tool_label(
        "mcp__stackdocs__save_extraction", {"document_id": "doc-1", "fields": [{}, {}, {}]}, FILES
    ) == ("Saving 3 extracted field(s) of invoice.pdf")
    assert (
        tool_label("Bash", {"command": "python3 -c 'print(1)'", "description": "Compute"}, FILES)
        == "Running Compute"
    )
    assert tool_label("mcp__stackdocs__show_chart", {"title": "Totals"}, {}) == (
        "Drawing chart “Totals”"
    )
    assert tool_label("mcp__stackdocs__read_ocr", {"document_id": "abcdef123456"}, {}) == (
        "Reading OCR of document abcdef12"
    )
    assert tool_label("mystery_tool", {}, {}) == "Mystery tool"
    brief = brief_input({"text": "x" * 1000, "fields": [1, 2], "n": 3, "o": {"a": 1}})
    assert len(brief["text"]) == 200 and brief["fields"] == "[2 item(s)]"
    assert brief["n"] == 3 and brief["o"] == "{1 key(s)}"
