"""The proxy's pure parts: allow-list, token extraction, header filter, redaction, usage."""

from __future__ import annotations

import pytest

from bridge.proxy import (
    REDACTED,
    SecretRedactor,
    UsageScanner,
    is_allowed,
    presented_token,
    upstream_headers,
)


@pytest.mark.parametrize(
    ("service", "path", "method"),
    [
        ("anthropic", "v1/messages", "POST"),
        ("anthropic", "v1/messages/count_tokens", "POST"),
        ("anthropic", "v1/models", "GET"),
        ("anthropic", "v1/models/claude-sonnet-4-5", "GET"),
        ("mistral", "v1/ocr", "POST"),
        ("mistral", "v1/files", "POST"),
        ("mistral", "v1/files/abc-123/url", "GET"),
    ],
)
def test_allowed_paths(service: str, path: str, method: str) -> None:
    assert is_allowed(service, path, method)


@pytest.mark.parametrize(
    ("service", "path", "method"),
    [
        ("anthropic", "v1/messages", "GET"),
        ("anthropic", "v1/complete", "POST"),
        ("anthropic", "v1/organizations/keys", "GET"),
        ("anthropic", "v1/messages/../../admin", "POST"),
        ("anthropic", "../v1/messages", "POST"),
        ("anthropic", "/v1/messages", "POST"),
        ("anthropic", "v1/messages/", "POST"),
        ("anthropic", "http://evil.example/v1/messages", "POST"),
        ("anthropic", "//evil.example/v1/messages", "POST"),
        ("anthropic", "v1/models/@evil.example", "GET"),
        ("anthropic", "v1/models/a/b", "GET"),
        ("anthropic", "v1/ocr", "POST"),
        ("mistral", "v1/messages", "POST"),
        ("mistral", "v1/chat/completions", "POST"),
        ("mistral", "v1/ocr", "GET"),
        ("openai", "v1/messages", "POST"),
    ],
)
def test_everything_else_is_refused(service: str, path: str, method: str) -> None:
    assert not is_allowed(service, path, method)


def test_token_is_taken_from_x_api_key_or_bearer() -> None:
    assert presented_token({"x-api-key": "sdp_a"}) == "sdp_a"
    assert presented_token({"authorization": "Bearer sdp_b"}) == "sdp_b"
    assert presented_token({"authorization": "bearer  sdp_c "}) == "sdp_c"
    assert presented_token({"authorization": "Basic xyz"}) is None
    assert presented_token({}) is None


def test_upstream_headers_carry_the_real_key_and_nothing_sensitive() -> None:
    incoming = {
        "x-api-key": "sdp_token",
        "authorization": "Bearer sdp_token",
        "cookie": "session=1",
        "host": "evil.example",
        "x-forwarded-for": "1.2.3.4",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "tools",
        "content-type": "application/json",
        "x-stainless-lang": "python",
    }
    anthropic = upstream_headers(incoming, "anthropic", "REAL")
    assert anthropic["x-api-key"] == "REAL"
    assert "authorization" not in anthropic
    assert anthropic["anthropic-version"] == "2023-06-01"
    assert anthropic["x-stainless-lang"] == "python"
    for dropped in ("cookie", "host", "x-forwarded-for"):
        assert dropped not in anthropic
    mistral = upstream_headers(incoming, "mistral", "REALM")
    assert mistral["authorization"] == "Bearer REALM"
    assert "x-api-key" not in mistral
    assert "sdp_token" not in repr(anthropic) + repr(mistral)


def _run(redactor: SecretRedactor, chunks: list[bytes]) -> tuple[list[bytes], bytes]:
    out = [redactor.feed(c) for c in chunks]
    return out, b"".join(out) + redactor.flush()


def test_redactor_replaces_a_key_split_across_chunks() -> None:
    key = "sk-ant-SECRET-1234567890"
    body = f'{{"error": "bad key {key}", "again": "{key}"}}'.encode()
    for cut in range(1, len(body)):
        _, joined = _run(SecretRedactor([key]), [body[:cut], body[cut:]])
        assert key.encode() not in joined
        assert joined.count(REDACTED) == 2
    one_byte_chunks = [bytes([b]) for b in body]
    _, joined = _run(SecretRedactor([key, "other-secret"]), one_byte_chunks)
    assert joined == body.replace(key.encode(), REDACTED)


def test_redactor_does_not_hold_back_sse_events() -> None:
    redactor = SecretRedactor(["sk-ant-SECRET"])
    event = b'event: content_block_delta\ndata: {"text": "s"}\n\n'
    assert redactor.feed(event) == event  # nothing held: the event goes out whole, now
    partial = b"data: sk-a"
    assert redactor.feed(partial) == b"data: "  # only a possible key start waits
    assert redactor.feed(b"nt-but-not") == b"sk-ant-but-not"


def test_usage_scanner_keeps_the_last_values_and_ignores_text() -> None:
    scanner = UsageScanner(("input_tokens", "output_tokens"))
    stream = (
        b'data: {"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}}'
        b'\n\ndata: {"delta":{"text":"\\"output_tokens\\": 999"}}\n\n'
        b'data: {"type":"message_delta","usage":{"output_tokens":42}}\n\n'
    )
    for cut in (7, 40, 95, 130):
        scanner = UsageScanner(("input_tokens", "output_tokens"))
        scanner.feed(stream[:cut])
        scanner.feed(stream[cut:])
        assert scanner.values == {"input_tokens": 25, "output_tokens": 42}
