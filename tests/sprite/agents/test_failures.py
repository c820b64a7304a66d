"""When the model endpoint fails — 500, 429, a timeout, a broken stream — the mission ends with
one clear error, nothing it staged is saved, and the Sprite keeps serving. Cancel stops the
agents cleanly. Without a model, missions get one error naming what to set."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

from tests.fakes.anthropic_api import (
    FakeAnthropicAPI,
    Hang,
    HttpError,
    Malformed,
    StreamError,
    after_tool,
    anything,
    rate_limited,
    rule,
    server_error,
    text_reply,
    user_says,
)
from tests.sprite.agents import scripts
from tests.sprite.agents.conftest import Proxy
from tests.sprite.agents.support import in_process_sprite, invoice_pdf, rows, sprite_settings
from tests.sprite.agents.test_missions import Runners, cli_processes

FAILURES = {
    "500": (server_error(), ["500", "upstream server"]),
    "429": (rate_limited(1), ["429", "rate-limiting"]),
    "timeout": (Hang(), ["did not answer within 1 s", "STACKDOCS_MODEL_TIMEOUT"]),
    "overloaded mid-stream": (StreamError(), ["Overloaded"]),
    "malformed stream": (Malformed("garbage"), ["JSON"]),
    "truncated stream": (Malformed("truncated"), ["Stream ended"]),
    "not an event stream": (Malformed("not_sse"), ["Stream ended"]),
    "unknown model": (HttpError(404, "not_found_error", "model: nope"), ["STACKDOCS_MODEL"]),
}


async def wait_until(condition, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling a plain condition
            await asyncio.sleep(0.05)


async def hello_still_works(client, fake: FakeAnthropicAPI, mission_id: str | None = None) -> None:
    """The Sprite keeps serving: a ping, then a new mission that completes."""
    await client.ping()
    fake.reset(rule(user_says("Say hello"), text_reply("Hello!")))
    _, events = await client.mission("Say hello", mission_id=mission_id)
    assert events[-1]["event_type"] == "complete", events[-1]
    assert "".join(e["content"] for e in events if e["event_type"] == "text") == "Hello!"


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_an_upstream_failure_ends_the_mission_with_one_clear_error(
    failure: str, tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    reply, expected = FAILURES[failure]
    workspace = tmp_path / "workspace"
    settings = sprite_settings(proxy.base_url, proxy.token, model_timeout_seconds=1)
    async with (
        in_process_sprite(workspace, settings, Runners()) as sprite,
        sprite.client() as client,
    ):
        doc = await client.upload("invoice.pdf", invoice_pdf(), "application/pdf")
        mission_text = f"Extract the vendor ({failure})"
        fake.add(
            *scripts.staged_then(doc, mission_text),
            rule(anything, reply, name="failing upstream", repeat=True),
        )
        mission_id, events = await client.mission(mission_text, within=120)

        errors = [e for e in events if e["event_type"] == "error"]
        assert len(errors) == 1 and events[-1] is errors[0], events
        assert "complete" not in [e["event_type"] for e in events]
        message = errors[0]["content"]
        assert message.startswith("The model request failed"), message
        for part in expected:
            assert part in message, message
        assert "Nothing from this mission was saved." in message
        assert errors[0]["meta"]["kind"] == "model"
        # The analyst had staged a field before the failure: none of it reached the database.
        staged = [
            e
            for e in events
            if e["event_type"] == "tool"
            and e["meta"]["tool"] == "save_extraction"
            and e["meta"]["phase"] == "end"
        ]
        assert staged and staged[0]["meta"]["ok"]
        db = workspace / "agent.db"
        assert rows(db, "SELECT * FROM extraction_fields") == []
        assert rows(db, "SELECT * FROM extractions") == []
        [mission] = rows(db, "SELECT status FROM missions WHERE id = ?", (mission_id,))
        assert mission["status"] == "failed"
        assert any(r.matched_rule == "failing upstream" for r in fake.requests)

        await hello_still_works(client, fake)


async def test_a_429_then_an_answer_is_retried_and_succeeds(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    settings = sprite_settings(proxy.base_url, proxy.token)
    async with (
        in_process_sprite(tmp_path / "ws", settings, Runners()) as sprite,
        sprite.client() as client,
    ):
        fake.add(rule(user_says("Say hi"), rate_limited(1), text_reply("Hi after a wait.")))
        _, events = await client.mission("Say hi")
    assert events[-1]["event_type"] == "complete"
    [first, second] = fake.message_requests()
    assert first.matched_rule == second.matched_rule  # the same request, retried once


async def test_cancel_interrupts_the_agents_and_saves_nothing(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    workspace = tmp_path / "workspace"
    settings = sprite_settings(proxy.base_url, proxy.token)
    runners = Runners()
    async with in_process_sprite(workspace, settings, runners) as sprite, sprite.client() as client:
        doc = await client.upload("invoice.pdf", invoice_pdf(), "application/pdf")
        fake.add(
            *scripts.staged_then(doc, "Extract slowly"),
            rule(after_tool("save_extraction"), Hang(), name="stuck"),
        )
        request = await client.send("mission", {"text": "Extract slowly"})
        first = await client.until(lambda f: f.get("id") == request)
        mission_id = first["payload"]["mission_id"]
        await wait_until(lambda: any(r.matched_rule == "stuck" for r in fake.requests))
        await client.send("mission_cancel", {"mission_id": mission_id})
        final = await client.mission_end(mission_id)
        assert final["payload"]["event_type"] == "error"
        assert final["payload"]["meta"]["status"] == "cancelled"
        events = client.events(mission_id)
        assert sum(e["event_type"] == "error" for e in events) == 1
        db = workspace / "agent.db"
        [mission] = rows(db, "SELECT status FROM missions WHERE id = ?", (mission_id,))
        assert mission["status"] == "cancelled"
        assert rows(db, "SELECT * FROM extraction_fields") == []
        # The thread goes on: a follow-up in it completes.
        await hello_still_works(client, fake, mission_id=mission_id)
        # Interrupted, not killed: the same CLI went on with the follow-up.
        assert len(runners.made) == 1 and runners.made[0].clients_started == 1
    assert cli_processes() == []


async def test_without_a_model_each_mission_gets_one_error_and_the_rest_works(
    tmp_path: Path,
) -> None:
    settings = sprite_settings(None, None)
    async with in_process_sprite(tmp_path / "ws", settings) as sprite, sprite.client() as client:
        doc = await client.upload("invoice.pdf", invoice_pdf(), "application/pdf")
        for _ in range(2):
            _mission_id, events = await client.mission("Extract the invoice")
            assert len(events) == 1 and events[0]["event_type"] == "error"
            assert "ANTHROPIC_API_KEY" in events[0]["content"]
            assert "ANTHROPIC_UPSTREAM_URL" in events[0]["content"]
            assert "on the bridge" in events[0]["content"].lower()
        _, shell = await client.mission("!echo still-serving")
        assert shell[-1]["event_type"] == "complete"
        request = await client.send("extraction_request", {"document_id": doc})
        reply = await client.until(lambda f: f.get("id") == request)
        assert reply["type"] == "extraction" and reply["payload"]["fields"] == []
        await client.ping()
    settings = sprite_settings("http://127.0.0.1:9/proxy/anthropic", None)
    async with in_process_sprite(tmp_path / "ws2", settings) as sprite, sprite.client() as client:
        _, events = await client.mission("Extract the invoice")
        assert len(events) == 1 and "STACKDOCS_PROXY_TOKEN" in events[0]["content"]


async def test_a_crashed_cli_fails_its_mission_and_the_thread_resumes(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    settings = sprite_settings(proxy.base_url, proxy.token)
    runners = Runners()
    async with (
        in_process_sprite(tmp_path / "ws", settings, runners) as sprite,
        sprite.client() as client,
    ):
        fake.add(
            rule(user_says("Start"), text_reply("Started.")),
            rule(user_says("Think hard"), Hang(), name="stuck"),
        )
        first_id, first = await client.mission("Start")
        assert first[-1]["event_type"] == "complete"
        request = await client.send("mission", {"text": "Think hard", "mission_id": first_id})
        await wait_until(lambda: any(r.matched_rule == "stuck" for r in fake.requests))
        [cli] = cli_processes()
        os.kill(cli, signal.SIGKILL)
        reply = await client.until(lambda f: f.get("id") == request)
        final = await client.mission_end(reply["payload"]["mission_id"])
        assert final["payload"]["event_type"] == "error"
        assert "The agents stopped unexpectedly" in final["payload"]["content"]
        assert final["payload"]["meta"]["kind"] == "runtime"
        assert runners.made[0].sessions == {}
        await hello_still_works(client, fake, mission_id=first_id)
        assert runners.made[0].clients_started == 2
        assert "Started." in json.dumps(fake.message_requests()[-1].messages)


async def test_cancel_kills_a_cli_that_does_not_answer_the_interrupt(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    settings = sprite_settings(proxy.base_url, proxy.token)
    runners = Runners()
    async with (
        in_process_sprite(tmp_path / "ws", settings, runners) as sprite,
        sprite.client() as client,
    ):
        fake.add(
            rule(user_says("Start"), text_reply("Started.")),
            rule(user_says("Think forever"), Hang(), name="stuck"),
        )
        first_id, _ = await client.mission("Start")
        await client.send("mission", {"text": "Think forever", "mission_id": first_id})
        await wait_until(lambda: any(r.matched_rule == "stuck" for r in fake.requests))
        [cli] = cli_processes()
        os.kill(cli, signal.SIGSTOP)  # alive but deaf: the interrupt goes unanswered
        db = tmp_path / "ws" / "agent.db"
        query = "SELECT id FROM missions WHERE text = 'Think forever'"
        await wait_until(lambda: rows(db, query))
        mission_id = rows(db, query)[0]["id"]
        await client.send("mission_cancel", {"mission_id": mission_id})
        final = await client.mission_end(mission_id, within=90)
        assert final["payload"]["meta"]["status"] == "cancelled"
        await wait_until(lambda: cli not in cli_processes(), within=60)
        assert runners.made[0].sessions == {}
        await hello_still_works(client, fake, mission_id=first_id)
        assert runners.made[0].clients_started == 2
