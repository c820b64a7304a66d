"""One browser tab's line to its Sprite: the bridge's ``ClientSession``, wrapped for Reflex.

Reflex state is serialised between events, so a live session cannot live in it. A
:class:`SpriteLink` lives in this process instead, keyed by the tab's Reflex client token:

- frames *to* the Sprite are queued and written by one writer task, in order, so an event
  handler never waits on the network while it holds the state lock;
- frames *from* the Sprite are collected in an inbox that the tab's single background task
  (``app/workspace.py``) drains every ~50 ms and applies to state in one batch.

The UI never learns a Sprite's address or token: it only holds this object, which only holds
a ``ClientSession`` — the same code path the ``/ws`` relay uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from stackdocs import protocol

log = logging.getLogger(__name__)

# Frames waiting to be applied. A slow tab must not grow without bound: past this, the oldest
# streaming frames are dropped (the next `state` redraw repairs the view).
MAX_INBOX = 20_000
MAX_OUTBOX = 256


class Session(Protocol):
    """What ``bridge.session.ClientSession`` offers (docs/architecture.md)."""

    async def handle(self, raw: str) -> None: ...
    def outgoing(self) -> AsyncIterator[str]: ...
    async def close(self) -> None: ...


class SpriteLink:
    def __init__(self, client_token: str, session: Session) -> None:
        self.client_token = client_token
        self.session = session
        self.inbox: list[protocol.Frame] = []
        self.arrived = asyncio.Event()
        self.closed = asyncio.Event()
        self.dropped = 0
        self.pump_running = False  # set by the tab's background task while it drains us
        self._outbox: asyncio.Queue[tuple[str, asyncio.Future[None] | None]] = asyncio.Queue(
            MAX_OUTBOX
        )
        self._upload_received: dict[str, int] = {}
        self._upload_progress = asyncio.Condition()
        self._tasks = [
            asyncio.create_task(self._read(), name=f"sprite-link-read-{client_token[:8]}"),
            asyncio.create_task(self._write(), name=f"sprite-link-write-{client_token[:8]}"),
        ]

    # ------------------------------------------------------------------ to the Sprite

    async def send(
        self,
        msg_type: str,
        payload: dict[str, Any],
        *,
        id: str | None = None,
        wait: bool = False,
    ) -> None:
        """Queue a frame. With ``wait`` return only once the session has taken it (pacing)."""
        if self.closed.is_set():
            raise ConnectionError("the workspace connection is closed")
        done: asyncio.Future[None] | None = None
        if wait:
            done = asyncio.get_running_loop().create_future()
        await self._outbox.put((protocol.encode(msg_type, payload, id=id), done))
        if done is not None:
            await done

    async def _write(self) -> None:
        while True:
            raw, done = await self._outbox.get()
            try:
                await self.session.handle(raw)
            except Exception as exc:  # a broken session ends the link, the tab reconnects
                log.warning("sprite link %s: send failed: %s", self.client_token[:8], exc)
                if done is not None and not done.done():
                    done.set_exception(ConnectionError(str(exc)))
                await self._shutdown()
                return
            if done is not None and not done.done():
                done.set_result(None)

    # ------------------------------------------------------------------ from the Sprite

    async def _read(self) -> None:
        try:
            async for raw in self.session.outgoing():
                frame = protocol.parse_frame(raw)
                if isinstance(frame, protocol.FrameError):
                    log.warning("sprite link: unreadable frame: %s", frame.message)
                    continue
                if frame.type == "upload_progress":
                    await self._note_upload_progress(frame.payload.model_dump())
                self.inbox.append(frame)
                if len(self.inbox) > MAX_INBOX:
                    drop = len(self.inbox) - MAX_INBOX
                    del self.inbox[:drop]
                    self.dropped += drop
                self.arrived.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("sprite link %s: receive failed: %s", self.client_token[:8], exc)
        await self._shutdown()

    def take(self) -> list[protocol.Frame]:
        """Everything received since the last call, oldest first."""
        frames, self.inbox = self.inbox, []
        self.arrived.clear()
        return frames

    # ------------------------------------------------------------------ upload pacing

    async def _note_upload_progress(self, payload: dict[str, Any]) -> None:
        async with self._upload_progress:
            self._upload_received[str(payload.get("upload_id"))] = int(payload.get("received", 0))
            self._upload_progress.notify_all()

    async def wait_for_upload(self, upload_id: str, received: int) -> None:
        """Wait until the Sprite reports ``received`` bytes of ``upload_id`` (or the link ends)."""
        async with self._upload_progress:
            await self._upload_progress.wait_for(
                lambda: self._upload_received.get(upload_id, 0) >= received or self.closed.is_set()
            )

    def upload_received(self, upload_id: str) -> int | None:
        return self._upload_received.get(upload_id)

    def forget_upload(self, upload_id: str) -> None:
        self._upload_received.pop(upload_id, None)

    # ------------------------------------------------------------------ lifecycle

    async def _shutdown(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self.arrived.set()
        async with self._upload_progress:
            self._upload_progress.notify_all()
        with contextlib.suppress(Exception):
            await self.session.close()
        if _links.get(self.client_token) is self:
            del _links[self.client_token]

    async def close(self) -> None:
        await self._shutdown()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


_links: dict[str, SpriteLink] = {}


def get(client_token: str) -> SpriteLink | None:
    found = _links.get(client_token)
    return None if found is None or found.closed.is_set() else found


def attach(client_token: str, session: Session) -> SpriteLink:
    """Start a link over ``session`` for this tab (the caller closes any previous one)."""
    sprite_link = SpriteLink(client_token, session)
    _links[client_token] = sprite_link
    return sprite_link


def count() -> int:
    return sum(1 for sprite_link in _links.values() if not sprite_link.closed.is_set())
