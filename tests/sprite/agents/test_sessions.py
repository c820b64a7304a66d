"""Live agent sessions: one CLI per thread, closed when idle or when too many are open (the
thread then resumes from disk), separate threads run side by side, and the coder really runs
code in the workspace — without the Sprite's secrets in its shell."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from sprite.agents.tools import qualified
from tests.fakes.anthropic_api import (
    FakeAnthropicAPI,
    Message,
    Text,
    ToolUse,
    after_tool,
    rule,
    text_reply,
    tool_reply,
    user_says,
)
from tests.sprite.agents.conftest import Proxy
from tests.sprite.agents.support import SPRITE_TOKEN, in_process_sprite, sprite_settings
from tests.sprite.agents.test_failures import wait_until
from tests.sprite.agents.test_missions import Runners, cli_processes


def answers(*pairs: tuple[str, str]) -> list:
    return [rule(user_says(asked), text_reply(answer), repeat=True) for asked, answer in pairs]


async def test_an_idle_session_is_closed_and_its_thread_resumes_from_disk(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    fake.add(*answers(("Remember the number 7", "Noted: 7."), ("Which number?", "It was 7.")))
    runners = Runners(idle_seconds=0.3)
    settings = sprite_settings(proxy.base_url, proxy.token)
    async with (
        in_process_sprite(tmp_path / "ws", settings, runners) as sprite,
        sprite.client() as client,
    ):
        first_id, first = await client.mission("Remember the number 7")
        assert first[-1]["event_type"] == "complete"
        runner = runners.made[0]
        await wait_until(lambda: not runner.sessions and not cli_processes())
        _, again = await client.mission("Which number?", mission_id=first_id)
        assert again[-1]["event_type"] == "complete"
        assert again[-1]["meta"]["session_id"] == first[-1]["meta"]["session_id"]
        assert runner.clients_started == 2
        sent = json.dumps(fake.message_requests()[-1].messages)
        assert "Remember the number 7" in sent and "Noted: 7." in sent


async def test_too_many_live_sessions_close_the_least_recently_used(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    fake.add(*answers(("Thread A", "A."), ("Thread B", "B."), ("Back to A", "A again.")))
    runners = Runners(max_live=1)
    settings = sprite_settings(proxy.base_url, proxy.token)
    async with (
        in_process_sprite(tmp_path / "ws", settings, runners) as sprite,
        sprite.client() as client,
    ):
        a_id, _ = await client.mission("Thread A")
        b_id, _ = await client.mission("Thread B")
        runner = runners.made[0]
        assert list(runner.sessions) == [b_id] and len(cli_processes()) == 1
        _, back = await client.mission("Back to A", mission_id=a_id)
        assert back[-1]["event_type"] == "complete"
        assert list(runner.sessions) == [a_id] and runner.clients_started == 3
        assert "Thread A" in json.dumps(fake.message_requests()[-1].messages)


async def test_two_threads_run_side_by_side(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    fake.add(*answers(("First thread", "one"), ("Second thread", "two")))
    settings = sprite_settings(proxy.base_url, proxy.token)
    runners = Runners()
    async with (
        in_process_sprite(tmp_path / "ws", settings, runners) as sprite,
        sprite.client() as one,
        sprite.client() as two,
    ):
        (_, first), (_, second) = await asyncio.gather(
            one.mission("First thread"), two.mission("Second thread")
        )
        assert first[-1]["event_type"] == second[-1]["event_type"] == "complete"
        assert runners.made[0].clients_started == 2
        assert len(cli_processes()) == 2


async def test_the_coder_runs_code_in_the_workspace_without_the_sprites_secrets(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    workspace = tmp_path / "ws"
    command = (
        "mkdir -p work && python3 -c 'print(6 * 7)' > work/answer.txt && cat work/answer.txt"
        " && echo sprite-token=[${SPRITE_TOKEN}] && echo home=$HOME"
    )
    fake.add(
        rule(
            user_says("Compute six times seven"),
            Message(
                [
                    ToolUse(
                        "Agent",
                        {
                            "subagent_type": "coder",
                            "description": "compute",
                            "prompt": "Run the computation 6*7 in Python",
                        },
                    )
                ]
            ),
        ),
        rule(
            user_says("Run the computation"),
            tool_reply("Bash", {"command": command, "description": "Compute 6*7"}),
        ),
        rule(
            after_tool("Bash", contains="42"),
            tool_reply(
                qualified("show_table"), {"title": "Result", "columns": ["x"], "rows": [[42]]}
            ),
        ),
        rule(after_tool("show_table"), text_reply("The answer is 42, in work/answer.txt.")),
        rule(after_tool("Agent", contains="42"), Message([Text("6 times 7 is 42.")])),
    )
    settings = sprite_settings(proxy.base_url, proxy.token)
    async with (
        in_process_sprite(workspace, settings, Runners()) as sprite,
        sprite.client() as client,
    ):
        mission_id, events = await client.mission("Compute six times seven")
    assert events[-1]["event_type"] == "complete", events[-1]
    assert (workspace / "work" / "answer.txt").read_text().strip() == "42"
    bash_result = next(
        r for r in fake.message_requests() if any(name == "Bash" for name, _, _ in r.tool_results())
    )
    [(_, output, failed)] = bash_result.tool_results()
    assert not failed
    assert "sprite-token=[]" in output and SPRITE_TOKEN not in output
    assert f"home={workspace / '.agents' / 'home'}" in output
    starts = [
        e["content"] for e in events if e["event_type"] == "tool" and e["meta"]["phase"] == "start"
    ]
    assert starts == ["Asking the coder: compute", "Running Compute 6*7", "Showing table “Result”"]
    assert [
        e["meta"]["agent"]
        for e in events
        if e["event_type"] == "tool" and e["meta"]["phase"] == "start"
    ] == ["commander", "coder", "coder"]
    # The commander may not run code itself: its tool list has no Bash.
    commander_request = fake.message_requests()[0]
    assert "Bash" not in commander_request.tool_names
    assert "Agent" in commander_request.tool_names
    assert qualified("list_documents") in commander_request.tool_names
    # The specialists are offered to it, and only them (no built-in general-purpose agents).
    body = json.dumps(commander_request.body)
    for name in ("researcher", "analyst", "coder"):
        assert f"- {name}: " in body, name
    assert "- general-purpose:" not in body and "- Explore:" not in body
    assert mission_id


async def test_a_thread_whose_session_is_gone_starts_afresh_and_says_so(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    fake.add(*answers(("Remember 7", "Noted."), ("Which number?", "I do not know.")))
    workspace = tmp_path / "ws"
    settings = sprite_settings(proxy.base_url, proxy.token)
    async with (
        in_process_sprite(workspace, settings, Runners()) as sprite,
        sprite.client() as client,
    ):
        first_id, first = await client.mission("Remember 7")
    # As after restoring a checkpoint taken before this thread's session was written.
    shutil.rmtree(workspace / ".agents" / "home" / ".claude" / "projects")
    async with (
        in_process_sprite(workspace, settings, Runners()) as sprite,
        sprite.client() as client,
    ):
        _, again = await client.mission("Which number?", mission_id=first_id)
    assert again[0]["meta"]["notice"] == "session_not_found"
    assert "could not be found" in again[0]["content"]
    assert again[-1]["event_type"] == "complete"
    assert again[-1]["meta"]["session_id"] != first[-1]["meta"]["session_id"]


async def test_with_a_model_configured_every_request_names_it(
    tmp_path: Path, fake: FakeAnthropicAPI, proxy: Proxy
) -> None:
    """A self-hosted server serves the models it has: no request may name another one."""
    fake.add(
        rule(
            user_says("Summarise the workspace"),
            tool_reply(
                "Agent",
                {
                    "subagent_type": "researcher",
                    "description": "look",
                    "prompt": "Look at the documents",
                },
            ),
        ),
        rule(user_says("Look at the documents"), tool_reply(qualified("list_documents"), {})),
        rule(after_tool("list_documents"), text_reply("There are no documents.")),
        rule(after_tool("Agent"), text_reply("The workspace is empty.")),
    )
    settings = sprite_settings(proxy.base_url, proxy.token, model="local-qwen3")
    async with (
        in_process_sprite(tmp_path / "ws", settings, Runners()) as sprite,
        sprite.client() as client,
    ):
        _, events = await client.mission("Summarise the workspace")
    assert events[-1]["event_type"] == "complete", events[-1]
    models = {r.body["model"] for r in fake.message_requests()}
    assert models == {"local-qwen3"}
    assert len(fake.message_requests()) == 4
