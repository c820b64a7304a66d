"""The tab's connection to its workspace: one background task that owns the link.

On page load (and on every reconnect of Reflex's socket) :meth:`WorkspaceState.start` checks the
token and starts :meth:`WorkspaceState.pump` — at most one per tab. The pump opens a
``ClientSession`` through the bridge, asks for ``state``, then loops: wait for frames, let a
burst gather for :data:`FLUSH_SECONDS`, apply the whole batch in one ``async with self``. So a
fast agent (hundreds of events per second) costs ~20 small state updates per second, not
hundreds, and the user's own clicks never queue behind a backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import reflex as rx

from app import link
from app.canvas.state import CanvasState, prepare_latest
from app.chat.state import ChatState
from app.checkpoints import FRAME_ID_PREFIX, CheckpointsState
from app.documents.reader import SCROLL_TO_HIGHLIGHT, DocumentReaderState
from app.documents.state import DocumentsState
from app.stacks import StacksState
from app.state import SessionState, bridge
from stackdocs.protocol import Frame

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.05
HOUSEKEEPING_SECONDS = 5.0
TAB_GONE_SECONDS = 60.0  # a tab whose socket stays away this long has closed
RECONNECT_DELAYS = (0.5, 1, 2, 5, 10, 20, 30)
UNAUTHORIZED = (4401, 4403)

_pumping: set[str] = set()  # client tokens with a live pump in this process


def tab_connected(client_token: str) -> bool | None:
    """Whether the tab's Reflex socket is connected here (None if that cannot be told)."""
    try:
        from reflex_base.registry import RegistrationContext

        namespace = RegistrationContext.get().app.event_namespace
        return client_token in namespace.token_to_sid
    except Exception:
        return None


class WorkspaceState(rx.State):
    connection: str = "offline"  # offline | connecting | online | reconnecting
    sprite_status: str = ""  # asleep | waking | ready | error
    sprite_detail: str = ""
    problem: str = ""

    @rx.event
    async def start(self):
        """on_load of the workspace page: verify the token, then make sure a pump runs."""
        session = await self.get_state(SessionState)
        if not await session._check():
            return None
        return WorkspaceState.pump

    @rx.event(background=True)
    async def pump(self):
        token = self.router.session.client_token
        if token in _pumping:
            # A reload or a reconnect of the same tab: the pump lives on; redraw from the Sprite.
            existing = link.get(token)
            if existing is not None:
                await existing.send("state_request", {})
            return
        _pumping.add(token)
        try:
            async for event in self._run(token):
                yield event
        finally:
            _pumping.discard(token)
            sprite = link.get(token)
            if sprite is not None:
                # Cancelled by Reflex (e.g. a superseded page load): a new pump will pick the
                # link up; if none does, the tab is gone and the link is closed.
                asyncio.get_running_loop().create_task(_reap_if_orphaned(token))

    async def _run(self, token: str) -> AsyncIterator[Any]:
        attempt = 0
        while True:
            async with self:
                session = await self.get_state(SessionState)
                jwt, signed_in = session.token, session.signed_in
                if signed_in:
                    self.connection = "connecting" if attempt == 0 else "reconnecting"
            if not signed_in:
                return
            sprite = link.get(token)
            if sprite is None:
                try:
                    client_session = await bridge().connect(jwt)
                except Exception as exc:
                    code = getattr(exc, "code", "")
                    if code:  # AuthError: the token is no good, sign in again
                        async with self:
                            session = await self.get_state(SessionState)
                            session._forget()
                            session.problem = f"Signed out: {getattr(exc, 'message', exc)}"
                            self.connection = "offline"
                        return
                    log.warning("workspace connect failed: %s", exc)
                    async with self:
                        self.problem = f"Cannot reach your workspace: {exc}"
                    attempt += 1
                    if not await self._wait_before_retry(token, attempt):
                        return
                    continue
                sprite = link.attach(token, client_session)
            attempt = 0
            async with self:
                self.connection = "online"
                self.problem = ""
            await sprite.send("state_request", {})
            await sprite.send("checkpoint_list", {}, id=f"{FRAME_ID_PREFIX}checkpoint_list")
            async for event in self._drain(token, sprite):
                yield event
            if sprite.closed.is_set():
                code = getattr(sprite.session, "close_code", None)
                reason = getattr(sprite.session, "close_reason", "")
                if code in UNAUTHORIZED:
                    async with self:
                        session = await self.get_state(SessionState)
                        session._forget()
                        session.problem = f"Signed out by the server ({reason or code})."
                        self.connection = "offline"
                    return
                attempt += 1
                if not await self._wait_before_retry(token, attempt):
                    return
                continue
            return  # the tab left, or the user signed out: _drain closed the link

    async def _wait_before_retry(self, token: str, attempt: int) -> bool:
        async with self:
            self.connection = "reconnecting"
        await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS)) - 1])
        return tab_connected(token) is not False

    async def _drain(self, token: str, sprite: link.SpriteLink) -> AsyncIterator[Any]:
        sprite.pump_running = True
        last_seen = time.monotonic()
        next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
        try:
            while not sprite.closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sprite.arrived.wait(), HOUSEKEEPING_SECONDS)
                if sprite.inbox:
                    await asyncio.sleep(FLUSH_SECONDS)  # let the burst gather
                    # Decode and prepare off the lock; apply under it in one go.
                    batch = await asyncio.to_thread(Batch.of, sprite.take())
                    try:
                        async with self:
                            effects = await self._apply(batch)
                    except Exception:
                        # A frame this code cannot handle must not end the tab's connection;
                        # the next `state` redraw repairs whatever it left half done.
                        log.exception("applying %d frames failed", len(batch.runs))
                        effects = [("state_request", {})]
                    for effect in effects:
                        if isinstance(effect, tuple):
                            msg_type, payload, *frame_id = effect
                            await sprite.send(msg_type, payload, id=next(iter(frame_id), None))
                        else:
                            yield effect
                if time.monotonic() < next_housekeeping:
                    continue
                next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
                connected = tab_connected(token)
                if connected is not False:
                    last_seen = time.monotonic()
                elif time.monotonic() - last_seen > TAB_GONE_SECONDS:
                    await sprite.close()
                    return
                async with self:
                    session = await self.get_state(SessionState)
                    if not session.signed_in:
                        await sprite.close()
                        return
                    fresh = session._mint_refresh() if session._refresh_due() else None
                if fresh:
                    await sprite.send("auth", {"token": fresh})
        finally:
            sprite.pump_running = False

    async def _apply(self, batch: Batch) -> list[Any]:
        """Apply one batch of frames to state. Returns follow-ups: frames to send (tuples)
        and events for the browser. Consecutive frames of a kind are applied together."""
        effects: list[Any] = []
        for kind, group, payloads in batch.runs:
            if kind == "agent_event":
                chat = await self.get_state(ChatState)
                chat._apply_events([(f.id, p) for f, p in zip(group, payloads, strict=True)])
            elif kind == "canvas_update":
                canvas = await self.get_state(CanvasState)
                await canvas._apply_updates(payloads, batch.ready)
            elif kind == "document_event":
                documents = await self.get_state(DocumentsState)
                reader = await self.get_state(DocumentReaderState)
                for document_id in documents._apply_events(payloads, [f.id for f in group]):
                    reader._forget(document_id)
            elif kind == "upload_progress":
                documents = await self.get_state(DocumentsState)
                documents._upload_progress(payloads)
            elif kind == "document_content":
                reader = await self.get_state(DocumentReaderState)
                for payload in payloads:
                    if reader._receive(payload):
                        effects.append(rx.call_script(SCROLL_TO_HIGHLIGHT))
            elif kind == "stack_update":
                stacks = await self.get_state(StacksState)
                stacks._apply([p.get("stack") for p in payloads])
            elif kind == "checkpoints":
                checkpoints = await self.get_state(CheckpointsState)
                checkpoints._set(payloads[-1].get("items") or [])
            elif kind == "sprite_status":
                self.sprite_status = str(payloads[-1].get("status") or "")
                self.sprite_detail = str(payloads[-1].get("detail") or "")
            elif kind == "state":
                await self._redraw(payloads[-1])
            elif kind == "state_reload":
                effects.append(("state_request", {}))
                effects.append(("checkpoint_list", {}, f"{FRAME_ID_PREFIX}checkpoint_list"))
            elif kind == "error":
                effects.extend(await self._errors(group, payloads))
        return effects

    async def _redraw(self, state: dict[str, Any]) -> None:
        chat = await self.get_state(ChatState)
        chat._replace(state.get("missions") or [])
        documents = await self.get_state(DocumentsState)
        documents._replace(state.get("documents") or [])
        stacks = await self.get_state(StacksState)
        stacks._replace(state.get("stacks") or [])
        canvas = await self.get_state(CanvasState)
        await canvas._replace_all(state.get("artifacts") or [])

    async def _errors(self, frames: list[Frame], payloads: list[dict[str, Any]]) -> list[Any]:
        effects: list[Any] = []
        upload_ids = {u["id"] for u in (await self.get_state(DocumentsState)).uploads}
        for frame, payload in zip(frames, payloads, strict=True):
            message = str(payload.get("message") or payload.get("code") or "error")
            if frame.id and frame.id.startswith(FRAME_ID_PREFIX):
                checkpoints = await self.get_state(CheckpointsState)
                checkpoints._failed()
            if payload.get("upload_id") or (frame.id and frame.id in upload_ids):
                documents = await self.get_state(DocumentsState)
                if documents._upload_refused(str(payload.get("upload_id") or frame.id), message):
                    continue
            reader = await self.get_state(DocumentReaderState)
            if reader.loading and payload.get("code") in ("not_found", "too_large"):
                reader.loading = False
                reader.problem = message
                continue
            canvas = await self.get_state(CanvasState)
            if canvas.loading and payload.get("code") == "not_found":
                canvas.loading = False
            effects.append(rx.toast.error(message, duration=6000))
        return effects

    async def _disconnect(self) -> None:
        """Sign-out: close the link and forget what this tab showed."""
        token = self.router.session.client_token
        sprite = link.get(token)
        if sprite is not None:
            await sprite.close()
        self.connection = "offline"
        self.sprite_status = self.sprite_detail = self.problem = ""
        for state_cls in (ChatState, DocumentsState, StacksState, CheckpointsState, CanvasState):
            (await self.get_state(state_cls))._clear()


@dataclass
class Batch:
    """Frames received together, grouped in runs of one type, with payloads as dicts and the
    newest data of each artifact already prepared for its view."""

    runs: list[tuple[str, list[Frame], list[dict[str, Any]]]]
    ready: dict[str, Any]

    @classmethod
    def of(cls, frames: list[Frame]) -> Batch:
        runs: list[tuple[str, list[Frame], list[dict[str, Any]]]] = []
        for frame in frames:
            payload = frame.payload.model_dump(mode="json")
            if runs and runs[-1][0] == frame.type:
                runs[-1][1].append(frame)
                runs[-1][2].append(payload)
            else:
                runs.append((frame.type, [frame], [payload]))
        updates = [p for kind, _, payloads in runs if kind == "canvas_update" for p in payloads]
        return cls(runs, prepare_latest(updates) if updates else {})


async def _reap_if_orphaned(token: str) -> None:
    """Close a link no pump has picked up within TAB_GONE_SECONDS (its tab is gone)."""
    await asyncio.sleep(TAB_GONE_SECONDS)
    sprite = link.get(token)
    if sprite is not None and token not in _pumping and not sprite.pump_running:
        await sprite.close()
