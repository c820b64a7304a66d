"""What a mission runner is given, and what it must do (the Sprite ⇄ agents contract).

The runtime creates one :class:`MissionContext` per mission (a user turn). ``!`` missions are run
by ``sprite.shell``; every other mission goes to the :class:`MissionRunner` that
``sprite.agents.create_runner`` returns. A runner reports only through ``ctx.emit``, which
persists the frame to ``agent.db`` *before* broadcasting it, so a reload redraws everything.

Contract for runners:
- emit ``agent_event`` payloads ``{event_type: text|tool|complete|error, content, mission_id,
  meta?}`` and ``canvas_update`` payloads ``{artifact_id, artifact_type, title, data,
  mission_id}``; ``mission_id`` is filled in by the runtime when omitted;
- end with exactly one ``complete`` or ``error`` agent_event (the runtime derives the mission's
  final status from it; returning without one marks the mission completed, raising marks it
  failed);
- watch ``ctx.cancelled``: when it is set, stop promptly and return (the runtime records the
  mission as cancelled);
- store the SDK session id with ``await ctx.storage.set_mission_session(ctx.mission_id, sid)``
  so follow-ups in the thread can resume it (``ctx.resume_session_id``).

Optional hook: a runner with ``async def handle_extraction_request(storage, document_id) ->
dict`` answers ``extraction_request`` frames (the dict is the ``extraction`` payload); without
it the Sprite answers with an ``error`` frame (code ``not_available``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sprite.storage import Storage
    from stackdocs.config import SpriteSettings

# (frame type, payload) -> persisted, then broadcast to every connected client.
Emit = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass
class MissionContext:
    mission_id: str
    text: str
    workspace: Path  # the workspace root (/workspace in a Sprite)
    storage: Storage
    settings: SpriteSettings  # proxy URL + per-sprite token, never a key
    emit: Emit  # (type, payload): persists, then broadcasts
    cancelled: asyncio.Event
    resume_session_id: str | None  # the thread's SDK session, for follow-ups


class MissionRunner(Protocol):
    async def run(self, ctx: MissionContext) -> None: ...

    async def close(self) -> None: ...  # on sleep / shutdown: stop CLIs, free memory
