"""Waking a user's Sprite with the Sprites.dev provider, against the local fake Sprites API.

    .venv/bin/python bench/sprites_wake.py [--rounds 5]

Figures (medians over the rounds, each on a fresh sprite):

1. first wake: create + upload and install the runtime release + write env + policy + service
   + first WebSocket handshake through the sprite URL (what a user's first sign-in costs here;
   on Sprites.dev the pip install of the requirements dominates);
2. warm wake: a second ``wake`` of the same sprite from a fresh provider (a restarted bridge
   or another worker): three reads (marker, env file, services) and no upload;
3. wake after a pause: the fake pauses the sprite (processes gone), then ``wake`` + a
   handshake that cold-starts the service through the URL;
4. baseline in the same run: the local provider's wake (bubblewrap process on this machine).

The fake runs on this machine, so network latency to Sprites.dev is not in these figures; they
show the provider's own overhead and how much the version marker saves. Noisy on 2 shared
cores: labelled, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.providers.local_shared import SharedLocalProvider
from bridge.providers.sprites import SpritesProvider
from stackdocs.config import BridgeSettings
from tests.fakes.sprites_api import FakeSprites


async def environment() -> dict[str, str]:
    return {"STACKDOCS_PROXY_TOKEN": "sdp_bench", "STACKDOCS_OCR": "local"}


async def handshake(endpoint) -> None:
    async with websockets.connect(endpoint.url, additional_headers=endpoint.headers) as ws:
        await ws.send(json.dumps({"type": "auth", "payload": {"token": endpoint.token}}))
        await ws.send(json.dumps({"type": "ping", "payload": {}}))
        await ws.recv()


async def run(rounds: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="bench-sprites-"))
    fake = FakeSprites(scratch / "fake").start()
    settings = BridgeSettings.from_env(
        {
            "STACKDOCS_DATA_DIR": str(scratch / "data"),
            "STACKDOCS_SPRITE_PROVIDER": "sprites",
            "SPRITES_API_TOKEN": fake.token,
            "SPRITES_API_URL": fake.url,
            "STACKDOCS_PUBLIC_URL": "https://bridge.example.com",
        }
    )
    first, warm, paused, local = [], [], [], []
    try:
        for _ in range(rounds):
            name = f"bench-{uuid.uuid4().hex[:8]}"
            provider = SpritesProvider(settings)
            await provider.start()
            t = time.perf_counter()
            await provider.create(name)
            await handshake(await provider.wake(name, environment))
            first.append(time.perf_counter() - t)
            await provider.close()

            again = SpritesProvider(settings)
            await again.start()
            t = time.perf_counter()
            await handshake(await again.wake(name, environment))
            warm.append(time.perf_counter() - t)

            await asyncio.to_thread(fake.pause, name)
            t = time.perf_counter()
            await handshake(await again.wake(name, environment))
            paused.append(time.perf_counter() - t)
            await again.close()

        local_provider = SharedLocalProvider(scratch / "local")
        await local_provider.start()
        for i in range(rounds):
            name = f"bench-local-{i}"
            await local_provider.create(name)
            t = time.perf_counter()
            await handshake(await local_provider.wake(name, environment))
            local.append(time.perf_counter() - t)
            await local_provider.sleep(name)
        await local_provider.close()
    finally:
        fake.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:8.0f} ms (min {min(values) * 1000:.0f})"

    base = statistics.median(local)
    print(f"rounds: {rounds}  (2 shared cores: noisy)")
    for label, values in (
        ("first wake (create + deploy)", first),
        ("warm wake (marker matches)", warm),
        ("wake after a pause (cold)", paused),
    ):
        print(f"{label:32} {ms(values)} = {statistics.median(values) / base:.2f}x local")
    print(f"{'baseline: local provider wake':32} {ms(local)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
