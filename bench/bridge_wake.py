"""Wake from sleep to first pong, through the bridge (local provider, bubblewrap sandbox).

    .venv/bin/python -m bench.bridge_wake [--runs 15]

Each run: the user's Sprite is asleep (idle timeout 0.3 s, /health shows no Sprite awake); a
client connects, signs in and sends a ping at once; the time to the pong is the wake time the
user sees. Baseline in the same run: the time from starting ``stackdocs sprite serve`` directly
(no sandbox, no bridge) until its first pong. Target (issue 4): p50 ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import websockets

from bench.bridge_support import BridgeProcess, DirectSprite, open_direct, ping, summary_ms


async def wake_once(bridge: BridgeProcess) -> float:
    deadline = time.monotonic() + 30
    while bridge.health()["sprites_awake"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the Sprite did not fall asleep")
        await asyncio.sleep(0.05)
    token = bridge.token("sleeper")
    start = time.perf_counter()
    async with websockets.connect(bridge.ws_url, compression=None) as ws:
        await ws.send(json.dumps({"type": "auth", "payload": {"token": token}}))
        await ws.send(json.dumps({"type": "ping", "payload": {}, "id": "wake"}))
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "sprite_status":
                PHASES.setdefault(frame["payload"]["status"], []).append(
                    time.perf_counter() - start
                )
            if frame["type"] == "pong":
                return time.perf_counter() - start


PHASES: dict[str, list[float]] = {}


async def direct_start_once() -> float:
    start = time.perf_counter()
    sprite = DirectSprite().start(poll_seconds=0.005)
    try:
        ws = await open_direct(sprite)
        await ping(ws, "first")
        await ws.close()
        return time.perf_counter() - start
    finally:
        sprite.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    bridge = BridgeProcess({"STACKDOCS_SPRITE_IDLE_SECONDS": "0.3"}).start()
    try:
        await wake_once(bridge)  # first sign-in: user created, Sprite provisioned
        PHASES.clear()
        wakes, starts = [], []
        for _ in range(args.runs):  # interleaved, so both see the same machine load
            wakes.append(await wake_once(bridge))
            starts.append(await direct_start_once())
        print(f"sandbox: {bridge.health()['sandbox']}")
        print(f"wake from sleep to first pong (bridge): {summary_ms(wakes)}")
        for status in ("waking", "ready"):
            print(f"  ... to sprite_status {status:7}:        {summary_ms(PHASES.get(status, []))}")
        print(f"direct runtime start to first pong:     {summary_ms(starts)}")
    finally:
        bridge.stop()


if __name__ == "__main__":
    asyncio.run(main())
