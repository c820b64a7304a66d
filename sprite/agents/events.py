"""From Claude Agent SDK messages to ``agent_event`` payloads, and text coalescing.

:class:`EventTranslator` is pure (no I/O): feed it each SDK message, it returns what to report —
text deltas of the commander's answer (streamed from partial messages), a ``tool`` event when a
tool starts and when it ends (with a readable label and the agent using it), and it remembers
the session id, the final result and any model error for the runner to conclude with.

:class:`TextCoalescer` batches text deltas so a client gets a frame every ~50 ms rather than one
per token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

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

from sprite.agents.labels import bare_name, brief_input, tool_label

COMMANDER = "commander"
RESULT_EXCERPT_CHARS = 300
TEXT_FLUSH_SECONDS = 0.05


@dataclass(frozen=True)
class Out:
    """One thing to report: a text delta (coalesced by the caller) or a whole agent_event."""

    kind: str  # "text" | "event"
    text: str = ""
    event: dict[str, Any] | None = None


@dataclass
class _ToolCall:
    name: str
    label: str
    agent: str
    started: float


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


@dataclass
class EventTranslator:
    filenames: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    session_id: str | None = None
    result: ResultMessage | None = None
    model_error: str | None = None  # the CLI's "API Error: …" text when the model failed
    model_error_kind: str | None = None  # AssistantMessage.error: rate_limit, server_error, …
    tools_started: int = 0
    _calls: dict[str, _ToolCall] = field(default_factory=dict)
    _agents: dict[str, str] = field(default_factory=dict)  # Agent tool_use id -> specialist
    _streamed: set[str] = field(default_factory=set)  # message ids whose text was streamed
    _streaming: str | None = None  # id of the top-level message being streamed

    def agent_of(self, parent_tool_use_id: str | None) -> str:
        if parent_tool_use_id is None:
            return COMMANDER
        return self._agents.get(parent_tool_use_id, "specialist")

    def translate(self, message: Any) -> list[Out]:
        if isinstance(message, StreamEvent):
            return self._stream_event(message)
        if isinstance(message, AssistantMessage):
            return self._assistant(message)
        if isinstance(message, UserMessage):
            return self._user(message)
        if isinstance(message, ResultMessage):
            self.result = message
            self.session_id = message.session_id or self.session_id
            return []
        if isinstance(message, SystemMessage) and message.subtype == "init":
            self.session_id = message.data.get("session_id") or self.session_id
        return []

    def _stream_event(self, message: StreamEvent) -> list[Out]:
        if message.parent_tool_use_id is not None:
            return []  # specialists report through their tool calls and final hand-back
        event = message.event
        kind = event.get("type")
        if kind == "message_start":
            self._streaming = (event.get("message") or {}).get("id")
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                if self._streaming:
                    self._streamed.add(self._streaming)
                return [Out("text", text=delta["text"])]
        return []

    def _assistant(self, message: AssistantMessage) -> list[Out]:
        if message.error is not None:
            # A synthetic message from the CLI: the model request failed. Reported once, at
            # the end, as the mission's error — never streamed as if the model said it.
            text = " ".join(b.text for b in message.content if isinstance(b, TextBlock))
            self.model_error = text.strip() or str(message.error)
            self.model_error_kind = str(message.error)
            return []
        out: list[Out] = []
        top_level = message.parent_tool_use_id is None
        agent = self.agent_of(message.parent_tool_use_id)
        for block in message.content:
            if isinstance(block, TextBlock) and top_level:
                if message.message_id not in self._streamed and block.text:
                    out.append(Out("text", text=block.text))
            elif isinstance(block, ToolUseBlock):
                out.append(self._tool_start(block, agent))
        return out

    def _tool_start(self, block: ToolUseBlock, agent: str) -> Out:
        if bare_name(block.name) in ("Agent", "Task"):
            self._agents[block.id] = str(block.input.get("subagent_type") or "specialist")
        label = tool_label(block.name, block.input, self.filenames)
        self._calls[block.id] = _ToolCall(block.name, label, agent, self.clock())
        self.tools_started += 1
        return Out(
            "event",
            event={
                "event_type": "tool",
                "content": label,
                "meta": {
                    "phase": "start",
                    "tool": bare_name(block.name),
                    "tool_use_id": block.id,
                    "agent": agent,
                    "summary": label,
                    "input": brief_input(block.input),
                },
            },
        )

    def _user(self, message: UserMessage) -> list[Out]:
        if not isinstance(message.content, list):
            return []
        out: list[Out] = []
        for block in message.content:
            if not isinstance(block, ToolResultBlock):
                continue
            call = self._calls.pop(block.tool_use_id, None)
            if call is None:
                continue
            failed = bool(block.is_error)
            excerpt = " ".join(_result_text(block.content).split())
            if len(excerpt) > RESULT_EXCERPT_CHARS:
                excerpt = excerpt[: RESULT_EXCERPT_CHARS - 1] + "…"
            ending = "failed" if failed else "done"
            out.append(
                Out(
                    "event",
                    event={
                        "event_type": "tool",
                        "content": f"{call.label} — {ending}",
                        "meta": {
                            "phase": "end",
                            "tool": bare_name(call.name),
                            "tool_use_id": block.tool_use_id,
                            "agent": call.agent,
                            "ok": not failed,
                            "summary": f"{call.label} — {ending}",
                            "result": excerpt,
                            "duration_ms": int((self.clock() - call.started) * 1000),
                        },
                    },
                )
            )
        return out


class TextCoalescer:
    """Collects text deltas; :meth:`due_in` says when the buffer must be flushed so that text
    reaches clients at most ``interval`` seconds after it arrived."""

    def __init__(
        self, interval: float = TEXT_FLUSH_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._parts: list[str] = []
        self._since: float | None = None  # when the oldest buffered delta arrived

    def add(self, text: str) -> None:
        if not text:
            return
        if self._since is None:
            self._since = self._clock()
        self._parts.append(text)

    def due_in(self) -> float | None:
        """Seconds until the buffer is due (0 if overdue), or ``None`` when it is empty."""
        if self._since is None:
            return None
        return max(0.0, self._since + self.interval - self._clock())

    def take(self) -> str:
        text = "".join(self._parts)
        self._parts.clear()
        self._since = None
        return text
