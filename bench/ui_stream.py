"""How fast the page renders a stream of events, and whether it stays responsive meanwhile.

    .venv/bin/python bench/ui_stream.py [--rate 500] [--seconds 10] [--url URL]
    .venv/bin/python bench/ui_stream.py --crew 400

Without ``--url`` it starts the real app (`stackdocs run`, own data and build dirs). Signed in
as a fresh user, the bench runs a shell mission in the user's real Sprite that prints
``event <n>`` lines at ``--rate`` per second, flushed one by one. The Sprite batches its output
into ``canvas_update`` frames, the bridge relays them, the tab's single background task applies
them to state every ~50 ms, and the terminal artifact redraws.

With ``--crew N`` the producer is the agent crew instead (the app is started with the scripted
fake Anthropic API behind the bridge's proxy): one model answer with N parallel tool calls, so
2N ``agent_event`` frames (each call's start and end) reach the mission chat as fast as the
crew emits them; the figure is chat steps rendered per second.

Figures:

1. events rendered per second: the newest ``event <n> <time printed>`` on screen, sampled every
   frame in the page (requestAnimationFrame), over the stream; and the end-to-end delay from
   the line being printed in the Sprite to it being on screen (same machine, same clock).
2. input latency while streaming: keydown in the Mission box → the frame after it was painted,
   for keys typed every 100 ms. Target < 100 ms. Baseline: the same with nothing streaming.
3. server round trip while streaming: a click on the other canvas tab → that tab's artifact
   painted (an event through Reflex's socket, the state lock, and back). Baseline: idle.

Numbers on this 2-core machine are noisy while other work runs: they are labelled, not asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from typing import Any

from ui_support import (
    KEY_LATENCY_PROBE,
    chromium,
    median,
    p95,
    running_app,
    sign_in,
    started_app,
)

PROGRESS_PROBE = """
window.__progress = [];
const sample = () => {
  const log = document.querySelector('[aria-label="Terminal output"]');
  const lines = log ? log.querySelectorAll('.sd-term-line') : [];
  const last = lines.length ? lines[lines.length - 1].innerText : '';
  const match = /event (\\d+) ([\\d.]+)/.exec(last);
  const now = performance.now();
  const printed = 1000 * Number(match ? match[2] : 0);
  const lag = performance.timeOrigin + now - printed;
  if (match) window.__progress.push([now, Number(match[1]), lag]);
  requestAnimationFrame(sample);
};
requestAnimationFrame(sample);
"""

ROUND_TRIP = """
async ([index, text]) => {
  const region = document.querySelector('[aria-label="Canvas"]');
  const tabs = [...region.querySelectorAll('[role=tab]')];
  const tab = tabs[index < 0 ? tabs.length + index : index];
  const done = new Promise((resolve) => {
    const check = () => {
      const log = region.querySelector('[aria-label="Terminal output"]');
      if (log && log.innerText.includes(text)) requestAnimationFrame(() => resolve());
      else requestAnimationFrame(check);
    };
    check();
  });
  const start = performance.now();
  tab.dispatchEvent(new MouseEvent('mousedown', {bubbles: true, button: 0}));
  tab.click();
  await done;
  return performance.now() - start;
}
"""


def producer(rate: int, seconds: float) -> str:
    count = int(rate * seconds)
    return (
        "!python3 -c 'import time; t0 = time.time()\n"
        f"for i in range({count}):\n"
        '    print(f"event {i} {time.time():.3f}", flush=True)\n'
        f"    time.sleep(max(0.0, t0 + (i + 1) / {rate} - time.time()))'"
    )


def send(page: Any, text: str) -> None:
    box = page.get_by_label("Mission")
    box.fill(text)
    box.press("Enter")


def type_keys(page: Any, count: int) -> list[float]:
    page.evaluate("window.__keyLatency = []")
    box = page.get_by_label("Mission")
    box.click()
    for i in range(count):
        page.keyboard.type("abcdefghij"[i % 10])
        time.sleep(0.1)
    box.fill("")
    return page.evaluate("window.__keyLatency")


def round_trips(page: Any, count: int, other: str) -> list[float]:
    """Alternate between the first tab (marker-a) and the last one (showing ``other``)."""
    out = []
    for i in range(count):
        index, text = (0, "marker-a") if i % 2 == 0 else (-1, other)
        out.append(page.evaluate(ROUND_TRIP, [index, text]))
        time.sleep(0.15)
    return out


STEPS_PROBE = """
window.__steps = [];
const countSteps = () => {
  const steps = document.querySelectorAll('.sd-steps');
  let done = 0;
  for (const s of steps) if (s.innerText.includes('— done')) done += 1;
  const total = steps.length + done;
  const last = window.__steps[window.__steps.length - 1];
  if (!last || last[1] !== total) window.__steps.push([performance.now(), total]);
  requestAnimationFrame(countSteps);
};
requestAnimationFrame(countSteps);
"""


def crew_main(args: argparse.Namespace) -> None:
    """The mission chat under a burst of agent events from the real crew."""
    from sprite.agents.tools import qualified
    from tests.fakes.anthropic_api import (
        FakeAnthropicAPI,
        Message,
        Text,
        ToolUse,
        after_tool,
        rule,
        text_reply,
        user_says,
    )

    fake = FakeAnthropicAPI(
        [
            rule(
                user_says("burst"),
                Message(
                    [Text("Listing.")]
                    + [ToolUse(qualified("list_documents"), {}) for _ in range(args.crew)]
                ),
                repeat=True,
            ),
            rule(after_tool("list_documents"), text_reply("Done listing."), repeat=True),
        ]
    ).start()
    env = {"ANTHROPIC_API_KEY": "sk-ant-bench-0123456789", "ANTHROPIC_UPSTREAM_URL": fake.url}
    user = f"bench-crew-{int(time.time())}"
    try:
        with started_app(env) as server, chromium() as browser:
            url = server.url
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.add_init_script(KEY_LATENCY_PROBE)
            page.add_init_script(STEPS_PROBE)
            sign_in(page, url, user)
            canvas = page.get_by_role("region", name="Canvas")
            # A second client of the same Sprite (/ws) clocks the events as the crew emits them.
            arrivals = FrameClock(server, user)
            send(page, "!echo marker-a")
            canvas.get_by_text("marker-a", exact=True).wait_for(timeout=60_000)
            send(page, "!echo marker-b")
            canvas.get_by_text("marker-b", exact=True).wait_for(timeout=60_000)
            idle_keys = type_keys(page, 20)
            idle_trips = round_trips(page, 10, "marker-b")
            page.evaluate("window.__steps = []")
            arrivals.times.clear()
            send(page, "burst")
            page.locator(".sd-steps").first.wait_for(timeout=180_000)
            busy_keys = type_keys(page, 20)
            busy_trips = round_trips(page, 10, "marker-b")
            page.get_by_text("Done listing.").wait_for(timeout=300_000)
            steps = page.evaluate("window.__steps")
            context.close()
            produced = arrivals.stop()
    finally:
        fake.stop()
    (t0, n0), (t1, n1) = steps[0], steps[-1]
    rate = (n1 - n0) / max((t1 - t0) / 1000, 1e-3)
    made = (len(produced) - 1) / max(produced[-1] - produced[0], 1e-3) if produced else 0.0
    print(f"crew burst: one answer with {args.crew} parallel tool calls ({2 * args.crew} events)")
    print(f"  tool events emitted          {len(produced):7d}   {made:7.0f} events/s (at /ws)")
    print(f"  chat steps drawn (changes)   {n1 - n0:7d}   in {(t1 - t0) / 1000:.2f} s")
    print(f"  events rendered per second   {rate:7.0f}")
    report_latency(busy_keys, idle_keys, busy_trips, idle_trips)
    print(
        json.dumps(
            {
                "crew_events_emitted": len(produced),
                "crew_emitted_per_s": made,
                "crew_events_rendered": n1 - n0,
                "crew_events_per_s": rate,
                "input_ms_stream": median(busy_keys),
                "input_ms_idle": median(idle_keys),
                "round_trip_ms_stream": median(busy_trips),
                "round_trip_ms_idle": median(idle_trips),
            }
        )
    )


class FrameClock:
    """Arrival times of ``tool`` agent events on a /ws client signed in as ``user``."""

    def __init__(self, server: Any, user: str) -> None:
        import threading

        from websockets.sync.client import connect

        from bridge.auth import LocalIssuer

        token = LocalIssuer.for_data_dir(server.data_dir.resolve()).mint(user)
        self.times: list[float] = []
        self._socket = connect(server.url.replace("http", "ws", 1) + "/ws", max_size=None)
        self._socket.send(json.dumps({"type": "auth", "payload": {"token": token}}))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self._socket:
                frame = json.loads(raw)
                payload = frame.get("payload") or {}
                if frame.get("type") == "agent_event" and payload.get("event_type") == "tool":
                    self.times.append(time.monotonic())
        except Exception:
            return

    def stop(self) -> list[float]:
        self._socket.close()
        self._thread.join(5)
        return [t for t in self.times]


def report_latency(
    busy_keys: list[float], idle_keys: list[float], busy_trips: list[float], idle_trips: list[float]
) -> None:
    print(
        f"  input latency, streaming    {median(busy_keys):6.1f} ms median  "
        f"{p95(busy_keys):6.1f} ms p95   (target < 100 ms)"
    )
    print(
        f"  baseline, idle              {median(idle_keys):6.1f} ms median  "
        f"{p95(idle_keys):6.1f} ms p95"
    )
    print(
        f"  server round trip, stream   {median(busy_trips):6.0f} ms median  "
        f"{p95(busy_trips):6.0f} ms p95"
    )
    print(
        f"  baseline, idle              {median(idle_trips):6.0f} ms median  "
        f"{p95(idle_trips):6.0f} ms p95"
    )


def terminal_main(args: argparse.Namespace) -> None:
    """The terminal artifact under a fast shell stream."""
    with running_app(args.url) as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.add_init_script(KEY_LATENCY_PROBE)
        page.add_init_script(PROGRESS_PROBE)
        sign_in(page, url, f"bench-stream-{int(time.time())}")
        canvas = page.get_by_role("region", name="Canvas")

        # Two small artifacts to switch between while idle; the stream becomes the third.
        send(page, "!echo marker-a")
        canvas.get_by_text("marker-a", exact=True).wait_for(timeout=60_000)
        send(page, "!echo marker-b")
        canvas.get_by_text("marker-b", exact=True).wait_for(timeout=60_000)
        idle_keys = type_keys(page, 20)
        idle_trips = round_trips(page, 10, "marker-b")

        page.evaluate("window.__progress = []")
        started = time.monotonic()
        send(page, producer(args.rate, args.seconds))
        canvas.get_by_text(re.compile("^event 0 ")).wait_for(timeout=60_000)
        busy_keys = type_keys(page, 20)
        busy_trips = round_trips(page, 10, "event")
        # Stay on the stream's tab until it ends, so every update is drawn.
        page.evaluate(ROUND_TRIP, [-1, "event"])
        last = re.compile(f"^event {int(args.rate * args.seconds) - 1} ")
        try:
            canvas.get_by_text(last).wait_for(timeout=int(args.seconds * 1000) + 60_000)
        except Exception:
            page.screenshot(path="test-artifacts/ui_stream-failure.png")
            raise
        wall = time.monotonic() - started
        progress = page.evaluate("window.__progress")
        context.close()

    first_t, first_n, _ = progress[0]
    last_t, last_n, _ = progress[-1]
    rendered_rate = (last_n - first_n) / ((last_t - first_t) / 1000)
    lags = [lag for _, _, lag in progress]
    print(f"stream of {args.rate} events/s for {args.seconds:g} s through the real Sprite")
    print(f"  events rendered per second   {rendered_rate:7.0f}   (produced {args.rate}/s)")
    print(
        f"  printed → on screen         {median(lags):6.0f} ms median  {p95(lags):6.0f} ms p95"
        f"  {max(lags):6.0f} ms max   (wall {wall:.1f} s)"
    )
    report_latency(busy_keys, idle_keys, busy_trips, idle_trips)
    print(
        json.dumps(
            {
                "rendered_events_per_s": rendered_rate,
                "print_to_screen_ms_median": median(lags),
                "print_to_screen_ms_p95": p95(lags),
                "input_ms_stream": median(busy_keys),
                "input_ms_idle": median(idle_keys),
                "round_trip_ms_stream": median(busy_trips),
                "round_trip_ms_idle": median(idle_trips),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=500, help="events per second produced")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--crew", type=int, default=0, help="parallel tool calls (crew mode)")
    parser.add_argument("--url", help="a running app (default: start one)")
    args = parser.parse_args()
    if args.crew:
        crew_main(args)
    else:
        terminal_main(args)


if __name__ == "__main__":
    main()
