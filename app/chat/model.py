"""The mission log as plain data: agent events in, display rows out. Pure, no Reflex.

A mission is a thread: the user's text, then blocks — streamed agent text (consecutive text
events merge into one block), humanized tool steps, follow-up messages, the end (completed,
failed, cancelled). Running missions are kept apart from finished ones so that streaming only
resends the (small) running part to the browser.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

from app.chat.humanize import humanize_tool

MAX_HISTORY = 60
MAX_BLOCKS = 400
MAX_TEXT_CHARS = 200_000
FINISHED = ("completed", "failed", "cancelled", "interrupted")


class Block(TypedDict):
    kind: str  # text | tool | user | error | done
    text: str
    artifact: str  # an artifact the step produced ("" if none): clicking opens it
    tool_id: str  # the tool call a step reports on: its end replaces its start


class Mission(TypedDict):
    id: str
    text: str
    status: str  # pending | running | completed | failed | cancelled | interrupted
    command: bool  # a `!` shell command
    follow_up: bool  # continues an earlier mission's thread
    started: str  # "HH:MM"
    blocks: list[Block]


def new_mission(
    mission_id: str,
    text: str,
    status: str = "running",
    at: float | None = None,
    follow_up: bool = False,
) -> Mission:
    return {
        "id": mission_id,
        "text": text,
        "status": status,
        "command": text.startswith("!"),
        "follow_up": follow_up,
        "started": _clock(at),
        "blocks": [],
    }


def _clock(at: float | None) -> str:
    if at is None:
        at = time.time()
    if at > 1e11:  # milliseconds
        at /= 1000
    return time.strftime("%H:%M", time.localtime(at))


def _timestamp(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        from datetime import datetime

        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def add_event(mission: Mission, event: dict[str, Any]) -> None:
    """Fold one ``agent_event`` payload into ``mission`` (in place)."""
    kind = event.get("event_type")
    content = str(event.get("content") or "")
    meta = event.get("meta") if isinstance(event.get("meta"), dict) else {}
    blocks = mission["blocks"]
    if kind == "text":
        if meta.get("role") == "user":
            blocks.append(_block("user", content))
        elif blocks and blocks[-1]["kind"] == "text":
            merged = blocks[-1]["text"] + content
            blocks[-1] = _block("text", merged[-MAX_TEXT_CHARS:])
        elif content:
            blocks.append(_block("text", content))
        if mission["status"] == "pending" and meta.get("role") != "user":
            mission["status"] = "running"
    elif kind == "tool":
        tool_id = str(meta.get("tool_use_id") or "")
        step = _block(
            "tool", humanize_tool(content, meta), str(meta.get("artifact_id") or ""), tool_id
        )
        for index in range(len(blocks) - 1, max(-1, len(blocks) - 60), -1):
            if tool_id and blocks[index].get("tool_id") == tool_id:
                if not step["artifact"]:
                    step["artifact"] = blocks[index]["artifact"]
                blocks[index] = step  # "Reading x" becomes "Reading x — done"
                break
        else:
            blocks.append(step)
        if mission["status"] == "pending":
            mission["status"] = "running"
    elif kind == "complete":
        status = meta.get("status") if meta.get("status") in FINISHED else "completed"
        mission["status"] = status
        blocks.append(_block("done", _ending(status, content, meta)))
    elif kind == "error":
        mission["status"] = "cancelled" if meta.get("status") == "cancelled" else "failed"
        blocks.append(_block("error", content or "The mission failed."))
    if len(blocks) > MAX_BLOCKS:
        del blocks[: len(blocks) - MAX_BLOCKS]


def _block(kind: str, text: str, artifact: str = "", tool_id: str = "") -> Block:
    return {"kind": kind, "text": text, "artifact": artifact, "tool_id": tool_id}


def _ending(status: str, content: str, meta: dict[str, Any]) -> str:
    parts = [
        {"completed": "Done", "cancelled": "Cancelled", "interrupted": "Interrupted"}.get(
            status, status.capitalize()
        )
    ]
    seconds = meta.get("duration_s") or (
        meta["duration_ms"] / 1000 if isinstance(meta.get("duration_ms"), int | float) else None
    )
    if isinstance(seconds, int | float):
        parts.append(f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:.1f} min")
    if isinstance(meta.get("tools"), int) and meta["tools"]:
        parts.append(f"{meta['tools']} step{'' if meta['tools'] == 1 else 's'}")
    if isinstance(meta.get("cost_usd"), int | float):
        parts.append(f"${meta['cost_usd']:.3f}")
    summary = " · ".join(parts)
    if content.strip() and len(content) <= 200:
        summary += f" — {content.strip()}"
    return summary


class MissionLog:
    """Running and finished missions; the state holds ``live`` and ``history`` lists of it."""

    def __init__(self, live: list[Mission], history: list[Mission]) -> None:
        self.live: list[Mission] = [dict(m) for m in live]  # type: ignore[misc]
        self.history: list[Mission] = list(history)
        self.history_changed = False

    def _find(self, mission_id: str) -> Mission | None:
        for mission in self.live:
            if mission["id"] == mission_id:
                return mission
        for index, mission in enumerate(self.history):
            if mission["id"] == mission_id:
                # Late events of a finished mission (e.g. its cancellation notice).
                revived: Mission = {**mission, "blocks": list(mission["blocks"])}
                del self.history[index]
                self.history_changed = True
                self.live.append(revived)
                return revived
        return None

    def start(self, mission_id: str, text: str, follow_up: bool = False) -> None:
        """The user sent a mission. A follow-up's id is given by the Sprite: until its first
        event arrives (carrying the request's frame id) it goes by a pending id."""
        self.live.append(new_mission(mission_id, text, status="pending", follow_up=follow_up))

    def apply(self, events: list[tuple[str | None, dict[str, Any]]]) -> None:
        """``(frame id, agent_event payload)`` pairs, oldest first."""
        for frame_id, event in events:
            mission_id = str(event.get("mission_id") or "")
            if not mission_id:
                continue
            mission = self._find(mission_id)
            if mission is None and frame_id:
                mission = self._find(frame_id)  # the first event answers our pending id
                if mission is not None:
                    mission["id"] = mission_id
            if mission is None:
                mission = new_mission(mission_id, _text_from(event))  # sent from elsewhere
                self.live.append(mission)
            mission["blocks"] = list(mission["blocks"])
            add_event(mission, event)
        self._settle()

    def _settle(self) -> None:
        """Move finished missions from live to history (bounded)."""
        still: list[Mission] = []
        for mission in self.live:
            if mission["status"] in FINISHED:
                self.history.append(mission)
                self.history_changed = True
            else:
                still.append(mission)
        self.live = still
        if len(self.history) > MAX_HISTORY:
            del self.history[: len(self.history) - MAX_HISTORY]

    def fail_pending(self, reason: str) -> None:
        for mission in self.live:
            if mission["status"] == "pending":
                mission["status"] = "failed"
                mission["blocks"] = [*mission["blocks"], _block("error", reason)]
        self._settle()


def _text_from(event: dict[str, Any]) -> str:
    meta = event.get("meta") if isinstance(event.get("meta"), dict) else {}
    return str(meta.get("mission_text") or meta.get("text") or "")


def from_state(rows: list[dict[str, Any]]) -> tuple[list[Mission], list[Mission]]:
    """Running and finished missions from the Sprite's ``state`` rows (oldest first)."""
    live: list[Mission] = []
    history: list[Mission] = []
    for row in rows[-MAX_HISTORY:]:
        if not isinstance(row, dict) or not row.get("id"):
            continue
        mission = new_mission(
            str(row["id"]),
            str(row.get("text") or ""),
            "running",
            _timestamp(row.get("created_at")),
            follow_up=bool(row.get("parent_id")),
        )
        for event in row.get("events") or []:
            if isinstance(event, dict):
                add_event(mission, event)
        status = str(row.get("status") or "running")
        mission["status"] = status
        ended = any(b["kind"] in ("done", "error") for b in mission["blocks"])
        if status in FINISHED and not ended:
            if status == "completed":
                mission["blocks"].append(_block("done", _ending(status, "", {})))
            else:
                reason = str(row.get("error") or _ending(status, "", {}))
                mission["blocks"].append(_block("error", reason))
        (history if status in FINISHED else live).append(mission)
    return live, history
