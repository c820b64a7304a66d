"""A scripted fake of the Anthropic Messages API, served on 127.0.0.1 for tests and benches.

It speaks the public wire format: ``POST /v1/messages`` with ``"stream": true`` answers with the
documented server-sent-event sequence (``message_start``, then per content block
``content_block_start`` / ``content_block_delta`` (``text_delta`` or ``input_json_delta``) /
``content_block_stop``, then ``message_delta`` with the stop reason and usage, then
``message_stop``; ``ping`` events may appear anywhere), errors are ``{"type": "error", "error":
{"type", "message"}}`` bodies with the documented HTTP statuses, and an overloaded stream ends in
an ``error`` event.

Replies are chosen by **rules** matched against the request's content, never by time or by
arrival order alone: a rule says "when the last user turn says X" or "after the tool Y returned",
and answers with a :class:`Message`, an HTTP error, a broken stream or a hang. A rule may carry
several replies, used one per match (e.g. a 429 first, then the real answer). Every request is
recorded (headers and JSON body) so a test can assert what the model was sent and with which key.

Run standalone (for manual tries): ``python -m tests.fakes.anthropic_api --port 8765``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.processes import free_port

DEFAULT_MODEL = "fake-claude"


# ----------------------------------------------------------------------------- recorded requests


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any] | None
    matched_rule: str | None = None
    received_at: float = field(default_factory=time.monotonic)  # for benches: arrival …
    answered_at: float | None = None  # … and when the last byte of the answer was sent

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages") or [])

    @property
    def system_text(self) -> str:
        system = (self.body or {}).get("system")
        if isinstance(system, str):
            return system
        if isinstance(system, list):
            return "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
        return ""

    @property
    def tool_names(self) -> list[str]:
        return [t.get("name", "") for t in (self.body or {}).get("tools") or []]

    def _trailing_user_messages(self) -> list[dict[str, Any]]:
        """The user messages after the last assistant message: the turn being answered.

        (The CLI may append a ``system`` role message after the user's, so "the last message"
        is not always the user's.)"""
        trailing: list[dict[str, Any]] = []
        for message in reversed(self.messages):
            if message.get("role") == "assistant":
                break
            if message.get("role") == "user":
                trailing.append(message)
        return list(reversed(trailing))

    @property
    def last_user_text(self) -> str:
        """The text of the turn being answered (tool results excluded)."""
        return "\n".join(
            _text_of(m.get("content"), include_tool_results=False)
            for m in self._trailing_user_messages()
        )

    def tool_results(self) -> list[tuple[str, str, bool]]:
        """``(tool name, result text, is_error)`` for each tool result in the turn answered."""
        names: dict[str, str] = {}
        for message in self.messages:
            if message.get("role") == "assistant" and isinstance(message.get("content"), list):
                for block in message["content"]:
                    if isinstance(block, dict) and block.get("type") == "tool_use":
                        names[block.get("id", "")] = block.get("name", "")
        results = []
        for message in self._trailing_user_messages():
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    results.append(
                        (
                            names.get(block.get("tool_use_id", ""), ""),
                            _text_of(block.get("content"), include_tool_results=True),
                            bool(block.get("is_error")),
                        )
                    )
        return results

    @property
    def api_key(self) -> str | None:
        """The credential presented, whether as ``x-api-key`` or as a bearer token."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


def _text_of(content: Any, *, include_tool_results: bool) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result" and include_tool_results:
            parts.append(_text_of(block.get("content"), include_tool_results=True))
    return "\n".join(parts)


# ----------------------------------------------------------------------------- matchers

Matcher = Callable[[RecordedRequest], bool]


def user_says(fragment: str) -> Matcher:
    """The last turn is the user's and its text contains ``fragment``."""
    return lambda req: fragment in req.last_user_text


def after_tool(name: str, contains: str | None = None, *, is_error: bool | None = None) -> Matcher:
    """The last turn carries the result of a tool named ``name`` (or ``mcp__*__name``)."""

    def match(req: RecordedRequest) -> bool:
        for tool_name, text, error in req.tool_results():
            if tool_name != name and not tool_name.endswith(f"__{name}"):
                continue
            if contains is not None and contains not in text:
                continue
            if is_error is not None and error != is_error:
                continue
            return True
        return False

    return match


def system_says(fragment: str) -> Matcher:
    """The system prompt contains ``fragment`` (tells a sub-agent's requests from the main one)."""
    return lambda req: fragment in req.system_text


def all_of(*matchers: Matcher) -> Matcher:
    return lambda req: all(m(req) for m in matchers)


def anything(_req: RecordedRequest) -> bool:
    return True


# ----------------------------------------------------------------------------- replies


@dataclass
class Text:
    text: str


@dataclass
class ToolUse:
    name: str
    input: dict[str, Any]
    id: str | None = None


@dataclass
class Message:
    """A successful answer: text and tool_use blocks, streamed in small deltas."""

    blocks: Sequence[Text | ToolUse]
    stop_reason: str | None = None  # default: "tool_use" if any tool is used, else "end_turn"
    chunk_chars: int = 12  # size of each text_delta / input_json_delta
    pings: bool = True


@dataclass
class HttpError:
    """An error response before any stream starts (the documented JSON error body)."""

    status: int
    error_type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def rate_limited(retry_after: int = 1) -> HttpError:
    return HttpError(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit",
        {"retry-after": str(retry_after)},
    )


def server_error() -> HttpError:
    return HttpError(500, "api_error", "Internal server error")


def overloaded() -> HttpError:
    return HttpError(529, "overloaded_error", "Overloaded")


@dataclass
class StreamError:
    """A stream that starts normally, emits some text, then an ``error`` event (as when the API
    becomes overloaded mid-answer)."""

    partial_text: str = "Working on it"
    error_type: str = "overloaded_error"
    message: str = "Overloaded"


@dataclass
class Malformed:
    """A broken stream. ``kind``: ``garbage`` (a data line that is not JSON), ``truncated`` (the
    connection closes mid-message, no ``message_stop``), ``not_sse`` (200 with an HTML body)."""

    kind: str = "garbage"


@dataclass
class Hang:
    """Accept the request and never answer (``after_headers``: send 200 and the first event,
    then stall). Ends when the client gives up or the fake stops."""

    after_headers: bool = False


Reply = Message | HttpError | StreamError | Malformed | Hang


@dataclass
class Rule:
    """When ``match`` is true for a request, answer with the next of ``replies``. A rule whose
    replies are used up no longer matches (unless ``repeat`` — then the last reply repeats)."""

    match: Matcher
    replies: list[Reply]
    name: str = ""
    repeat: bool = False
    used: int = 0

    def exhausted(self) -> bool:
        return not self.repeat and self.used >= len(self.replies)

    def take(self) -> Reply:
        reply = self.replies[min(self.used, len(self.replies) - 1)]
        self.used += 1
        return reply


def rule(match: Matcher, *replies: Reply, name: str = "", repeat: bool = False) -> Rule:
    return Rule(match, list(replies), name=name, repeat=repeat)


def text_reply(text: str) -> Message:
    return Message([Text(text)])


def tool_reply(name: str, input: dict[str, Any], text: str | None = None) -> Message:
    blocks: list[Text | ToolUse] = [Text(text)] if text else []
    blocks.append(ToolUse(name, input))
    return Message(blocks)


# ----------------------------------------------------------------------------- SSE encoding


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _chunks(text: str, size: int) -> Iterable[str]:
    if not text:
        yield ""
        return
    for i in range(0, len(text), size):
        yield text[i : i + size]


class _Ids:
    def __init__(self) -> None:
        self._msg = itertools.count(1)
        self._tool = itertools.count(1)

    def message(self) -> str:
        return f"msg_fake_{next(self._msg):06d}"

    def tool(self) -> str:
        return f"toolu_fake_{next(self._tool):06d}"


def _usage(req_body: dict[str, Any], output_tokens: int) -> dict[str, Any]:
    approx_input = max(1, len(json.dumps(req_body.get("messages", []))) // 4)
    return {
        "input_tokens": approx_input,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _resolved_blocks(reply: Message, ids: _Ids) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in reply.blocks:
        if isinstance(block, Text):
            blocks.append({"type": "text", "text": block.text})
        else:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": block.id or ids.tool(),
                    "name": block.name,
                    "input": block.input,
                }
            )
    return blocks


def _stop_reason(reply: Message, blocks: list[dict[str, Any]]) -> str:
    if reply.stop_reason:
        return reply.stop_reason
    return "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"


def message_events(
    reply: Message,
    blocks: list[dict[str, Any]],
    message_id: str,
    model: str,
    usage: dict[str, Any],
) -> Iterable[bytes]:
    """The documented event sequence for one successful streamed message."""
    yield _sse(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {**usage, "output_tokens": 1},
            },
        },
    )
    if reply.pings:
        yield _sse("ping", {"type": "ping"})
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            yield _sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            for piece in _chunks(block["text"], reply.chunk_chars):
                yield _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
        else:
            yield _sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {
                        "type": "tool_use",
                        "id": block["id"],
                        "name": block["name"],
                        "input": {},
                    },
                },
            )
            # The API opens a tool's input with an empty partial_json, then streams the JSON.
            partial = json.dumps(block["input"])
            for piece in ["", *_chunks(partial, reply.chunk_chars)]:
                yield _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                )
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(reply, blocks), "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
    )
    yield _sse("message_stop", {"type": "message_stop"})


def _error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


# ----------------------------------------------------------------------------- the server


class FakeAnthropicAPI:
    """The fake, served by uvicorn in a background thread (its own event loop), so it answers
    while the test's own loop is busy driving the SDK."""

    def __init__(self, rules: Iterable[Rule] = (), *, model: str = DEFAULT_MODEL) -> None:
        self.rules: list[Rule] = list(rules)
        self.model = model
        self.requests: list[RecordedRequest] = []
        self.unmatched: list[RecordedRequest] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._ids = _Ids()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._released: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- scripting

    def add(self, *rules: Rule) -> FakeAnthropicAPI:
        with self._lock:
            self.rules.extend(rules)
        return self

    def reset(self, *rules: Rule) -> FakeAnthropicAPI:
        with self._lock:
            self.rules = list(rules)
            self.requests.clear()
            self.unmatched.clear()
        return self

    def release_hangs(self) -> None:
        """End every request held by a :class:`Hang` (now and later) with a 504."""
        if self._loop is not None and self._released is not None:
            self._loop.call_soon_threadsafe(self._released.set)

    def message_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/") == "/v1/messages"]

    def _choose(self, req: RecordedRequest) -> Reply | None:
        with self._lock:
            self.requests.append(req)
            for candidate in self.rules:
                if not candidate.exhausted() and candidate.match(req):
                    req.matched_rule = candidate.name or None
                    return candidate.take()
            self.unmatched.append(req)
            return None

    # -- HTTP

    async def _messages(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        if not isinstance(body, dict):
            self._choose(recorded)
            return JSONResponse(
                _error_body("invalid_request_error", "body is not a JSON object"), 400
            )
        if request.url.path.endswith("/count_tokens"):
            self._choose(recorded)
            return JSONResponse({"input_tokens": _usage(body, 0)["input_tokens"]})
        reply = self._choose(recorded)
        if reply is None:
            reply = text_reply("[fake model] no scripted rule matched this request.")
        model = body.get("model") or self.model
        return await self._answer(
            reply,
            body,
            model,
            stream=bool(body.get("stream")),
            request=request,
            recorded=recorded,
        )

    async def _answer(
        self,
        reply: Reply,
        body: dict[str, Any],
        model: str,
        *,
        stream: bool,
        request: Request,
        recorded: RecordedRequest,
    ) -> Response:
        headers = {"request-id": f"req_fake_{len(self.requests):06d}"}
        if isinstance(reply, HttpError):
            return JSONResponse(
                _error_body(reply.error_type, reply.message),
                reply.status,
                headers={**headers, **reply.headers},
            )
        if isinstance(reply, Hang):
            return await self._hang(reply, request, headers)
        if isinstance(reply, Malformed):
            return self._malformed(reply, headers, model)
        if isinstance(reply, StreamError):
            return StreamingResponse(
                self._stream_error(reply, body, model),
                media_type="text/event-stream",
                headers=headers,
            )
        blocks = _resolved_blocks(reply, self._ids)
        output_tokens = max(1, sum(len(json.dumps(b)) for b in blocks) // 4)
        usage = _usage(body, output_tokens)
        message_id = self._ids.message()
        if not stream:
            return JSONResponse(
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": blocks,
                    "stop_reason": _stop_reason(reply, blocks),
                    "stop_sequence": None,
                    "usage": usage,
                },
                headers=headers,
            )
        events = list(message_events(reply, blocks, message_id, model, usage))

        async def send() -> Any:
            for event in events:
                yield event
            recorded.answered_at = time.monotonic()

        return StreamingResponse(send(), media_type="text/event-stream", headers=headers)

    async def _stream_error(self, reply: StreamError, body: dict[str, Any], model: str) -> Any:
        partial = Message([Text(reply.partial_text)], pings=False)
        blocks = _resolved_blocks(partial, self._ids)
        events = list(message_events(partial, blocks, self._ids.message(), model, _usage(body, 1)))
        # message_start, the text block's start and deltas — then the error instead of the rest.
        for event in events[:-3]:
            yield event
        yield _sse("error", _error_body(reply.error_type, reply.message))

    def _malformed(self, reply: Malformed, headers: dict[str, str], model: str) -> Response:
        if reply.kind == "not_sse":
            return Response(
                "<html><body>502 Bad Gateway</body></html>",
                200,
                media_type="text/html",
                headers=headers,
            )
        start = message_events(
            text_reply("x"),
            [{"type": "text", "text": "x"}],
            self._ids.message(),
            model,
            _usage({}, 1),
        )
        first = next(iter(start))

        async def send() -> Any:
            yield first
            if reply.kind == "garbage":
                yield b"event: content_block_start\ndata: {this is not json\n\n"
                yield b"event: content_block_delta\ndata: \x00\x01garbage\n\n"
            # "truncated": close after message_start, without message_stop.

        return StreamingResponse(send(), media_type="text/event-stream", headers=headers)

    async def _hang(self, reply: Hang, request: Request, headers: dict[str, str]) -> Response:
        assert self._released is not None
        released = self._released

        async def wait_until_gone() -> None:
            while not released.is_set():
                if await request.is_disconnected():
                    return
                try:
                    await asyncio.wait_for(released.wait(), 0.2)
                except TimeoutError:
                    pass

        if not reply.after_headers:
            await wait_until_gone()
            return Response(status_code=504)

        async def send() -> Any:
            yield b'event: ping\ndata: {"type":"ping"}\n\n'
            await wait_until_gone()

        return StreamingResponse(send(), media_type="text/event-stream", headers=headers)

    async def _other(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        recorded = RecordedRequest(
            request.method,
            request.url.path,
            request.url.query,
            {k.lower(): v for k, v in request.headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(recorded)
            self.unmatched.append(recorded)
        return JSONResponse(_error_body("not_found_error", f"no route {request.url.path}"), 404)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._messages, methods=["POST"]),
                Route(
                    "/{path:path}",
                    self._other,
                    methods=["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"],
                ),
            ]
        )

    # -- lifecycle

    def start(self) -> FakeAnthropicAPI:
        config = uvicorn.Config(
            self.app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._released = asyncio.Event()

            async def main() -> None:
                assert self._server is not None
                task = asyncio.create_task(self._server.serve())
                while not self._server.started and not task.done():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                ready.set()
                await task

            loop.run_until_complete(main())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-anthropic", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Anthropic API did not start")
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        if self._loop is not None and self._released is not None:
            self._loop.call_soon_threadsafe(self._released.set)
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = None

    def __enter__(self) -> FakeAnthropicAPI:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def main() -> None:  # pragma: no cover - manual use
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    fake = FakeAnthropicAPI([rule(anything, text_reply("Hello from the fake model."), repeat=True)])
    if args.port:
        fake.port, fake.url = args.port, f"http://127.0.0.1:{args.port}"
    with fake:
        print(fake.url, flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    main()
