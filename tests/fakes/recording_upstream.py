"""A recording fake of the upstream APIs behind the bridge's proxy (Anthropic and Mistral).

Served by uvicorn on 127.0.0.1 in a thread; every request is recorded (method, path, query,
headers, body) so a test can check what the proxy forwarded — above all which key it injected.

- ``POST /v1/messages`` with ``"stream": true``: an SSE answer whose first event
  (``message_start``, usage ``input_tokens``) is sent at once and the rest only after
  :meth:`RecordingUpstream.release` — a proxy that buffers would never show the first event, so
  streaming is proved without any timing. Without ``stream``: a JSON message with ``usage``.
- A request whose JSON body has ``"echo_key": true`` gets the key it was sent echoed back in a
  response header and in the body (the proxy must redact both).
- ``POST /v1/messages`` with ``"hang": true``: never answers; when the caller (the proxy) lets
  go of the request, :attr:`RecordingUpstream.abandoned` counts it.
- ``POST /v1/ocr``: a Mistral OCR answer (``usage_info.pages_processed`` = 3).
- Anything else: ``200 {"reached": path}`` — a proxy that forwards what it should refuse shows.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.processes import free_port

INPUT_TOKENS = 11
OUTPUT_TOKENS = 7
OCR_PAGES = 3


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


@dataclass
class RecordingUpstream:
    port: int = field(default_factory=free_port)
    requests: list[Recorded] = field(default_factory=list)
    abandoned: int = 0  # hanging requests the caller gave up on

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: asyncio.Event | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control

    def release(self) -> None:
        """Let every held SSE stream send the rest of its events."""
        assert self._loop is not None and self._gate is not None
        self._loop.call_soon_threadsafe(self._gate.set)

    def start(self) -> RecordingUpstream:
        app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE"])]
        )
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.02)
        return self

    def _run(self) -> None:
        assert self._server is not None
        self._loop = asyncio.new_event_loop()
        self._gate = asyncio.Event()
        self._loop.run_until_complete(self._server.serve())

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ------------------------------------------------------------------ the fake

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        record = Recorded(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        self.requests.append(record)
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = {}
        sent_key = record.headers.get("x-api-key") or record.headers.get("authorization", "")
        echo = isinstance(payload, dict) and payload.get("echo_key") is True
        echo_headers = {"x-echo-key": sent_key} if echo else {}
        if request.url.path == "/v1/messages":
            if isinstance(payload, dict) and payload.get("hang"):
                while not await request.is_disconnected():  # noqa: ASYNC110 - polling is the API
                    await asyncio.sleep(0.05)
                self.abandoned += 1
                return Response(status_code=504)
            if isinstance(payload, dict) and payload.get("stream"):
                return StreamingResponse(
                    self._stream(sent_key if echo else None),
                    media_type="text/event-stream",
                    headers=echo_headers,
                )
            return JSONResponse(
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "text", "text": f"echo {sent_key}" if echo else "hi"}],
                    "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
                },
                headers=echo_headers,
            )
        if request.url.path == "/v1/ocr":
            return JSONResponse(
                {
                    "pages": [
                        {
                            "index": 0,
                            "markdown": "# Invoice",
                            "images": [],
                            "dimensions": {"dpi": 200, "height": 2339, "width": 1654},
                        }
                    ],
                    "model": "mistral-ocr-latest",
                    "usage_info": {"pages_processed": OCR_PAGES, "doc_size_bytes": None},
                },
                headers=echo_headers,
            )
        return JSONResponse({"reached": request.url.path}, headers=echo_headers)

    async def _stream(self, echo_key: str | None):
        assert self._gate is not None
        yield _sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1},
                },
            },
        )
        await self._gate.wait()
        yield _sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "text", "text": ""}},
        )  # fmt: skip
        text = f"key was {echo_key}" if echo_key else "hello"
        yield _sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "text_delta", "text": text}},
        )  # fmt: skip
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        yield _sse(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
             "usage": {"output_tokens": OUTPUT_TOKENS}},
        )  # fmt: skip
        yield _sse("message_stop", {"type": "message_stop"})
