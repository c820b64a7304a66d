"""Exclusive ``flock`` locks between the processes of one machine (bridge workers).

Several Reflex backend workers may serve one user; decisions that must happen once (start a
Sprite's runtime, provision it, migrate the platform DB) are taken under a file lock. The lock
file is created if missing (mode 0600) and never deleted: deleting it would let two processes
lock two different inodes of "the same" file.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: Path | str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (blocking) for the ``with`` block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


@contextlib.asynccontextmanager
async def async_file_lock(path: Path) -> AsyncIterator[None]:
    """:func:`file_lock` for async code: the wait for the lock happens in a thread."""
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
