"""A 200 MB upload through the bridge's /ws vs straight to a Sprite, and the bridge's memory.

    .venv/bin/python -m bench.bridge_upload [--mb 200] [--window 8]

The file goes in ``file_upload_start`` / ``file_upload_chunk`` (512 KiB, base64) /
``file_upload_end`` frames, at most ``--window`` chunks ahead of the Sprite's
``upload_progress`` acknowledgements (as a browser would pace it). Measured: wall time from
start to the last acknowledgement, throughput, and the bridge process's RSS (sampled every
20 ms) above its level before the upload. Targets (issue 4): relay ≥ 40 % of direct
throughput, bridge RSS growth ≤ 32 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import threading
import time

from bench.bridge_support import BridgeProcess, DirectSprite, open_direct, open_relay, rss_bytes
from stackdocs.protocol import UPLOAD_CHUNK_BYTES

MAX_UPLOAD_MB = "1024"


def make_file(size: int) -> tuple[bytes, str]:
    # A PDF header so the Sprite accepts the type; the rest is incompressible.
    data = b"%PDF-1.4\n" + os.urandom(size - 9)
    return data, hashlib.sha256(data).hexdigest()


async def upload(ws, data: bytes, sha256: str, window: int, upload_id: str) -> float:
    chunks = [data[i : i + UPLOAD_CHUNK_BYTES] for i in range(0, len(data), UPLOAD_CHUNK_BYTES)]
    start = time.perf_counter()
    await ws.send(json.dumps({"type": "file_upload_start", "payload": {
        "upload_id": upload_id, "filename": "big.pdf", "mime_type": "application/pdf",
        "size": len(data), "sha256": sha256}}))  # fmt: skip
    acked = -1  # chunks acknowledged (the start frame's answer is -1 → 0)
    sent = 0
    progress = asyncio.Event()

    async def read_acks() -> None:
        nonlocal acked
        while acked < len(chunks):
            frame = json.loads(await ws.recv())
            if frame["type"] == "upload_progress":
                acked += 1
                progress.set()
            elif frame["type"] == "error":
                raise RuntimeError(frame["payload"])

    reader = asyncio.create_task(read_acks())
    while sent < len(chunks):
        while sent - acked > window:
            progress.clear()
            waiter = asyncio.create_task(progress.wait())
            await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if reader.done():
                reader.result()
        payload = {"upload_id": upload_id, "seq": sent,
                   "data": base64.b64encode(chunks[sent]).decode()}  # fmt: skip
        await ws.send(json.dumps({"type": "file_upload_chunk", "payload": payload}))
        sent += 1
    await reader
    elapsed = time.perf_counter() - start
    await ws.send(json.dumps({"type": "file_upload_end", "payload": {"upload_id": upload_id}}))
    return elapsed


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--window", type=int, default=8)
    args = parser.parse_args()
    data, sha256 = make_file(args.mb * 1024 * 1024)
    env = {"STACKDOCS_MAX_UPLOAD_MB": MAX_UPLOAD_MB, "STACKDOCS_SPRITE_IDLE_SECONDS": "600"}
    bridge = BridgeProcess(env).start()
    sprite = DirectSprite(env).start()
    try:
        ws = await open_direct(sprite)
        direct = await upload(ws, data, sha256, args.window, "direct")
        await ws.close()

        ws = await open_relay(bridge, "uploader")
        await upload(ws, data[: 8 * 1024 * 1024], hashlib.sha256(data[: 8 * 1024 * 1024])
                     .hexdigest(), args.window, "warm")  # fmt: skip
        await asyncio.sleep(1)
        assert bridge.proc is not None
        before = rss_bytes(bridge.proc.pid)
        with RssSampler(bridge.proc.pid) as sampler:
            relayed = await upload(ws, data, sha256, args.window, "relay")
        after = rss_bytes(bridge.proc.pid)
        await ws.close()
        mb = len(data) / 1e6
        print(
            f"{args.mb} MiB upload, {UPLOAD_CHUNK_BYTES // 1024} KiB chunks, window {args.window}"
        )
        print(f"  direct: {direct:6.2f} s  {mb / direct:7.1f} MB/s")
        print(f"  relay:  {relayed:6.2f} s  {mb / relayed:7.1f} MB/s  "
              f"= {direct / relayed * 100:5.1f} % of direct (target >= 40 %)")  # fmt: skip
        print(f"  bridge RSS: before {before / 2**20:.1f} MiB, peak {sampler.peak / 2**20:.1f} "
              f"MiB, after {after / 2**20:.1f} MiB; growth at peak "
              f"{(sampler.peak - before) / 2**20:.1f} MiB (target <= 32 MiB)")  # fmt: skip
    finally:
        bridge.stop()
        sprite.stop()


if __name__ == "__main__":
    asyncio.run(main())
