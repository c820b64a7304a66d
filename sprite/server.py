"""The Sprite's WebSocket server: authentication, the per-connection loop, start and stop.

A client proves it holds ``SPRITE_TOKEN`` with an ``Authorization: Bearer`` header or with a
first ``auth`` frame ``{"token": …}`` (constant-time comparison). A wrong or missing token gets
an ``error`` frame and close code 4401. After that, every frame is parsed by
``stackdocs.protocol.parse_frame`` (a bad frame gets an ``error`` frame back, never an exception)
and routed by :class:`sprite.runtime.SpriteRuntime`.

``serve`` runs until SIGTERM/SIGINT, then stops gracefully (see ``SpriteRuntime.shutdown``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import signal
import sys
from pathlib import Path
from typing import cast

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from sprite.clients import CLOSE_UNAUTHORIZED, Client
from sprite.runtime import SpriteRuntime
from stackdocs.config import SpriteSettings
from stackdocs.protocol import (
    CLIENT_TYPES,
    MAX_FRAME_BYTES,
    AuthPayload,
    FrameError,
    error_frame,
    parse_frame,
)

log = logging.getLogger("sprite.server")

AUTH_TIMEOUT_SECONDS = 10.0
_connection_numbers = itertools.count(1)


def token_matches(presented: str | None, expected: str) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


class SpriteServer:
    def __init__(self, runtime: SpriteRuntime, settings: SpriteSettings) -> None:
        self.runtime = runtime
        self.settings = settings

    async def _refuse(self, ws: ServerConnection, message: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(error_frame("unauthorized", message))
            await ws.close(CLOSE_UNAUTHORIZED, "unauthorized")

    async def _authenticate(self, ws: ServerConnection) -> bool:
        header = ws.request.headers.get("Authorization") if ws.request else None
        if header is not None and token_matches(bearer_token(header), self.settings.token):
            return True
        # A header that is not ours may belong to a proxy in front of the Sprite (the Sprites.dev
        # URL takes the org token as Bearer): the client must then prove itself in the first frame.
        try:
            raw = await asyncio.wait_for(ws.recv(), AUTH_TIMEOUT_SECONDS)
        except TimeoutError:
            await self._refuse(ws, "no auth frame received in time")
            return False
        frame = parse_frame(raw)
        if isinstance(frame, FrameError) or frame.type != "auth":
            await self._refuse(ws, "the first frame must be auth {token} (or send a Bearer header)")
            return False
        if not token_matches(cast(AuthPayload, frame.payload).token, self.settings.token):
            await self._refuse(ws, "invalid token")
            return False
        return True

    async def handle_connection(self, ws: ServerConnection) -> None:
        try:
            if not await self._authenticate(ws):
                return
        except ConnectionClosed:
            return
        client = Client(ws, f"c{next(_connection_numbers)}")
        client.start()
        self.runtime.hub.add(client)
        try:
            async for raw in ws:
                if client.closing:
                    break
                await self._handle_raw(ws, client, raw)
        except ConnectionClosed:
            pass
        finally:
            self.runtime.hub.remove(client)
            await client.stop()
            with contextlib.suppress(Exception):
                await self.runtime.client_gone(client)

    async def _handle_raw(self, ws: ServerConnection, client: Client, raw: str | bytes) -> None:
        frame = parse_frame(raw)
        if isinstance(frame, FrameError):
            client.send(frame.encode())
            return
        if frame.type not in CLIENT_TYPES:
            client.send(
                error_frame("not_allowed", f"clients may not send '{frame.type}'", id=frame.id)
            )
            return
        if frame.type == "auth":  # a token refresh on an open socket
            if not token_matches(cast(AuthPayload, frame.payload).token, self.settings.token):
                await client.stop()
                await self._refuse(ws, "invalid token")
            return
        try:
            await self.runtime.handle(client, frame)
        except Exception as exc:  # a bug in one handler must not end the connection
            log.exception("handling %s failed", frame.type)
            client.send(error_frame("internal", f"{frame.type} failed: {exc}", id=frame.id))


async def serve_until_stopped(
    workspace: Path, host: str, port: int, settings: SpriteSettings
) -> None:
    runtime = await SpriteRuntime.open(workspace, settings)
    server = SpriteServer(runtime, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with serve(
            server.handle_connection,
            host,
            port,
            max_size=2 * MAX_FRAME_BYTES,  # parse_frame answers frames over the limit itself
            max_queue=16,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=5,
            server_header=None,
        ) as ws_server:
            bound = ws_server.sockets[0].getsockname()
            print(f"sprite: listening on ws://{bound[0]}:{bound[1]}", flush=True)
            runtime.start()
            await stop.wait()
            log.info("stopping: closing connections")
            ws_server.close(close_connections=True)

            async def connections_closed() -> None:
                with contextlib.suppress(TimeoutError):  # let handlers finish their frame
                    await asyncio.wait_for(ws_server.wait_closed(), 10)

            # The document being read gets its grace period meanwhile.
            await asyncio.gather(connections_closed(), runtime.ingest.stop())
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runtime.shutdown()  # also when serving failed: the database must be closed
        log.info("stopped")


def run(workspace: Path, host: str, port: int, settings: SpriteSettings) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)  # one line per connection is noise
    from sprite.storage import StorageError

    try:
        asyncio.run(serve_until_stopped(workspace, host, port, settings))
    except StorageError as exc:
        print(f"stackdocs: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the port is taken, the workspace is not writable...
        print(f"stackdocs: cannot serve {workspace} on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    return 0
