"""Agent events folded into mission threads, as the chat shows them."""

from app.chat.humanize import humanize_tool
from app.chat.model import MissionLog, from_state


def event(mission_id, kind, content="", **meta):
    return {"mission_id": mission_id, "event_type": kind, "content": content, "meta": meta or None}


def test_streamed_text_merges_into_one_block_and_completion_moves_to_history():
    log = MissionLog([], [])
    log.start("m1", "Summarise")
    log.apply([(None, event("m1", "text", "Hel")), (None, event("m1", "text", "lo"))])
    assert log.live[0]["status"] == "running"
    assert log.live[0]["blocks"][0]["text"] == "Hello"
    log.apply([(None, event("m1", "complete", "", duration_ms=2500, tools=2))])
    assert log.live == []
    assert log.history[0]["status"] == "completed"
    assert log.history[0]["blocks"][-1]["text"] == "Done · 2.5 s · 2 steps"
    assert log.history_changed


def test_tool_end_replaces_its_start_and_keeps_the_artifact_link():
    log = MissionLog([], [])
    log.start("m1", "go")
    log.apply(
        [
            (
                None,
                event(
                    "m1", "tool", "Reading OCR of a.pdf", tool_use_id="t1", artifact_id="table-1"
                ),
            ),
            (None, event("m1", "tool", "Reading OCR of a.pdf — done", tool_use_id="t1")),
        ]
    )
    [step] = log.live[0]["blocks"]
    assert step["text"] == "Reading OCR of a.pdf — done"
    assert step["artifact"] == "table-1"


def test_a_follow_up_is_matched_by_the_frame_id_of_its_request():
    log = MissionLog([], [])
    log.start("pending-x", "and the totals?", follow_up=True)
    log.apply([("pending-x", event("m2", "text", "Sure"))])
    assert log.live[0]["id"] == "m2"
    assert log.live[0]["follow_up"]


def test_missions_started_elsewhere_appear_and_errors_fail_them():
    log = MissionLog([], [])
    log.apply([(None, event("m9", "error", "No model configured"))])
    assert log.history[0]["status"] == "failed"
    assert log.history[0]["blocks"][-1] == {
        "kind": "error",
        "text": "No model configured",
        "artifact": "",
        "tool_id": "",
    }


def test_cancellation_reported_as_error_with_status():
    log = MissionLog([], [])
    log.start("m1", "long job")
    log.apply([(None, event("m1", "error", "Mission cancelled.", status="cancelled"))])
    assert log.history[0]["status"] == "cancelled"


def test_redraw_from_state_splits_running_and_finished():
    live, history = from_state(
        [
            {
                "id": "a",
                "text": "!ls",
                "status": "completed",
                "created_at": "2025-01-01T10:00:00Z",
                "events": [event("a", "tool", "$ ls", tool="shell", artifact_id="terminal-a")],
            },
            {
                "id": "b",
                "text": "think",
                "status": "running",
                "parent_id": "a",
                "events": [event("b", "text", "Working on it")],
            },
            {"id": "c", "text": "x", "status": "interrupted", "error": "the Sprite restarted"},
        ]
    )
    assert [m["id"] for m in history] == ["a", "c"]
    assert history[0]["command"] and history[0]["blocks"][0]["artifact"] == "terminal-a"
    assert history[0]["blocks"][-1]["kind"] == "done"
    assert history[1]["blocks"][-1] == {
        "kind": "error",
        "text": "the Sprite restarted",
        "artifact": "",
        "tool_id": "",
    }
    assert live[0]["id"] == "b" and live[0]["follow_up"]


def test_humanized_steps():
    assert (
        humanize_tool(
            "", {"tool": "mcp__stackdocs__read_ocr", "input": {"filename": "invoice.pdf"}}
        )
        == "Reading OCR of invoice.pdf"
    )
    assert humanize_tool("Listing documents", {"tool": "list_documents"}) == "Listing documents"
    assert humanize_tool("", {"tool": "Bash", "input": {"command": "ls -l"}}) == "Running ls -l"
    assert humanize_tool("", {"tool": "frobnicate_widgets"}) == "Frobnicate widgets"
    assert humanize_tool("", None) == "Working"
