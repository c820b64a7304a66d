"""The agents' overhead outside the model, against the scripted fake model on 127.0.0.1.

    .venv/bin/python bench/agents_overhead.py [--starts 5] [--turns 20] [--tools 40]
                                             [--events 5000]

Everything runs for real in this process: the Sprite runtime and its WebSocket server, the crew
(`CrewRunner`: Claude Agent SDK + its bundled CLI, our in-process MCP tools, agent.db), a WS
client; only the model is the fake, which answers at once. Figures:

1. CLI start: `ClaudeSDKClient.connect()` with the crew's options (fresh CLI each time).
2. First turn: from sending a mission to its `complete` event on the WS client, when the thread's
   CLI must be started first (a new thread).
3. Later turn: the same on a live CLI (a follow-up in the thread): text only.
4. Tool round-trip after the first turn: the gap between the model's tool_use answer being fully
   sent and the next model request arriving — the CLI parsing the stream, calling our MCP tool
   (list_documents on agent.db), reporting both tool events to the client, and sending the
   next request. Target: p50 ≤ 50 ms. Baseline in the same run: a bare SDK client with one
   trivial in-process tool (no crew, no database, no events).
5. Agent events per second delivered to a WS client: (a) the runner's emit path (persist to
   agent.db, broadcast, socket) flooded by a runner that only emits; baseline: the same number
   of frames broadcast without persisting; (b) a crew burst: one model answer with many
   parallel tool calls, events counted from first to last. Target: ≥ 500 events/s.

Figures on this 2-core machine are noisy while other work runs: they are labelled, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from claude_agent_sdk import (  # noqa: E402
    ClaudeAgentOptions,
    ClaudeSDKClient,
    ResultMessage,
    create_sdk_mcp_server,
    tool,
)

from sprite.agents import crew  # noqa: E402
from sprite.agents.runner import CrewRunner  # noqa: E402
from sprite.agents.scope import MissionScope  # noqa: E402
from sprite.agents.tools import build_server, qualified  # noqa: E402
from sprite.agents.tools.documents import document_tools  # noqa: E402
from sprite.missions import MissionContext  # noqa: E402
from sprite.storage import Storage  # noqa: E402
from tests.fakes.anthropic_api import (  # noqa: E402
    FakeAnthropicAPI,
    Message,
    Text,
    ToolUse,
    after_tool,
    anything,
    rule,
    text_reply,
    tool_reply,
    user_says,
)
from tests.sprite.agents.support import (  # noqa: E402
    in_process_sprite,
    invoice_pdf,
    sprite_settings,
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def tool_gaps(fake: FakeAnthropicAPI, tool_name: str) -> list[float]:
    """Seconds between a tool_use answer fully sent and the request carrying its result."""
    requests = fake.message_requests()
    gaps = []
    for before, after in itertools.pairwise(requests):
        if before.answered_at is None:
            continue
        if any(name.endswith(tool_name) for name, _, _ in after.tool_results()):
            gaps.append(after.received_at - before.answered_at)
    return gaps


async def cli_starts(fake: FakeAnthropicAPI, workspace: Path, count: int) -> list[float]:
    await asyncio.to_thread(workspace.mkdir, parents=True, exist_ok=True)
    storage = await Storage.open(workspace / "agent.db")
    settings = sprite_settings(fake.url, "bench-token")
    crew.prepare_dirs(workspace)
    times = []
    try:
        for _ in range(count):
            scope = MissionScope(storage=storage, workspace=workspace, model="bench")
            options = crew.session_options(
                settings, workspace, build_server(document_tools(scope)), resume=None
            )
            client = ClaudeSDKClient(options)
            started = time.perf_counter()
            await client.connect()
            times.append(time.perf_counter() - started)
            await client.disconnect()
    finally:
        await storage.close()
    return times


async def bare_sdk_tool_gaps(fake: FakeAnthropicAPI, workspace: Path, count: int) -> list[float]:
    """Baseline: a bare SDK client, one trivial in-process tool, no crew or storage."""

    @tool("ping", "Answer pong", {"type": "object", "properties": {}})
    async def ping(_args: dict[str, Any]) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": "pong"}]}

    fake.reset(
        rule(user_says("bare"), tool_reply("mcp__bare__ping", {}), repeat=True),
        rule(after_tool("ping"), text_reply("done"), repeat=True),
    )
    home = workspace / "bare-home"
    await asyncio.to_thread(home.mkdir, parents=True, exist_ok=True)
    options = ClaudeAgentOptions(
        tools=[],
        allowed_tools=["mcp__bare__ping"],
        permission_mode="dontAsk",
        mcp_servers={"bare": create_sdk_mcp_server("bare", tools=[ping])},
        cwd=str(workspace),
        setting_sources=[],
        skills=[],
        env={
            **crew.cli_environment(sprite_settings(fake.url, "bench-token"), workspace),
            "HOME": str(home),
        },
    )
    async with ClaudeSDKClient(options) as client:
        for n in range(count + 1):
            await client.query(f"bare {n}")
            async for message in client.receive_response():
                if isinstance(message, ResultMessage):
                    break
    return tool_gaps(fake, "ping")[1:]  # after the first turn


async def crew_figures(
    fake: FakeAnthropicAPI, workspace: Path, turns: int, tools: int, burst: int
) -> dict[str, Any]:
    settings = sprite_settings(fake.url, "bench-token")
    runners: list[CrewRunner] = []

    def factory(s: Any) -> CrewRunner:
        runners.append(CrewRunner(s))
        return runners[-1]

    figures: dict[str, Any] = {}
    async with in_process_sprite(workspace, settings, factory) as sprite, sprite.client() as client:
        await client.upload("invoice.pdf", invoice_pdf(), "application/pdf")
        # First turns: each in a new thread, so each starts its CLI.
        fake.reset(
            rule(user_says("hello"), text_reply("Hello."), repeat=True),
            rule(user_says("again"), text_reply("Again."), repeat=True),
            rule(user_says("tools"), tool_reply(qualified("list_documents"), {}), repeat=True),
            rule(
                after_tool("list_documents"),
                tool_reply(qualified("list_documents"), {}),
                repeat=True,
            ),
        )
        firsts, thread = [], None
        for _ in range(3):
            started = time.perf_counter()
            thread, events = await client.mission("hello")
            firsts.append(time.perf_counter() - started)
            assert events[-1]["event_type"] == "complete", events[-1]
        figures["first_turn"] = firsts
        later = []
        for _ in range(turns):
            started = time.perf_counter()
            _, events = await client.mission("again", mission_id=thread)
            later.append(time.perf_counter() - started)
            assert events[-1]["event_type"] == "complete", events[-1]
        figures["later_turn"] = later
        # Tool round-trips on the live CLI: a chain of `tools` list_documents calls.
        count = {"n": 0}

        def chain_done(_req: Any) -> bool:
            count["n"] += 1
            return count["n"] > tools

        fake.reset(
            rule(
                lambda r: after_tool("list_documents")(r) and chain_done(r),
                text_reply("Listed."),
                repeat=True,
            ),
            rule(
                after_tool("list_documents"),
                tool_reply(qualified("list_documents"), {}),
                repeat=True,
            ),
            rule(user_says("tools"), tool_reply(qualified("list_documents"), {}), repeat=True),
        )
        _, events = await client.mission("tools", mission_id=thread)
        assert events[-1]["event_type"] == "complete", events[-1]
        figures["tool_gaps"] = tool_gaps(fake, "list_documents")
        # A burst of parallel tool calls in one answer: events per second on the client.
        fake.reset(
            rule(
                user_says("burst"),
                Message(
                    [Text("Listing.")]
                    + [ToolUse(qualified("list_documents"), {}) for _ in range(burst)]
                ),
                repeat=True,
            ),
            rule(after_tool("list_documents"), text_reply("Done."), repeat=True),
        )
        mission_id, events = await client.mission("burst", mission_id=thread)
        stamps = [
            f["timestamp"]
            for f in client.frames
            if f["type"] == "agent_event"
            and f["payload"].get("mission_id") == mission_id
            and f["payload"]["event_type"] == "tool"
        ]
        figures["burst_events"] = len(stamps)
        figures["burst_seconds"] = max(1, stamps[-1] - stamps[0]) / 1000
        figures["clis"] = sum(r.clients_started for r in runners)
    return figures


class Flood:
    """A runner that only emits: the runtime's persist + broadcast path at full speed."""

    def __init__(self, count: int) -> None:
        self.count = count

    async def run(self, ctx: MissionContext) -> None:
        for n in range(self.count):
            await ctx.emit(
                "agent_event",
                {
                    "event_type": "tool",
                    "content": f"step {n}",
                    "meta": {"phase": "start", "tool": "bench"},
                },
            )
        await ctx.emit("agent_event", {"event_type": "complete", "content": ""})

    async def close(self) -> None:
        return None


async def flood_rate(workspace: Path, count: int) -> tuple[float, float]:
    settings = sprite_settings(None, None)
    async with (
        in_process_sprite(workspace, settings, lambda _s: Flood(count)) as sprite,
        sprite.client() as client,
    ):
        started = time.perf_counter()
        _, events = await client.mission("flood", within=600)
        persisted = time.perf_counter() - started
        assert len(events) == count + 1
        # Baseline: the same frames broadcast straight to the socket (nothing persisted).
        from stackdocs.protocol import encode

        started = time.perf_counter()
        for n in range(count):
            sprite.runtime.hub.broadcast(
                encode(
                    "agent_event",
                    {"event_type": "tool", "content": f"raw {n}", "mission_id": "raw"},
                )
            )
            if n % 64 == 0:
                await asyncio.sleep(0)
        sprite.runtime.hub.broadcast(
            encode("agent_event", {"event_type": "complete", "content": "", "mission_id": "raw"})
        )
        await client.mission_end("raw", within=600)
        raw = time.perf_counter() - started
    return count / persisted, count / raw


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--tools", type=int, default=40)
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="agents-bench-"))
    fake = FakeAnthropicAPI([rule(anything, text_reply("ok"), repeat=True)]).start()
    try:
        starts = await cli_starts(fake, root / "starts", args.starts)
        figures = await crew_figures(fake, root / "crew", args.turns, args.tools, args.burst)
        bare = await bare_sdk_tool_gaps(fake, root / "bare", args.tools)
        persisted_rate, raw_rate = await flood_rate(root / "flood", args.events)
    finally:
        fake.stop()

    gaps = figures["tool_gaps"][1:]  # after the first round-trip of the turn
    print("Agents overhead outside the model (fake model on 127.0.0.1; 2 shared cores: noisy)")
    print(
        f"  CLI start (connect, crew options)    p50 {ms(statistics.median(starts))}"
        f"   max {ms(max(starts))}   n={len(starts)}"
    )
    print(
        f"  first turn (new thread: CLI + turn)  p50 {ms(statistics.median(figures['first_turn']))}"
        f"   n={len(figures['first_turn'])}"
    )
    print(
        f"  later turn on the live CLI (text)    p50 {ms(statistics.median(figures['later_turn']))}"
        f"   p90 {ms(pct(figures['later_turn'], 0.9))}   n={len(figures['later_turn'])}"
    )
    print(
        f"  tool round-trip, live CLI (crew)     p50 {ms(statistics.median(gaps))}"
        f"   p90 {ms(pct(gaps, 0.9))}   n={len(gaps)}   target p50 <= 50 ms"
        f"   {'OK' if statistics.median(gaps) <= 0.05 else 'MISSED'}"
    )
    print(
        f"    baseline: bare SDK + trivial tool  p50 {ms(statistics.median(bare))}"
        f"   ratio crew/bare {statistics.median(gaps) / statistics.median(bare):.2f}"
    )
    print(
        f"  CLIs started for {len(figures['first_turn'])} threads and"
        f" {len(figures['later_turn']) + 2} follow-ups: {figures['clis']}"
    )
    print(
        f"  events to a WS client, emit path      {persisted_rate:8.0f} events/s"
        f"   (persisted + broadcast, n={args.events})   target >= 500/s"
        f"   {'OK' if persisted_rate >= 500 else 'MISSED'}"
    )
    print(
        f"    baseline: broadcast only           {raw_rate:8.0f} events/s"
        f"   ratio {persisted_rate / raw_rate:.2f}"
    )
    burst_rate = figures["burst_events"] / figures["burst_seconds"]
    print(
        f"  events from the crew (burst of {args.burst} parallel tool calls)"
        f" {burst_rate:8.0f} events/s   ({figures['burst_events']} events)"
    )


if __name__ == "__main__":
    asyncio.run(main())
