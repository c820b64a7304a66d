"""One provisioning at a time per Sprite, across every bridge worker.

Reflex runs several backend workers when Redis holds its state; two of them may wake the same
user's Sprite at the same moment. Provisioning (deploy, new runtime token, service restart)
must happen once, or one worker would hand out a token the other just replaced. The lock is:

* a PostgreSQL advisory lock when the platform DB is Postgres (workers on several machines
  share it), held on a dedicated connection for the duration;
* otherwise an ``flock`` on ``<data dir>/locks/<sprite>.lock`` (workers on one machine, which is
  the only multi-worker shape with a SQLite platform DB).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from bridge.locks import async_file_lock
from stackdocs.config import BridgeSettings


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock``."""
    return int.from_bytes(
        hashlib.sha256(f"stackdocs:{name}".encode()).digest()[:8], "big", signed=True
    )


class CrossWorkerLock:
    def __init__(self, *, lock_dir: Path | None = None, postgres_url: str | None = None) -> None:
        self.lock_dir = lock_dir
        self.postgres_url = postgres_url

    @classmethod
    def for_settings(cls, settings: BridgeSettings) -> CrossWorkerLock:
        url = settings.database_url
        if url.startswith(("postgres://", "postgresql://", "postgresql+")):
            return cls(postgres_url="postgresql://" + url.split("://", 1)[1])
        return cls(lock_dir=settings.data_dir / "locks")

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        if self.postgres_url:
            async with self._postgres(name):
                yield
        else:
            async with self._flock(name):
                yield

    @contextlib.asynccontextmanager
    async def _postgres(self, name: str) -> AsyncIterator[None]:
        import psycopg

        key = advisory_key(name)
        async with await psycopg.AsyncConnection.connect(
            self.postgres_url, autocommit=True
        ) as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def _flock(self, name: str) -> contextlib.AbstractAsyncContextManager[None]:
        assert self.lock_dir is not None
        return async_file_lock(self.lock_dir / f"{name}.lock")
