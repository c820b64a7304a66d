"""The key-injecting proxy over real HTTP, into a recording fake upstream, with real SDKs."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from tests.bridge.conftest import FAKE_ANTHROPIC_KEY, FAKE_MISTRAL_KEY, RunningBridge
from tests.fakes.recording_upstream import INPUT_TOKENS, OCR_PAGES, OUTPUT_TOKENS, RecordingUpstream


async def _proxy_token(running: RunningBridge, user: str = "alice") -> str:
    """Sign the user in (which starts their Sprite) and return its current proxy token."""
    async with running.client(user) as client:
        return (await client.shell_output("printenv STACKDOCS_PROXY_TOKEN")).strip()


async def test_anthropic_key_is_injected_and_sse_streams_chunk_by_chunk(
    running: RunningBridge, upstream: RecordingUpstream
) -> None:
    token = await _proxy_token(running)
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
        async with http.stream(
            "POST",
            "/proxy/anthropic/v1/messages?beta=true",
            headers={"x-api-key": token, "anthropic-version": "2023-06-01", "host": "evil.test"},
            json={"model": "m", "max_tokens": 5, "stream": True, "messages": []},
        ) as reply:
            assert reply.status_code == 200
            assert reply.headers["content-type"].startswith("text/event-stream")
            chunks = reply.aiter_raw()
            # The upstream holds the rest of the stream until we release it: seeing the first
            # event now proves the proxy does not buffer.
            first = await asyncio.wait_for(anext(chunks), 20)
            assert b"message_start" in first and b"message_stop" not in first
            upstream.release()
            rest = b"".join([chunk async for chunk in chunks])
    assert b"message_stop" in rest
    sent = upstream.requests[-1]
    assert sent.path == "/v1/messages" and sent.query == "beta=true"
    assert sent.headers["x-api-key"] == FAKE_ANTHROPIC_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["host"] == f"127.0.0.1:{upstream.port}"
    assert token not in repr(sent.headers)
    await running.usage(
        "alice",
        anthropic_requests=1,
        anthropic_input_tokens=INPUT_TOKENS,
        anthropic_output_tokens=OUTPUT_TOKENS,
    )


async def test_a_request_the_client_gives_up_on_is_dropped_upstream(
    running: RunningBridge, upstream: RecordingUpstream
) -> None:
    token = await _proxy_token(running)
    async with httpx.AsyncClient(base_url=running.url, timeout=1) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(
                "/proxy/anthropic/v1/messages",
                headers={"x-api-key": token},
                json={"model": "m", "max_tokens": 5, "hang": True, "messages": []},
            )
    # The upstream request must not outlive the client (it would otherwise wait for the
    # proxy's read timeout, minutes later).
    for _ in range(200):
        if upstream.abandoned:
            break
        await asyncio.sleep(0.05)
    assert upstream.abandoned == 1


async def test_bearer_token_works_too_and_echoed_keys_are_stripped(
    running: RunningBridge, upstream: RecordingUpstream
) -> None:
    token = await _proxy_token(running)
    upstream.release()
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
        plain = await http.post(
            "/proxy/anthropic/v1/messages",
            headers={"authorization": f"Bearer {token}"},
            json={"messages": [], "echo_key": True},
        )
        streamed = await http.post(
            "/proxy/anthropic/v1/messages",
            headers={"x-api-key": token},
            json={"messages": [], "echo_key": True, "stream": True},
        )
    for reply in (plain, streamed):
        assert reply.status_code == 200
        assert FAKE_ANTHROPIC_KEY not in reply.text and "[redacted]" in reply.text
        assert "x-echo-key" not in reply.headers  # not an allow-listed response header
    assert upstream.requests[0].headers["x-api-key"] == FAKE_ANTHROPIC_KEY
    assert "authorization" not in upstream.requests[0].headers


async def test_mistral_sdk_ocr_goes_through_with_the_bearer_key(
    running: RunningBridge, upstream: RecordingUpstream
) -> None:
    from mistralai.client import Mistral

    token = await _proxy_token(running)
    client = Mistral(api_key=token, server_url=f"{running.url}/proxy/mistral")
    pdf = base64.b64encode(b"%PDF-1.4 fake").decode()
    result = await client.ocr.process_async(
        model="mistral-ocr-latest",
        document={"type": "document_url", "document_url": f"data:application/pdf;base64,{pdf}"},
    )
    assert result.pages[0].markdown == "# Invoice"
    sent = upstream.requests[-1]
    assert sent.path == "/v1/ocr"
    assert sent.headers["authorization"] == f"Bearer {FAKE_MISTRAL_KEY}"
    await running.usage("alice", mistral_requests=1, mistral_pages=OCR_PAGES)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/proxy/anthropic/v1/complete"),
        ("GET", "/proxy/anthropic/v1/messages"),
        ("POST", "/proxy/anthropic/v1/messages/../../admin"),
        ("POST", "/proxy/anthropic/v1/messages/%2e%2e/%2e%2e/admin"),
        ("POST", "/proxy/anthropic/http://evil.example/v1/messages"),
        ("POST", "/proxy/anthropic//evil.example/v1/messages"),
        ("GET", "/proxy/anthropic/v1/models/@evil.example"),
        ("POST", "/proxy/mistral/v1/chat/completions"),
        ("POST", "/proxy/openai/v1/chat/completions"),
    ],
)
async def test_unknown_paths_and_other_hosts_are_refused(
    running: RunningBridge, upstream: RecordingUpstream, method: str, path: str
) -> None:
    token = await _proxy_token(running)
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
        reply = await http.request(method, path, headers={"x-api-key": token}, json={})
    assert reply.status_code in (404, 405)
    assert upstream.requests == []


async def test_tokens_are_revoked_with_a_restart_and_a_deletion(
    running: RunningBridge, upstream: RecordingUpstream
) -> None:
    old = await _proxy_token(running)
    await running.bridge.sprite_of("alice").sleep()
    new = await _proxy_token(running)  # a new start issues a new token
    assert new != old
    workspace = running.workspace("alice")
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
        body = {"messages": [], "model": "m"}
        assert (await http.post("/proxy/anthropic/v1/messages", headers={"x-api-key": old},
                                json=body)).status_code == 401  # fmt: skip
        assert (await http.post("/proxy/anthropic/v1/messages", headers={"x-api-key": new},
                                json=body)).status_code == 200  # fmt: skip
        await running.bridge.delete_user_sprite("alice")
        assert (await http.post("/proxy/anthropic/v1/messages", headers={"x-api-key": new},
                                json=body)).status_code == 401  # fmt: skip
    assert not workspace.exists()
    assert (await running.bridge.db.get_user("alice")).sprite_status == "deleted"
