"""Relay latency: ping → pong through the bridge's /ws vs straight to a Sprite runtime.

    .venv/bin/python -m bench.bridge_relay [--rounds 400] [--sessions 1,100] [--interval 0.05]
                                           [--stackdocs-run]

Each session sends a ping, waits for its pong, then waits ``--interval`` before the next
(paced, like browsers; the 100 sessions start at random offsets). The relay's sessions all
belong to one user, so both paths load one Sprite runtime the same way. Targets (issue 4):
relay p50 ≤ 1.5x direct, relay p99 ≤ 10 ms at 100 sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import random

from bench.bridge_support import (
    BridgeProcess,
    DirectSprite,
    open_direct,
    open_relay,
    percentile,
    ping,
    summary_ms,
)


async def _session(ws, rounds: int, interval: float, tag: str, out: list[float]) -> None:
    await asyncio.sleep(random.random() * interval)
    for _ in range(5):  # warm-up
        await ping(ws, f"{tag}-w")
    for n in range(rounds):
        out.append(await ping(ws, f"{tag}-{n}"))
        await asyncio.sleep(interval)


async def measure(connect, sessions: int, rounds: int, interval: float) -> list[float]:
    sockets = [await connect() for _ in range(sessions)]
    samples: list[float] = []
    try:
        await asyncio.gather(
            *(
                _session(ws, rounds, interval if sessions > 1 else 0.0, f"s{i}", samples)
                for i, ws in enumerate(sockets)
            )
        )
    finally:
        for ws in sockets:
            await ws.close()
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--sessions", default="1,100")
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument(
        "--stackdocs-run", action="store_true", help="measure the real product (Reflex/granian)"
    )
    args = parser.parse_args()
    bridge = BridgeProcess({"STACKDOCS_SPRITE_IDLE_SECONDS": "600"}).start(
        through_stackdocs_run=args.stackdocs_run
    )
    sprite = DirectSprite().start()
    print(f"bridge sandbox: {bridge.health()['sandbox']}")
    try:
        for sessions in [int(s) for s in args.sessions.split(",")]:
            rounds = args.rounds if sessions == 1 else max(20, args.rounds // 10)
            direct = await measure(lambda: open_direct(sprite), sessions, rounds, args.interval)
            relay = await measure(
                lambda: open_relay(bridge, "bench"), sessions, rounds, args.interval
            )
            ratio = percentile(relay, 50) / percentile(direct, 50)
            print(f"\n{sessions} session(s), {rounds} round trips each")
            print(f"  direct: {summary_ms(direct)}")
            print(f"  relay:  {summary_ms(relay)}")
            print(
                f"  relay/direct p50 = {ratio:.2f}x (target <= 1.5x); "
                f"relay p99 = {percentile(relay, 99) * 1000:.2f} ms (target <= 10 ms at 100)"
            )
    finally:
        bridge.stop()
        sprite.stop()


if __name__ == "__main__":
    asyncio.run(main())
