"""One client of the bridge (a browser tab's Reflex state or a ``/ws`` socket) and its relay.

The one path from a client to its Sprite — the ``/ws`` route and the Reflex UI both use it::

    from bridge.hub import current_bridge

    session = current_bridge().open_session()
    await session.handle('{"type":"auth","payload":{"token":"<JWT>"}}')   # first frame
    await session.handle('{"type":"state_request","payload":{}}')
    async for frame in session.outgoing():      # JSON text frames for the client, in order
        ...                                     # ends when the session closes
    await session.close()

or, for a caller that holds a token and prefers an exception to an ``error`` frame::

    session = await current_bridge().connect(token)    # raises bridge.auth.AuthError

Behaviour:

- The first frame must be ``auth``; the token is verified (``bridge.auth``) and the Sprite is the
  one of the token's ``sub`` — nothing the client sends can name another. A refused token gives
  an ``error`` frame, then the session closes with :attr:`close_code` 4401 (4403 for a suspended
  or deleted account). Later ``auth`` frames refresh the token (same subject only); if the
  current token expires without a refresh: ``error`` ``token_expired``, close 4401.
- ``checkpoint_list`` / ``checkpoint_create`` / ``checkpoint_restore`` are answered by the bridge
  (``checkpoints {items}``, same ``id``); every other client type is relayed to the Sprite
  unchanged and in order, and everything the Sprite sends comes back unchanged and in order
  (``ping`` included: the Sprite answers ``pong``).
- The Sprite is woken on sign-in and whenever it is needed; frames sent meanwhile wait in a
  queue and are delivered once it is up (nothing is lost, no error). ``sprite_status`` frames
  (``asleep``/``waking``/``ready``/``error``) tell the client what is happening. If the
  connection to the Sprite drops (crash, restart, restore), the session wakes it again,
  reconnects and sends ``state_reload {}`` so the UI redraws from ``state``.
- Frames for the client wait in a queue bounded in frames and bytes; a client that stops reading for
  :data:`SLOW_CLIENT_SECONDS` while it is full is disconnected (close 4408) instead of holding
  up its Sprite — it reconnects and redraws from ``state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from bridge.auth import LEEWAY_SECONDS, AuthError
from bridge.providers.base import ProviderError, SpriteEndpoint
from stackdocs.protocol import (
    BRIDGE_TYPES,
    CLIENT_TYPES,
    MAX_FRAME_BYTES,
    FrameError,
    encode,
    error_frame,
    parse_frame,
)

if TYPE_CHECKING:
    from bridge.hub import Bridge
    from bridge.lifecycle import SpriteLifecycle

log = logging.getLogger("bridge.session")

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL = 1011
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SLOW_CLIENT = 4408
SPRITE_CLOSE_TOO_SLOW = 4429  # the Sprite's code for a connection that does not read

OUTBOX_FRAMES = 512  # frames waiting for the client...
OUTBOX_BYTES = 32 * 1024 * 1024  # ...and their size (one frame always fits, however large)
TO_SPRITE_FRAMES = 64  # frames waiting for the Sprite (the client's sender waits beyond this)
SLOW_CLIENT_SECONDS = 10.0
MAX_START_FAILURES = 5  # consecutive failures to reach the Sprite before giving up
SPRITE_MAX_FRAME_BYTES = 4 * MAX_FRAME_BYTES


RELAYED_TYPES = CLIENT_TYPES - BRIDGE_TYPES


def _frame_type(raw: str | bytes) -> str | None:
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("payload", {}), dict | None):
        return None
    kind = obj.get("type")
    return kind if isinstance(kind, str) else None


def ws_close_code(ws) -> int | None:
    return getattr(ws, "close_code", None) if ws is not None else None


class _Outbox:
    """A bounded FIFO of frames for the client that can be closed (the rest still drains)."""

    def __init__(self, limit: int, max_bytes: int = OUTBOX_BYTES) -> None:
        self._items: deque[str] = deque()
        self._limit = limit
        self._max_bytes = max_bytes
        self._bytes = 0
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self.closed = False

    def put_nowait(self, item: str, *, force: bool = False) -> bool:
        if self.closed:
            return True
        if not force and self._items and self._full(len(item)):
            return False
        self._items.append(item)
        self._bytes += len(item)
        self._readable.set()
        return True

    def _full(self, incoming: int = 0) -> bool:
        return len(self._items) >= self._limit or self._bytes + incoming > self._max_bytes

    async def put(self, item: str, wait_seconds: float) -> bool:
        if self.put_nowait(item):
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while self._items and self._full(len(item)) and not self.closed:
            self._writable.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._writable.wait(), remaining)
            except TimeoutError:
                return False
        return self.put_nowait(item)

    def close(self) -> None:
        self.closed = True
        self._readable.set()

    async def get(self) -> str | None:
        while not self._items:
            if self.closed:
                return None
            self._readable.clear()
            await self._readable.wait()
        item = self._items.popleft()
        self._bytes -= len(item)
        self._writable.set()
        return item


class ClientSession:
    def __init__(
        self,
        bridge: Bridge,
        *,
        outbox_frames: int = OUTBOX_FRAMES,
        slow_client_seconds: float = SLOW_CLIENT_SECONDS,
    ) -> None:
        self._bridge = bridge
        self._slow_client_seconds = slow_client_seconds
        self._closed_event = asyncio.Event()
        self.user_id: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._outbox = _Outbox(outbox_frames)
        self._to_sprite: asyncio.Queue[str] = asyncio.Queue(maxsize=TO_SPRITE_FRAMES)
        self._carry: str | None = None  # taken from _to_sprite, not yet sent
        self._waiting_for_client = False  # the relay waits for room in the outbox
        self._sprite_ws = None  # the open connection to the Sprite, when there is one
        self._sprite: SpriteLifecycle | None = None
        self._upstream: asyncio.Task[None] | None = None
        self._expiry: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._expires_at = 0.0
        self._auth_lock = asyncio.Lock()

    # ------------------------------------------------------------------ public API

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    async def handle(self, raw: str | bytes) -> None:
        """Take one frame from the client (JSON text). Never raises for bad input."""
        if self.closed:
            return
        if self.user_id is not None and len(raw) <= MAX_FRAME_BYTES:
            # Hot path: a frame for the Sprite is relayed as it came (the Sprite validates its
            # payload and answers errors with the frame's id); only its type is read here.
            kind = _frame_type(raw)
            if kind in RELAYED_TYPES:
                await self._relay(raw if isinstance(raw, str) else raw.decode("utf-8", "replace"))
                return
        frame = parse_frame(raw)
        if not self.authenticated:
            if isinstance(frame, FrameError) or frame.type != "auth":
                await self.fail(
                    CLOSE_UNAUTHORIZED, "unauthorized", "the first frame must be auth {token}"
                )
                return
            await self._auth_frame(frame.payload.token, frame.id)  # type: ignore[attr-defined]
            return
        if isinstance(frame, FrameError):
            self._send(frame.encode())
            return
        if frame.type not in CLIENT_TYPES:
            self._send(
                error_frame("not_allowed", f"clients may not send '{frame.type}'", id=frame.id)
            )
            return
        if frame.type in BRIDGE_TYPES:
            if frame.type == "auth":
                await self._auth_frame(frame.payload.token, frame.id)  # type: ignore[attr-defined]
            else:
                self._spawn(self._checkpoint_request(frame.type, frame.payload, frame.id))
            return
        text = raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
        await self._relay(text)

    async def _relay(self, text: str) -> None:
        ws = self._sprite_ws
        if ws is not None and self._carry is None and self._to_sprite.empty():
            # Nothing waits before this frame: send it now instead of via the writer task.
            try:
                await ws.send(text)
                return
            except ConnectionClosed:
                pass  # the relay reconnects; the writer sends it on the new connection
        await self._to_sprite.put(text)

    async def outgoing(self) -> AsyncIterator[str]:
        """Frames for the client, in order; ends after the session closed and drained."""
        while True:
            item = await self._outbox.get()
            if item is None:
                return
            yield item

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """End the session (idempotent): stop relaying, let the Sprite idle if no one is left."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        self._outbox.close()
        self._closed_event.set()
        self._bridge.forget_session(self)
        if self._sprite is not None:
            self._sprite.detach(self)
        me = asyncio.current_task()
        tasks = [
            t
            for t in (self._upstream, self._expiry, *self._side_tasks)
            if t is not None and t is not me and not t.done()
        ]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def wait_closed(self) -> None:
        await self._closed_event.wait()

    async def authenticate(self, token: str) -> None:
        """Sign in with ``token`` (as an ``auth`` frame would); raises :class:`AuthError`."""
        await self._authenticate(token)

    # ------------------------------------------------------------------ used by the lifecycle

    def notify(self, frame: str) -> None:
        """A bridge frame for this client (``sprite_status``, ``state_reload``...)."""
        self._send(frame)

    # ------------------------------------------------------------------ auth

    async def _auth_frame(self, token: str, frame_id: str | None) -> None:
        try:
            await self._authenticate(token)
        except AuthError as exc:
            code = CLOSE_FORBIDDEN if exc.code.startswith("account_") else CLOSE_UNAUTHORIZED
            await self.fail(code, exc.code, exc.message, frame_id)
        except ProviderError as exc:
            await self.fail(CLOSE_INTERNAL, exc.code, exc.message, frame_id)

    async def _authenticate(self, token: str) -> None:
        async with self._auth_lock:
            if self.closed:
                raise AuthError("closed", "the session is closed")
            claims = await self._bridge.verifier.verify(token)
            if self.user_id is None:
                sprite = await self._bridge.sign_in(claims)
                if self.closed:
                    return
                self.user_id = claims.subject
                self._sprite = sprite
                sprite.attach(self)
                self._send(sprite.status_frame())
                self._upstream = asyncio.create_task(
                    self._run_upstream(), name=f"upstream:{claims.subject}"
                )
            elif claims.subject != self.user_id:
                raise AuthError(
                    "auth_mismatch", "a refreshed token must be for the user who signed in"
                )
            self._expires_at = claims.expires_at
            if self._expiry is not None:
                self._expiry.cancel()
            self._expiry = asyncio.create_task(self._expire_at_deadline())

    async def _expire_at_deadline(self) -> None:
        await asyncio.sleep(max(0.0, self._expires_at + LEEWAY_SECONDS - time.time()))
        self._expiry = None
        await self.fail(CLOSE_UNAUTHORIZED, "token_expired", "the token expired without a refresh")

    # ------------------------------------------------------------------ delivery

    def _send(self, frame: str) -> None:
        if not self._outbox.put_nowait(frame):
            self._spawn(self._drop_slow_client())

    async def _deliver_from_sprite(self, frame: str) -> None:
        if self._outbox.put_nowait(frame):
            return
        self._waiting_for_client = True
        try:
            delivered = await self._outbox.put(frame, self._slow_client_seconds)
        finally:
            self._waiting_for_client = False
        if not delivered:
            # Closing from a separate task: this one is part of the relay that close() ends.
            self._spawn(self._drop_slow_client())
            await asyncio.Event().wait()

    async def _drop_slow_client(self) -> None:
        log.warning("client of %s too slow: disconnecting it", self.user_id)
        await self.fail(
            CLOSE_SLOW_CLIENT, "slow_client", "the client did not read its frames in time"
        )

    async def fail(
        self, close_code: int, code: str, message: str, frame_id: str | None = None
    ) -> None:
        if self.closed:
            return
        self._outbox.put_nowait(error_frame(code, message, id=frame_id), force=True)
        await self.close(close_code, code)

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    # ------------------------------------------------------------------ checkpoints

    async def _checkpoint_request(self, kind: str, payload, frame_id: str | None) -> None:
        assert self._sprite is not None
        try:
            if kind == "checkpoint_create":
                await self._sprite.checkpoint_create(payload.comment)
            elif kind == "checkpoint_restore":
                await self._sprite.checkpoint_restore(payload.checkpoint_id)
            items = await self._sprite.checkpoint_list()
        except ProviderError as exc:
            self._send(error_frame(exc.code, exc.message, id=frame_id))
            return
        except Exception as exc:
            log.exception("%s failed for %s", kind, self.user_id)
            self._send(error_frame("checkpoint_failed", f"{kind} failed: {exc}", id=frame_id))
            return
        self._send(encode("checkpoints", {"items": [c.to_payload() for c in items]}, id=frame_id))

    # ------------------------------------------------------------------ the relay

    async def _run_upstream(self) -> None:
        """Keep one connection to the user's Sprite while the session lives."""
        assert self._sprite is not None
        sprite = self._sprite
        lost: SpriteEndpoint | None = None
        failures = 0
        while not self.closed:
            ws = None
            if failures:
                await asyncio.sleep(min(0.05 * 2 ** (failures - 1), 2.0))
            try:
                endpoint = await sprite.endpoint(replacing=lost)
            except ProviderError as exc:
                failures += 1
                self._send(error_frame("sprite_unavailable", exc.message))
                if failures >= MAX_START_FAILURES:
                    await self.fail(
                        CLOSE_INTERNAL, "sprite_unavailable", "the workspace cannot be started"
                    )
                    return
                lost = None
                continue
            try:
                async with websockets.connect(
                    endpoint.url,
                    additional_headers=endpoint.headers or None,
                    max_size=SPRITE_MAX_FRAME_BYTES,
                    compression=None,
                    open_timeout=15,
                    ping_interval=20,
                    ping_timeout=20,
                    close_timeout=2,
                ) as ws:
                    await ws.send(encode("auth", {"token": endpoint.token}))
                    if lost is not None:
                        self._send(encode("state_reload", {}))
                    received, stalled = await self._pipe(ws)
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed):
                received = stalled = False
            if self.closed:
                return
            if stalled or ws_close_code(ws) == SPRITE_CLOSE_TOO_SLOW:
                # The bridge stops reading from the Sprite only while this client's outbox is
                # full, so the Sprite dropped us because the client does not read.
                await self.fail(
                    CLOSE_SLOW_CLIENT, "slow_client", "the client did not read its frames"
                )
                return
            failures = 0 if received else failures + 1
            if failures >= MAX_START_FAILURES * 2:
                await self.fail(
                    CLOSE_INTERNAL, "sprite_unavailable", "the workspace keeps disconnecting"
                )
                return
            lost = endpoint

    async def _pipe(self, ws) -> tuple[bool, bool]:
        """Relay both ways until the Sprite side ends. Returns (the Sprite sent anything,
        the relay was waiting for the client to read when it ended)."""
        received = False

        async def from_sprite() -> None:
            nonlocal received
            async for message in ws:
                received = True
                if isinstance(message, bytes):
                    message = message.decode("utf-8", errors="replace")
                await self._deliver_from_sprite(message)

        async def to_sprite() -> None:
            while True:
                if self._carry is None:
                    if self._to_sprite.empty():
                        # The frames queued while (re)connecting are out: from now on handle()
                        # may send directly while nothing waits.
                        self._sprite_ws = ws
                    self._carry = await self._to_sprite.get()
                await ws.send(self._carry)
                self._carry = None

        reader = asyncio.create_task(from_sprite())
        writer = asyncio.create_task(to_sprite())
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            stalled = self._waiting_for_client
        finally:
            self._sprite_ws = None
            for task in (reader, writer):
                task.cancel()
            for task in (reader, writer):
                with contextlib.suppress(BaseException):
                    await task
        return received, stalled
