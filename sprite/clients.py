"""Connected clients and their bounded send queues.

Every frame for a client goes through :meth:`Client.send`, which never blocks: it appends to
the client's queue, and one writer task per client drains the queue into the socket. A client
that stops reading lets its queue grow until a frame or byte limit; then it is disconnected with
close code :data:`CLOSE_TOO_SLOW` instead of the Sprite's memory growing without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any, Protocol

log = logging.getLogger("sprite.clients")

CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 4429
MAX_QUEUED_FRAMES = 2000
MAX_QUEUED_BYTES = 32 * 1024 * 1024
CLOSE_GRACE_SECONDS = 10.0


class Socket(Protocol):
    async def send(self, message: str) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class Client:
    """One authenticated connection. ``state`` is scratch space for per-connection services
    (e.g. chunked uploads in progress)."""

    def __init__(
        self,
        socket: Socket,
        name: str,
        *,
        max_frames: int = MAX_QUEUED_FRAMES,
        max_bytes: int = MAX_QUEUED_BYTES,
    ) -> None:
        self.socket = socket
        self.name = name
        self.state: dict[str, Any] = {}
        self._queue: deque[str] = deque()
        self._queued_bytes = 0
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        self._wake = asyncio.Event()
        self._closing = False
        self._writer: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        return self._closing

    def start(self) -> None:
        self._writer = asyncio.create_task(self._drain(), name=f"writer-{self.name}")

    def send(self, frame: str) -> bool:
        """Queue a frame; returns False (and disconnects the client) if it is too far behind."""
        if self._closing:
            return False
        if (
            len(self._queue) >= self._max_frames
            or self._queued_bytes + len(frame) > self._max_bytes
        ):
            log.warning(
                "client %s is not reading: disconnecting (%d frames, %d bytes queued)",
                self.name,
                len(self._queue),
                self._queued_bytes,
            )
            self._abandon(CLOSE_TOO_SLOW, "client too slow: send queue overflow")
            return False
        self._queue.append(frame)
        self._queued_bytes += len(frame)
        self._wake.set()
        return True

    def _abandon(self, code: int, reason: str) -> None:
        self._closing = True
        self._queue.clear()
        self._queued_bytes = 0
        self._wake.set()
        if self._writer is not None:
            self._writer.cancel()
        self._close_task = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        # The close frame goes behind the frames already in the socket's buffers; a client that
        # never reads them would keep close() waiting forever, so give up and drop the TCP
        # connection after a while (its buffers are freed with it).
        try:
            await asyncio.wait_for(self.socket.close(code, reason), CLOSE_GRACE_SECONDS)
        except Exception:
            transport = getattr(self.socket, "transport", None)
            if transport is not None:
                transport.abort()

    async def _drain(self) -> None:
        try:
            while True:
                while self._queue:
                    frame = self._queue.popleft()
                    self._queued_bytes -= len(frame)
                    await self.socket.send(frame)
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the socket went away: the reader side cleans up
            log.debug("writer for %s stopped: %s", self.name, exc)

    async def stop(self) -> None:
        """Stop the writer (the connection is closing); let a close we started finish first,
        so the client hears our close code rather than a generic one."""
        self._closing = True
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        if self._close_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._close_task


class Hub:
    """The set of connected clients; broadcasting never waits for any of them."""

    def __init__(self) -> None:
        self._clients: set[Client] = set()

    def add(self, client: Client) -> None:
        self._clients.add(client)

    def remove(self, client: Client) -> None:
        self._clients.discard(client)

    def __len__(self) -> int:
        return len(self._clients)

    def broadcast(self, frame: str) -> None:
        for client in list(self._clients):
            client.send(frame)
