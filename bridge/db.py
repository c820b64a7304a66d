"""The platform DB: users, their Sprite's status, proxy-token hashes and usage counters.

SQLModel on a synchronous SQLAlchemy engine (SQLite by default, Postgres by ``DATABASE_URL``),
every call run in a small dedicated thread pool so the Reflex event loop never blocks on disk or
network. The schema comes from the Alembic revisions in ``bridge/migrations`` (applied by
:meth:`PlatformDB.migrate` at bridge start-up); queries use the ORM only, no dialect-specific SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bridge.locks import file_lock
from bridge.models import SPRITE_STATUSES, User, utcnow

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
USAGE_COUNTERS = (
    "anthropic_requests",
    "anthropic_input_tokens",
    "anthropic_output_tokens",
    "mistral_requests",
    "mistral_pages",
)
T = TypeVar("T")
MIGRATION_LOCK_KEY = 5_100_607_312  # the pg_advisory_xact_lock id of schema migrations


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A detached snapshot of one ``users`` row (safe to pass between threads)."""

    id: str
    email: str | None
    sprite_name: str | None
    sprite_status: str
    subscription_tier: str
    usage: dict[str, int]
    created_at: datetime

    @classmethod
    def of(cls, row: User) -> UserRecord:
        return cls(
            id=row.id,
            email=row.email,
            sprite_name=row.sprite_name,
            sprite_status=row.sprite_status,
            subscription_tier=row.subscription_tier,
            usage={name: int(getattr(row, name) or 0) for name in USAGE_COUNTERS},
            created_at=row.created_at,
        )


def engine_url(database_url: str) -> str:
    """Normalise a ``DATABASE_URL`` for SQLAlchemy (``postgres://`` is the Heroku/Fly form)."""
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    if database_url.startswith("postgresql://"):
        try:
            import psycopg  # noqa: F401

            database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
        except ImportError:
            pass  # SQLAlchemy's default driver (psycopg2)
    return database_url


def create_platform_engine(database_url: str) -> sa.Engine:
    url = engine_url(database_url)
    if url.startswith("sqlite"):
        path = sa.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets the proxy's usage writes and sign-ins proceed without blocking readers.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class PlatformDB:
    def __init__(self, database_url: str, *, threads: int = 4) -> None:
        self.database_url = database_url
        self.engine = create_platform_engine(database_url)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="platform-db")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    async def close(self) -> None:
        await self._run(self.engine.dispose)
        self._pool.shutdown(wait=False)

    # ------------------------------------------------------------------ schema

    def migrate_sync(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        # Every backend worker migrates at start-up (several start at once with Redis): one at
        # a time, or two would both create the tables of a fresh database.
        with self._migration_lock(), self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Held until this transaction ends; the next worker then finds head and no-ops.
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """For SQLite (workers on one machine): an flock beside the database file."""
        sqlite = self.engine.dialect.name == "sqlite"
        path = sa.make_url(self.engine.url).database if sqlite else None
        if not path or path == ":memory:":
            yield
            return
        with file_lock(f"{path}.migrate.lock"):
            yield

    async def migrate(self) -> None:
        await self._run(self.migrate_sync)

    # ------------------------------------------------------------------ users

    async def sign_in(self, user_id: str, email: str | None) -> tuple[UserRecord, bool]:
        """The user's row, created on first sign-in. Returns ``(record, created)``."""
        return await self._run(self._sign_in, user_id, email)

    def _sign_in(self, user_id: str, email: str | None) -> tuple[UserRecord, bool]:
        for _attempt in range(2):
            with Session(self.engine, expire_on_commit=False) as session:
                row = session.get(User, user_id)
                created = row is None
                if row is None:
                    row = User(id=user_id, email=email)
                elif email and row.email != email:
                    row.email = email
                row.last_seen_at = utcnow()
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:
                    # Two first sign-ins raced; the other one created the row: read it.
                    session.rollback()
                    continue
                return UserRecord.of(row), created
        raise RuntimeError(f"could not create user {user_id!r}")

    async def get_user(self, user_id: str) -> UserRecord | None:
        return await self._run(self._get_user, user_id)

    def _get_user(self, user_id: str) -> UserRecord | None:
        with Session(self.engine) as session:
            row = session.get(User, user_id)
            return UserRecord.of(row) if row else None

    async def update_sprite(
        self, user_id: str, *, status: str | None = None, sprite_name: str | None = None
    ) -> None:
        if status is not None and status not in SPRITE_STATUSES:
            raise ValueError(f"unknown sprite status {status!r}")
        await self._run(self._update_sprite, user_id, status, sprite_name)

    def _update_sprite(self, user_id: str, status: str | None, sprite_name: str | None) -> None:
        with Session(self.engine) as session:
            row = session.get(User, user_id)
            if row is None:
                raise KeyError(user_id)
            if status is not None:
                row.sprite_status = status
            if sprite_name is not None:
                row.sprite_name = sprite_name
            session.add(row)
            session.commit()

    # ------------------------------------------------------------------ proxy tokens

    async def set_proxy_token_hash(self, user_id: str, token_hash: str | None) -> None:
        await self._run(self._set_proxy_token_hash, user_id, token_hash)

    def _set_proxy_token_hash(self, user_id: str, token_hash: str | None) -> None:
        with Session(self.engine) as session:
            session.execute(
                sa.update(User).where(User.id == user_id).values(proxy_token_hash=token_hash)
            )
            session.commit()

    async def user_for_proxy_token_hash(self, token_hash: str) -> str | None:
        return await self._run(self._user_for_proxy_token_hash, token_hash)

    def _user_for_proxy_token_hash(self, token_hash: str) -> str | None:
        with Session(self.engine) as session:
            row = session.exec(
                select(User.id, User.sprite_status).where(User.proxy_token_hash == token_hash)
            ).first()
            if row is None or row[1] in ("suspended", "deleted"):
                return None
            return row[0]

    # ------------------------------------------------------------------ usage

    async def add_usage(self, user_id: str, **counters: int) -> None:
        """Add to the user's usage counters atomically (``UPDATE … SET n = n + :delta``)."""
        unknown = set(counters) - set(USAGE_COUNTERS)
        if unknown:
            raise ValueError(f"unknown usage counters: {sorted(unknown)}")
        deltas = {name: int(value) for name, value in counters.items() if value}
        if deltas:
            await self._run(self._add_usage, user_id, deltas)

    def _add_usage(self, user_id: str, deltas: dict[str, int]) -> None:
        values = {name: getattr(User, name) + delta for name, delta in deltas.items()}
        with Session(self.engine) as session:
            session.execute(sa.update(User).where(User.id == user_id).values(**values))
            session.commit()
