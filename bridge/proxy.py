"""``/proxy/anthropic/...`` and ``/proxy/mistral/...``: the key-injecting proxy.

A Sprite holds no API key. Its SDKs are pointed at these routes with the per-sprite proxy token in
place of a key (the Claude CLI sends it as ``x-api-key``, the mistralai SDK as
``Authorization: Bearer``; both are accepted). For each request the proxy

1. finds the user whose Sprite holds the token (unknown or revoked → 401);
2. checks the path and method against an allow-list (anything else → 404), and builds the
   upstream URL from the configured base only — a request cannot name another host;
3. forwards an allow-listed subset of the headers plus the real key (``ANTHROPIC_API_KEY`` as
   ``x-api-key``, ``MISTRAL_API_KEY`` as ``Authorization: Bearer``), streaming the body;
4. streams the answer back chunk by chunk (SSE is never buffered), with every occurrence of a
   real key replaced by ``[redacted]`` in headers and body (a key split across chunks too);
5. counts usage for the user in the platform DB (requests, tokens or OCR pages, as the upstream
   reported them).

The pure parts (allow-list, header filters, :class:`SecretRedactor`, :class:`UsageScanner`)
are tested without a socket.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from bridge.hub import Bridge

log = logging.getLogger("bridge.proxy")

REDACTED = b"[redacted]"


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: frozenset[str]


def _route(pattern: str, *methods: str) -> Route:
    return Route(re.compile(pattern), frozenset(methods))


_ID = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"
ALLOWED: dict[str, tuple[Route, ...]] = {
    "anthropic": (
        _route(r"v1/messages", "POST"),
        _route(r"v1/messages/count_tokens", "POST"),
        _route(r"v1/models", "GET"),
        _route(rf"v1/models/{_ID}", "GET"),
    ),
    "mistral": (
        _route(r"v1/ocr", "POST"),
        _route(r"v1/files", "GET", "POST"),
        _route(rf"v1/files/{_ID}", "GET", "DELETE"),
        _route(rf"v1/files/{_ID}/(url|content)", "GET"),
    ),
}
FORWARDED_REQUEST_HEADERS = frozenset(
    {"content-type", "content-length", "accept", "anthropic-version", "anthropic-beta",
     "user-agent", "idempotency-key"}
)  # fmt: skip
FORWARDED_REQUEST_PREFIXES = ("x-stainless-",)
RETURNED_RESPONSE_HEADERS = frozenset({"content-type", "retry-after", "request-id", "x-request-id"})
RETURNED_RESPONSE_PREFIXES = ("anthropic-", "x-ratelimit-", "ratelimit-")


def is_allowed(service: str, path: str, method: str) -> bool:
    """Whether ``METHOD /path`` (without leading slash) may be forwarded to ``service``."""
    for route in ALLOWED.get(service, ()):
        if route.pattern.fullmatch(path):
            return method in route.methods
    return False


def presented_token(headers: dict[str, str] | object) -> str | None:
    """The proxy token from ``x-api-key`` or ``Authorization: Bearer`` (either SDK's way)."""
    get = headers.get  # type: ignore[attr-defined]
    key = get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = (get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def upstream_headers(request_headers, service: str, real_key: str | None) -> dict[str, str]:
    headers = {}
    for name, value in request_headers.items():
        lower = name.lower()
        if lower in FORWARDED_REQUEST_HEADERS or lower.startswith(FORWARDED_REQUEST_PREFIXES):
            headers[lower] = value
    # Uncompressed bytes: the usage scanner and the redactor read the stream as it passes.
    headers["accept-encoding"] = "identity"
    if real_key:
        if service == "anthropic":
            headers["x-api-key"] = real_key
        else:
            headers["authorization"] = f"Bearer {real_key}"
    return headers


class SecretRedactor:
    """Replaces secrets in a byte stream, holding back only a possible start of a secret."""

    def __init__(self, secrets: list[str]) -> None:
        self._secrets = [s.encode() for s in secrets if s]
        self._hold = b""

    def redact_text(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret.decode(), REDACTED.decode())
        return text

    def feed(self, chunk: bytes) -> bytes:
        if not self._secrets:
            return chunk
        data = self._hold + chunk
        for secret in self._secrets:
            if secret in data:
                data = data.replace(secret, REDACTED)
        keep = 0
        for secret in self._secrets:
            keep = max(keep, _longest_suffix_prefix(data, secret))
        self._hold = data[len(data) - keep :] if keep else b""
        return data[: len(data) - keep] if keep else data

    def flush(self) -> bytes:
        out, self._hold = self._hold, b""
        return out


def _longest_suffix_prefix(data: bytes, secret: bytes) -> int:
    """Length of the longest suffix of ``data`` that is a proper prefix of ``secret``."""
    window = data[-(len(secret) - 1) :] if len(secret) > 1 else b""
    first = secret[:1]
    start = window.find(first)
    while start != -1:
        if secret.startswith(window[start:]):
            return len(window) - start
        start = window.find(first, start + 1)
    return 0


class UsageScanner:
    """Finds the last value of numeric JSON fields (``"output_tokens": 12``) in a stream.

    Field names inside JSON strings are escaped (``\\"output_tokens\\"``), so model text cannot
    fake a match; the last value wins (SSE ``message_delta`` carries the final counts).
    """

    def __init__(self, fields: tuple[str, ...]) -> None:
        names = "|".join(re.escape(f) for f in fields)
        self._pattern = re.compile(rb'"(' + names.encode() + rb')"\s*:\s*(\d{1,15})')
        self._carry = b""
        self.values: dict[str, int] = {}

    def feed(self, chunk: bytes) -> None:
        data = self._carry + chunk
        for match in self._pattern.finditer(data):
            if match.end() > len(self._carry):
                self.values[match.group(1).decode()] = int(match.group(2))
        self._carry = data[-96:]


USAGE_FIELDS = {
    "anthropic": ("input_tokens", "output_tokens"),
    "mistral": ("pages_processed",),
}


SMALL_BODY_BYTES = 16 * 1024 * 1024


class ClientLeft(Exception):
    """The client disconnected while the upstream had not answered yet."""


def _declared_length(request: Request) -> int:
    try:
        return int(request.headers.get("content-length", ""))
    except ValueError:
        return SMALL_BODY_BYTES + 1  # chunked / unknown: stream it


async def _unless_client_leaves(sending: asyncio.Future, request: Request) -> None:
    """Wait for ``sending``; cancel it and raise ClientLeft if the client disconnects first.

    Only safe once the request body has been read (both would otherwise consume ``receive``).
    """
    async def client_left() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return

    watcher = asyncio.ensure_future(client_left())
    try:
        await asyncio.wait({sending, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if not sending.done():
        sending.cancel()
        raise ClientLeft


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status)


def proxy_endpoint(service: str, get_bridge: Callable[[], Bridge]):
    async def proxy(request: Request) -> Response:
        try:
            bridge = get_bridge()
        except RuntimeError:
            return _error(503, "overloaded_error", "the bridge is starting")
        if not bridge.started or bridge.http is None:
            return _error(503, "overloaded_error", "the bridge is starting")
        token = presented_token(request.headers)
        user_id = await bridge.user_for_proxy_token(token) if token else None
        if user_id is None:
            return _error(401, "authentication_error", "invalid or revoked proxy token")
        path = request.path_params.get("path", "")
        if not is_allowed(service, path, request.method):
            return _error(404, "not_found_error", f"{request.method} /{path} is not proxied")
        settings = bridge.settings
        if service == "anthropic":
            base, real_key = settings.anthropic_upstream_url, settings.anthropic_api_key
        else:
            base, real_key = settings.mistral_upstream_url, settings.mistral_api_key
        query = urlencode(parse_qsl(request.url.query, keep_blank_values=True))
        url = f"{base}/{path}" + (f"?{query}" if query else "")
        has_body = request.method in ("POST", "PUT", "PATCH")
        # A model request is small JSON: read it whole, so that while we wait for the upstream's
        # headers we can also watch the client — if the CLI gives up (its own timeout, a cancel),
        # the upstream request is dropped instead of held open. Big bodies (OCR uploads) stream.
        small_body = has_body and _declared_length(request) <= SMALL_BODY_BYTES
        if small_body:
            content: bytes | AsyncIterator[bytes] | None = await request.body()
        else:
            content = request.stream() if has_body else None
        upstream_request = bridge.http.build_request(
            request.method,
            url,
            headers=upstream_headers(request.headers, service, real_key),
            content=content,
        )
        sending = asyncio.ensure_future(bridge.http.send(upstream_request, stream=True))
        try:
            if small_body or not has_body:
                await _unless_client_leaves(sending, request)
            upstream = await sending
        except ClientLeft:
            log.info("proxy %s %s: client left before the upstream answered", service, path)
            return Response(status_code=499)
        except httpx.HTTPError as exc:
            log.warning("proxy %s %s: upstream unreachable: %s", service, path, exc)
            return _error(502, "api_error", f"the upstream {service} API is unreachable")

        redactor = SecretRedactor(
            [k for k in (settings.anthropic_api_key, settings.mistral_api_key) if k]
        )
        scanner = UsageScanner(USAGE_FIELDS[service])
        headers = {
            name: redactor.redact_text(value)
            for name, value in upstream.headers.items()
            if name in RETURNED_RESPONSE_HEADERS or name.startswith(RETURNED_RESPONSE_PREFIXES)
        }

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    scanner.feed(chunk)
                    out = redactor.feed(chunk)
                    if out:
                        yield out
                tail = redactor.flush()
                if tail:
                    yield tail
            finally:
                await upstream.aclose()
                _count_usage(bridge, user_id, service, path, upstream.status_code, scanner)

        return StreamingResponse(body(), status_code=upstream.status_code, headers=headers)

    return proxy


_background: set[asyncio.Task[None]] = set()


def _count_usage(
    bridge: Bridge, user_id: str, service: str, path: str, status: int, scanner: UsageScanner
) -> None:
    values = scanner.values
    if service == "anthropic":
        counters = {"anthropic_requests": 1}
        if path == "v1/messages" and status < 400:
            counters["anthropic_input_tokens"] = values.get("input_tokens", 0)
            counters["anthropic_output_tokens"] = values.get("output_tokens", 0)
    else:
        counters = {"mistral_requests": 1}
        if path == "v1/ocr" and status < 400:
            counters["mistral_pages"] = values.get("pages_processed", 0)

    async def write() -> None:
        try:
            await bridge.db.add_usage(user_id, **counters)
        except Exception:
            log.exception("could not record usage for %s", user_id)

    task = asyncio.create_task(write())
    _background.add(task)
    task.add_done_callback(_background.discard)
