"""The per-client outbox: bounded in frames and bytes, drained in order, closable."""

from __future__ import annotations

import asyncio

from bridge.session import _Outbox


async def test_bounded_by_frames_and_bytes_yet_one_big_frame_always_fits() -> None:
    box = _Outbox(limit=3, max_bytes=100)
    assert box.put_nowait("x" * 500)  # alone: accepted whatever its size
    assert not box.put_nowait("y")  # over the byte bound now
    assert await box.get() == "x" * 500
    assert all(box.put_nowait(c) for c in "abc")
    assert not box.put_nowait("d")  # over the frame bound
    assert box.put_nowait("e", force=True)  # a bridge error frame before closing


async def test_put_waits_for_room_or_gives_up() -> None:
    box = _Outbox(limit=1, max_bytes=1000)
    box.put_nowait("first")
    assert not await box.put("second", 0.05)  # nobody reads: gives up
    waiter = asyncio.create_task(box.put("second", 5))
    assert await box.get() == "first"
    assert await waiter
    assert await box.get() == "second"


async def test_close_drains_what_is_left_then_ends() -> None:
    box = _Outbox(limit=10)
    box.put_nowait("a")
    box.put_nowait("b")
    box.close()
    assert [await box.get(), await box.get(), await box.get()] == ["a", "b", None]
