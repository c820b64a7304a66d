"""``/ws``: a WebSocket wrapped around one :class:`bridge.session.ClientSession`.

The socket loop only moves frames: text from the client goes to ``session.handle``; frames from
``session.outgoing()`` go to the client; when the session closes (refused token, expiry, slow
client, shutdown) the socket closes with the session's code (4401, 4403, 4408, 1001...).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from bridge.hub import Bridge
from bridge.session import CLOSE_NORMAL, CLOSE_UNAUTHORIZED, ClientSession

AUTH_TIMEOUT_SECONDS = 15.0
FLUSH_SECONDS = 5.0


def websocket_endpoint(get_bridge: Callable[[], Bridge]):
    async def relay(websocket: WebSocket) -> None:
        try:
            bridge = get_bridge()
        except RuntimeError:
            bridge = None
        await websocket.accept()
        if bridge is None or not bridge.started:
            await websocket.close(1013, "starting")
            return
        session = bridge.open_session()
        sender = asyncio.create_task(_send_loop(websocket, session))
        receiver = asyncio.create_task(_receive_loop(websocket, session))
        closed = asyncio.create_task(session.wait_closed())
        try:
            await asyncio.wait({sender, receiver, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            receiver.cancel()
            closed.cancel()
            await session.close(CLOSE_NORMAL)
            # The sender flushes what is left (the error frame, the close); a client that does
            # not read at all does not get to hold the connection open.
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(sender, FLUSH_SECONDS)
            with contextlib.suppress(BaseException):
                await receiver

    return relay


async def _receive_loop(websocket: WebSocket, session: ClientSession) -> None:
    receive = websocket.receive
    try:
        first = await asyncio.wait_for(receive(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        await session.fail(CLOSE_UNAUTHORIZED, "unauthorized", "no auth frame received in time")
        return
    message = first
    while True:
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        await session.handle(data)
        if session.closed:
            return
        try:
            message = await receive()
        except (WebSocketDisconnect, RuntimeError):
            return


async def _send_loop(websocket: WebSocket, session: ClientSession) -> None:
    send = websocket.send
    try:
        async for frame in session.outgoing():
            await send({"type": "websocket.send", "text": frame})
        await websocket.close(session.close_code or CLOSE_NORMAL, session.close_reason[:120])
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
