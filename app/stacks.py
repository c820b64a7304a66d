"""Stacks: named groups of documents whose extracted fields form a table.

A stack's table is shown on the canvas as a ``table`` artifact with the id
``stack-table-{table_id}`` (docs/architecture.md, "Artifact data shapes"); opening one that is
not on the canvas yet asks the Sprite for it with ``artifact_request``.
"""

from __future__ import annotations

from typing import Any, TypedDict

import reflex as rx

from app import link
from app.canvas.state import CanvasState


class StackTableRow(TypedDict):
    id: str
    name: str
    rows: str  # "12 rows"


class StackRow(TypedDict):
    id: str
    name: str
    status: str
    documents: str  # "3 documents"
    tables: list[StackTableRow]


def stack_table_artifact_id(table_id: str) -> str:
    return f"stack-table-{table_id}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def stack_row(stack: dict[str, Any]) -> StackRow:
    tables = [
        {
            "id": str(t.get("id") or ""),
            "name": str(t.get("name") or "Table"),
            "rows": _plural(int(t.get("row_count") or 0), "row"),
        }
        for t in stack.get("tables") or []
        if isinstance(t, dict) and t.get("id")
    ]
    return {
        "id": str(stack.get("id") or ""),
        "name": str(stack.get("name") or "Stack"),
        "status": str(stack.get("status") or "active"),
        "documents": _plural(len(stack.get("document_ids") or []), "document"),
        "tables": tables,
    }


class StacksState(rx.State):
    stacks: list[StackRow] = []
    dialog_open: bool = False
    chosen: list[str] = []  # document ids ticked in the create dialog
    creating: bool = False
    problem: str = ""

    _raw: dict[str, dict[str, Any]] = {}

    def _replace(self, stacks: list[dict[str, Any]]) -> None:
        self._raw = {str(s["id"]): s for s in stacks if isinstance(s, dict) and s.get("id")}
        self._redraw()

    def _apply(self, updates: list[dict[str, Any]]) -> None:
        raw = dict(self._raw)
        for stack in updates:
            if isinstance(stack, dict) and stack.get("id"):
                raw[str(stack["id"])] = stack
        self._raw = raw
        self.creating = False
        self._redraw()

    def _redraw(self) -> None:
        self.stacks = [stack_row(s) for s in reversed(self._raw.values())]

    def _clear(self) -> None:
        self._raw = {}
        self.stacks = []

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = value
        if value:
            self.chosen = []
            self.problem = ""

    @rx.event
    def toggle_document(self, document_id: str, ticked: bool) -> None:
        chosen = [d for d in self.chosen if d != document_id]
        self.chosen = [*chosen, document_id] if ticked else chosen

    @rx.event
    async def create(self, form: dict[str, Any]):
        name = str(form.get("name", "")).strip()
        if not name:
            self.problem = "Give the stack a name."
            return None
        if not self.chosen:
            self.problem = "Tick at least one document."
            return None
        sprite = link.get(self.router.session.client_token)
        if sprite is None:
            self.problem = "Not connected to your workspace."
            return None
        await sprite.send("stack_create", {"name": name[:255], "document_ids": list(self.chosen)})
        self.creating = True
        self.dialog_open = False
        return rx.toast.success(f"Creating stack “{name}”")

    @rx.event
    async def open_table(self, table_id: str):
        canvas = await self.get_state(CanvasState)
        artifact_id = stack_table_artifact_id(table_id)
        if artifact_id in canvas._artifacts:
            canvas.active_id = artifact_id
            await canvas._show_active()
            return None
        sprite = link.get(self.router.session.client_token)
        if sprite is not None:
            await sprite.send("artifact_request", {"artifact_id": artifact_id})
        return rx.toast.info("Fetching the stack table…")
