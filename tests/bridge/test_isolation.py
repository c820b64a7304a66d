"""User A can never reach user B's Sprite or files, and no Sprite ever holds an API key."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from stackdocs import PROJECT_ROOT
from tests.bridge.conftest import FAKE_ANTHROPIC_KEY, FAKE_MISTRAL_KEY, RunningBridge, serve_bridge
from tests.fakes.recording_upstream import RecordingUpstream


def _environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


async def _signed_in_pair(running: RunningBridge):
    """B signs in and writes a secret file; returns B's host workspace."""
    async with running.client("bob") as bob:
        out = await bob.shell_output("echo bob-secret > /workspace/secret.txt && echo ok")
        assert "ok" in out
    workspace_b = running.workspace("bob")
    assert (workspace_b / "secret.txt").read_text().strip() == "bob-secret"
    return workspace_b


async def test_a_shell_in_a_sandbox_cannot_read_another_workspace(running: RunningBridge) -> None:
    workspace_b = await _signed_in_pair(running)
    async with running.client("alice") as alice:
        out = await alice.shell_output(f"cat {workspace_b}/secret.txt; echo exit=$?")
        assert "bob-secret" not in out and "exit=1" in out
        listing = await alice.shell_output(
            f"ls -a {running.data_dir} {running.data_dir}/sprites 2>&1; "
            "find / -name secret.txt -not -path '/proc/*' 2>/dev/null; echo done"
        )
        assert "bob-secret" not in listing and "sd-bob" not in listing
        assert "/workspace/secret.txt" not in listing  # A's own workspace has none
        # The issuer's private key and the platform DB are out of reach too.
        data = running.data_dir
        keys = await alice.shell_output(
            f"cat {data}/auth/issuer.pem {data}/platform.db 2>&1 | head -c 200"
        )
        assert "PRIVATE KEY" not in keys and "SQLite" not in keys
        # The sandbox's /proc shows only its own processes: not the bridge's environment.
        environ = await alice.shell_output(
            "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c KEY || true"
        )
        assert FAKE_ANTHROPIC_KEY not in environ and FAKE_MISTRAL_KEY not in environ
        writable = await alice.shell_output(
            f"touch /usr/x /etc/x {PROJECT_ROOT / 'sprite'}/x /x 2>&1;"
            " touch /workspace/mine /tmp/t && echo own-ok"
        )
        assert "own-ok" in writable and writable.count("Read-only") == 4


async def test_the_sprite_is_chosen_from_the_token_only(running: RunningBridge) -> None:
    workspace_b = await _signed_in_pair(running)
    async with running.client("alice") as alice:
        # Nothing in a frame can name another user or Sprite.
        await alice.ws.send(
            json.dumps(
                {
                    "type": "mission",
                    "payload": {"text": "!cat /workspace/secret.txt", "user_id": "bob"},
                    "user": "bob",
                    "sprite": running.sprite_name("bob"),
                }
            )
        )
        done = await alice.until(
            lambda f: f["type"] == "agent_event" and f["payload"]["event_type"] != "tool"
        )
        assert "bob-secret" not in json.dumps(alice.frames)
        assert done["payload"]["event_type"] in ("complete", "error")
        await alice.send("auth", {"token": running.token("bob")})  # a refresh as B
        code, _ = await alice.closed_with()
        assert code == 4401
    assert (workspace_b / "secret.txt").read_text().strip() == "bob-secret"
    # Through the session API as well.
    session = await running.bridge.connect(running.token("alice"))
    try:
        assert session.user_id == "alice"
        assert running.bridge.sprite_of("alice").sprite_name != running.sprite_name("bob")
    finally:
        await session.close()


async def test_a_proxy_token_only_ever_counts_for_its_own_user(
    running: RunningBridge, upstream: RecordingUpstream
) -> None:
    await _signed_in_pair(running)
    async with running.client("alice") as alice:
        token_a = (await alice.shell_output("printenv STACKDOCS_PROXY_TOKEN")).strip()
    assert token_a.startswith("sdp_")
    async with httpx.AsyncClient(base_url=running.url) as http:
        reply = await http.post(
            "/proxy/anthropic/v1/messages",
            headers={"x-api-key": token_a, "anthropic-version": "2023-06-01"},
            json={"model": "m", "max_tokens": 5, "messages": []},
        )
        assert reply.status_code == 200
        forged = await http.post(
            "/proxy/anthropic/v1/messages",
            headers={"x-api-key": "sdp_" + "x" * 43},
            json={"messages": []},
        )
        assert forged.status_code == 401
    await running.usage("alice", anthropic_requests=1)
    assert (await running.usage("bob"))["anthropic_requests"] == 0
    assert len(upstream.requests) == 1


async def test_no_api_key_in_the_sprite_environment_or_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: RecordingUpstream
) -> None:
    # The keys are in the bridge process's own environment, as in production.
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_ANTHROPIC_KEY)
    monkeypatch.setenv("MISTRAL_API_KEY", FAKE_MISTRAL_KEY)
    async with serve_bridge(
        tmp_path / "data",
        ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
        ANTHROPIC_UPSTREAM_URL=upstream.url,
        MISTRAL_API_KEY=FAKE_MISTRAL_KEY,
        MISTRAL_UPSTREAM_URL=upstream.url,
    ) as running:
        async with running.client("alice") as alice:
            env_text = await alice.shell_output("env; cat /proc/self/environ")
            pids = running.runtime_pids("alice")
            assert len(pids) >= 2  # the sandbox and the runtime inside it
            for pid in pids:
                environ = _environ(pid)
                assert FAKE_ANTHROPIC_KEY.encode() not in environ
                assert FAKE_MISTRAL_KEY.encode() not in environ
                assert b"STACKDOCS_PROXY_TOKEN=sdp_" in environ
            runtime_env = dict(
                item.split("=", 1)
                for item in _environ(running.runtime_python_pid("alice")).decode().split("\0")
                if "=" in item
            )
        assert FAKE_ANTHROPIC_KEY not in env_text and FAKE_MISTRAL_KEY not in env_text
        assert runtime_env["ANTHROPIC_BASE_URL"] == f"{running.url}/proxy/anthropic"
        assert runtime_env["MISTRAL_BASE_URL"] == f"{running.url}/proxy/mistral"
        assert runtime_env["HOME"].startswith("/workspace")
        assert not any("API_KEY" in name for name in runtime_env)
        for path in running.workspace("alice").rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert FAKE_ANTHROPIC_KEY.encode() not in data, path
                assert FAKE_MISTRAL_KEY.encode() not in data, path
