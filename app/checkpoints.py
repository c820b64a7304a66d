"""Checkpoints of the workspace: list, create, restore (after a confirmation).

The bridge answers ``checkpoint_*`` frames with ``checkpoints {items}``; after a restore it
sends ``state_reload`` and the whole UI redraws from the restored Sprite's ``state``.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, TypedDict

import reflex as rx

from app import link

FRAME_ID_PREFIX = "checkpoint:"


class CheckpointRow(TypedDict):
    id: str
    comment: str
    when: str


def _when(value: Any) -> str:
    if isinstance(value, int | float):
        stamp = value / 1000 if value > 1e11 else value
    elif isinstance(value, str) and value:
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return value
    else:
        return ""
    return time.strftime("%d %b %Y, %H:%M", time.localtime(stamp))


def checkpoint_row(item: dict[str, Any]) -> CheckpointRow:
    return {
        "id": str(item.get("id") or item.get("checkpoint_id") or ""),
        "comment": str(item.get("comment") or ""),
        "when": _when(item.get("created_at") or item.get("create_time")),
    }


class CheckpointsState(rx.State):
    items: list[CheckpointRow] = []  # newest first
    loaded: bool = False
    busy: str = ""  # "" | "creating" | "restoring"
    confirm_id: str = ""  # the checkpoint waiting for the user's confirmation
    confirm_label: str = ""

    def _set(self, items: list[dict[str, Any]]) -> None:
        ordered = sorted(
            (i for i in items if isinstance(i, dict)),
            key=lambda i: str(i.get("created_at") or ""),
            reverse=True,
        )
        self.items = [r for r in map(checkpoint_row, ordered) if r["id"]]
        self.loaded = True
        self.busy = ""

    def _clear(self) -> None:
        self.items, self.loaded, self.busy = [], False, ""

    def _failed(self) -> None:
        self.busy = ""

    async def _send(self, msg_type: str, payload: dict[str, Any]) -> bool:
        sprite = link.get(self.router.session.client_token)
        if sprite is None:
            return False
        # The id marks the frame so an `error` answer can be routed back here.
        await sprite.send(msg_type, payload, id=f"{FRAME_ID_PREFIX}{msg_type}")
        return True

    @rx.event
    async def refresh(self) -> None:
        await self._send("checkpoint_list", {})

    @rx.event
    async def create(self, form: dict[str, Any]):
        comment = str(form.get("comment", "")).strip()[:500]
        if await self._send("checkpoint_create", {"comment": comment} if comment else {}):
            self.busy = "creating"
            return None
        return rx.toast.error("Not connected to your workspace.")

    @rx.event
    def ask_restore(self, checkpoint_id: str, label: str) -> None:
        self.confirm_id = checkpoint_id
        self.confirm_label = label

    @rx.event
    def cancel_restore(self) -> None:
        self.confirm_id = self.confirm_label = ""

    @rx.event
    async def restore(self):
        checkpoint_id, self.confirm_id = self.confirm_id, ""
        if not checkpoint_id:
            return None
        if await self._send("checkpoint_restore", {"checkpoint_id": checkpoint_id}):
            self.busy = "restoring"
            return rx.toast.info("Restoring the checkpoint…")
        return rx.toast.error("Not connected to your workspace.")
