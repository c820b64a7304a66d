"""The canvas: the artifacts of this workspace as tabs, one of them on screen.

Artifacts arrive as ``canvas_update`` frames (insert or replace by ``artifact_id``) and, after a
reload or a reconnect, all at once in the Sprite's ``state``. Their data stays in a
backend-only var; the open one is handed to its type's view state (see ``registry.py``).
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from app import link
from app.canvas import registry
from app.canvas.base import ArtifactDataError

MAX_ARTIFACTS = 200
FALLBACK_PREVIEW_CHARS = 4_000


class FallbackView(rx.State):
    """An artifact whose type no module draws: say so, and show its data as text."""

    artifact_type: str = ""
    preview: str = ""

    async def _load(self, artifact_type: str, data: Any) -> None:
        self.artifact_type = artifact_type
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        if len(text) > FALLBACK_PREVIEW_CHARS:
            text = text[:FALLBACK_PREVIEW_CHARS] + "\n…"
        self.preview = text


def tab_of(artifact: dict[str, Any]) -> dict[str, str]:
    kind = registry.get(artifact["artifact_type"])
    return {
        "id": artifact["artifact_id"],
        "type": artifact["artifact_type"],
        "title": artifact.get("title") or (kind.label if kind else artifact["artifact_type"]),
        "icon": kind.icon if kind else "file-question",
    }


class CanvasState(rx.State):
    tabs: list[dict[str, str]] = []  # {id, type, title, icon}, oldest first
    active_id: str = ""
    active_type: str = ""  # a registered type, "unknown", or "" when nothing is open
    active_title: str = ""
    loading: bool = False  # the open artifact's full data is being fetched
    synced: bool = False  # the Sprite's state has been received at least once

    _artifacts: dict[str, dict[str, Any]] = {}
    _requested: list[str] = []  # artifact ids already asked for in full

    @rx.var
    def has_artifacts(self) -> bool:
        return len(self.tabs) > 0

    @rx.event
    async def select(self, artifact_id: str) -> None:
        if artifact_id in self._artifacts:
            self.active_id = artifact_id
            await self._show_active()

    async def _replace_all(self, artifacts: list[dict[str, Any]]) -> None:
        """Redraw from the Sprite's ``state``: it, not this browser, is the source of truth."""
        kept: dict[str, dict[str, Any]] = {}
        for artifact in artifacts[-MAX_ARTIFACTS:]:
            if _valid(artifact):
                kept[str(artifact["artifact_id"])] = _entry(artifact)
        self._artifacts = kept
        self._requested = []  # a redraw may leave data out again: ask again when opened
        self.synced = True
        if self.active_id not in kept:
            self.active_id = _newest(kept)
        self._retab()
        await self._show_active()

    async def _apply_updates(
        self, updates: list[dict[str, Any]], ready: dict[str, Any] | None = None
    ) -> None:
        """``canvas_update`` payloads of one batch, oldest first (several may share an id).
        ``ready``: artifact id → its latest data already prepared by :func:`prepare_latest`."""
        latest: dict[str, dict[str, Any]] = {}
        for update in updates:
            if _valid(update):
                latest.pop(str(update["artifact_id"]), None)
                latest[str(update["artifact_id"])] = update
        if not latest:
            return
        artifacts = dict(self._artifacts)
        newcomer = ""
        for artifact_id, update in latest.items():
            if update.get("data") is not None and artifact_id in self._requested:
                self._requested = [i for i in self._requested if i != artifact_id]
            if artifact_id not in artifacts:
                newcomer = artifact_id
            artifacts.pop(artifact_id, None)
            artifacts[artifact_id] = _entry(update)
        while len(artifacts) > MAX_ARTIFACTS:
            artifacts.pop(next(iter(artifacts)))
        self._artifacts = artifacts
        self._retab()
        # What a mission just published is what the user wants to see.
        if newcomer:
            self.active_id = newcomer
            await self._show_active(ready)
        elif self.active_id in latest:
            await self._show_active(ready)

    def _retab(self) -> None:
        self.tabs = [
            tab_of({"artifact_id": artifact_id, **a}) for artifact_id, a in self._artifacts.items()
        ]

    async def _show_active(self, ready: dict[str, Any] | None = None) -> None:
        artifact = self._artifacts.get(self.active_id)
        if artifact is None:
            self.active_id = self.active_type = self.active_title = ""
            self.loading = False
            return
        self.active_title = artifact.get("title") or ""
        if artifact.get("data") is None and artifact.get("truncated"):
            # The state left out a large artifact's data: ask the Sprite for all of it (once).
            sprite = link.get(self.router.session.client_token)
            if sprite is not None and self.active_id not in self._requested:
                self._requested = [*self._requested[-50:], self.active_id]
                self.loading = True
                await sprite.send("artifact_request", {"artifact_id": self.active_id})
                return
        self.loading = False
        artifact_type = artifact["artifact_type"]
        if registry.get(artifact_type) is None:
            self.active_type = "unknown"
            fallback = await self.get_state(FallbackView)
            await fallback._load(artifact_type, artifact.get("data"))
            return
        self.active_type = artifact_type
        view = await self.get_state(registry.view(artifact_type, "canvas"))
        if ready and self.active_id in ready:
            prepared = ready[self.active_id]
            if isinstance(prepared, ArtifactDataError):
                view._show_problem(self.active_id, self.active_title, str(prepared))
            else:
                view._show_prepared(self.active_id, self.active_title, prepared)
            return
        await view._load(self.active_id, self.active_title, artifact.get("data"))

    def _clear(self) -> None:
        self._artifacts = {}
        self.tabs = []
        self.active_id = self.active_type = self.active_title = ""
        self.loading = self.synced = False


def prepare_latest(updates: list[dict[str, Any]]) -> dict[str, Any]:
    """The latest data of each artifact in ``updates``, prepared for its view (or the
    :class:`ArtifactDataError` saying why it cannot be). Pure and thread-safe: the pump runs it
    in a worker thread before taking the state lock, so a big artifact does not hold the lock."""
    latest = {str(u["artifact_id"]): u for u in updates if _valid(u)}
    ready: dict[str, Any] = {}
    for artifact_id, update in latest.items():
        kind = registry.get(update["artifact_type"])
        if kind is None or update.get("data") is None:
            continue
        try:
            ready[artifact_id] = kind.view_state._prepare(update["data"])
        except ArtifactDataError as exc:
            ready[artifact_id] = exc
    return ready


def _valid(artifact: Any) -> bool:
    return (
        isinstance(artifact, dict)
        and bool(artifact.get("artifact_id"))
        and isinstance(artifact.get("artifact_type"), str)
    )


def _entry(artifact: dict[str, Any]) -> dict[str, Any]:
    return {
        "artifact_type": artifact["artifact_type"],
        "title": str(artifact.get("title") or ""),
        "mission_id": artifact.get("mission_id"),
        "data": artifact.get("data"),
        "truncated": bool(artifact.get("truncated", False)),
    }


def _newest(artifacts: dict[str, dict[str, Any]]) -> str:
    return next(reversed(artifacts), "") if artifacts else ""
