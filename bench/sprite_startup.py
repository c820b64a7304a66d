"""Sprite process start-up to first `pong`, and its idle memory.

    .venv/bin/python bench/sprite_startup.py [--runs 10]

Start-up: from spawning `stackdocs sprite serve` on a fresh workspace to the `pong` answering
the first `ping` (connecting retries until the port listens). Target ≤ 300 ms. Baseline in the
same run: a bare `python -c pass` of the same interpreter (what no Python program can beat).

Idle RSS: the process after start-up and a `state_request`, left idle for a second (target ≤
80 MB); and again after it has ingested a PDF and a scan (pdfium and friends loaded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time

from sprite_common import Sprite, connect, median, scanned_page_png, text_pdf, upload_and_wait


async def first_pong_seconds() -> tuple[float, float]:
    """(spawn -> WebSocket open, spawn -> first pong)."""
    sprite = Sprite()
    started = sprite.spawn()
    try:
        ws = await connect(sprite)
        opened = time.monotonic() - started
        await ws.send(json.dumps({"type": "ping", "payload": {}}))
        while json.loads(await ws.recv())["type"] != "pong":
            pass
        elapsed = time.monotonic() - started
        await ws.close()
        return opened, elapsed
    finally:
        sprite.stop()


def bare_python_seconds() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.monotonic() - started


async def idle_rss() -> tuple[float, float]:
    sprite = Sprite()
    sprite.spawn()
    try:
        ws = await connect(sprite)
        await ws.send(json.dumps({"type": "state_request", "payload": {}}))
        await ws.recv()
        await asyncio.sleep(1)
        fresh = sprite.rss_mb()
        await upload_and_wait(ws, "a.pdf", text_pdf(20))
        await upload_and_wait(ws, "scan.png", scanned_page_png())
        await asyncio.sleep(1)
        used = sprite.rss_mb()
        await ws.close()
        return fresh, used
    finally:
        sprite.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    await first_pong_seconds()  # warm the page cache
    pongs, opens, bare = [], [], []
    for _ in range(args.runs):
        bare.append(bare_python_seconds())
        opened, pong = await first_pong_seconds()
        opens.append(opened)
        pongs.append(pong)
    fresh, used = await idle_rss()
    print(
        f"start -> first pong, median of {args.runs}: {median(pongs) * 1000:.0f} ms "
        f"(min {min(pongs) * 1000:.0f}, max {max(pongs) * 1000:.0f}; target <= 300 ms)"
    )
    print(f"  of which spawn -> WebSocket open: {median(opens) * 1000:.0f} ms")
    print(f"  baseline, bare python start: {median(bare) * 1000:.0f} ms")
    print(f"idle RSS after start-up: {fresh:.0f} MB (target <= 80 MB)")
    print(f"idle RSS after ingesting a PDF and a scan: {used:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
