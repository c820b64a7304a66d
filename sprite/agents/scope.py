"""What the tools of a live agent session act on: the workspace and the mission being run.

One SDK client (one CLI) serves every turn of a mission thread, and its in-process tools are
built once, when the client starts. So the tools close over a :class:`MissionScope` that the
runner points at each mission in turn (:meth:`MissionScope.bind`): the mission id and emit
function change per turn, the workspace and storage do not. Between missions the scope is
unbound and a stray tool call is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sprite.agents import store
from sprite.agents.drafts import Draft
from sprite.agents.tools import ToolInputError

if TYPE_CHECKING:
    from sprite.storage import Storage

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass
class MissionScope:
    storage: Storage
    workspace: Path
    model: str  # recorded on extraction snapshots
    mission_id: str | None = None
    session_id: str | None = None
    emit: Emit | None = None
    draft: Draft = field(default_factory=Draft)
    filenames: dict[str, str] = field(default_factory=dict)  # document id -> file name

    def bind(self, mission_id: str, emit: Emit) -> None:
        self.mission_id = mission_id
        self.emit = emit
        self.draft = Draft()

    def unbind(self) -> None:
        self.mission_id = None
        self.emit = None

    async def publish(self, msg_type: str, payload: dict[str, Any]) -> None:
        if self.emit is None:
            raise ToolInputError("no mission is running: the tool call was ignored")
        await self.emit(msg_type, payload)

    async def refresh_filenames(self) -> dict[str, str]:
        documents = await store.list_documents(self.storage)
        self.filenames = {doc["id"]: doc["filename"] for doc in documents}
        return self.filenames

    async def document(self, document_id: Any) -> dict[str, Any]:
        """A workspace document by id (a clear error for the model when there is none)."""
        if not isinstance(document_id, str) or not document_id.strip():
            raise ToolInputError("'document_id' is required (list_documents gives the ids)")
        doc = await store.get_document(self.storage, document_id.strip())
        if doc is None:
            raise ToolInputError(
                f"no document with id {document_id!r}; call list_documents for the ids"
            )
        self.filenames[doc["id"]] = doc["filename"]
        return doc

    async def pages(self, document_id: str) -> list[dict[str, Any]]:
        return await store.get_pages(self.storage, document_id)
