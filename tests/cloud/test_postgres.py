"""The platform DB on a real PostgreSQL (Debian's server, started by the test setup).

Supabase is plain Postgres to us: the schema must need no extension, and two bridge workers
(two engines) must agree on users, proxy tokens and usage counters under concurrency.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from bridge.db import PlatformDB
from bridge.providers.sprites.lock import CrossWorkerLock
from tests.bridge.conftest import serve_bridge
from tests.cloud.services import Postgres


async def fresh_db(postgres: Postgres, name: str) -> str:
    with psycopg.connect(postgres.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres.url(name)


async def test_migrations_need_no_extension(postgres: Postgres) -> None:
    url = await fresh_db(postgres, "migrate")
    db = PlatformDB(url)
    await db.migrate()
    await db.migrate()  # idempotent (every worker migrates at start-up)
    await db.close()
    with psycopg.connect(url) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        extensions = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    assert {"users", "alembic_version"} <= tables
    assert extensions == {"plpgsql"}  # what every Postgres (and Supabase) has


async def test_two_workers_agree_on_users_tokens_and_usage(postgres: Postgres) -> None:
    url = await fresh_db(postgres, "workers")
    first, second = PlatformDB(url), PlatformDB(url.replace("postgresql://", "postgres://"))
    await first.migrate()
    try:
        # The same first sign-in on both workers at once: one row, one of them "created" it.
        results = await asyncio.gather(
            *(db.sign_in("user_2zed", "zed@example.com") for db in (first, second) * 4)
        )
        assert sum(created for _record, created in results) == 1
        assert {record.id for record, _ in results} == {"user_2zed"}

        await first.set_proxy_token_hash("user_2zed", "a" * 64)
        assert await second.user_for_proxy_token_hash("a" * 64) == "user_2zed"

        await asyncio.gather(
            *(
                db.add_usage("user_2zed", mistral_requests=1, mistral_pages=3)
                for db in (first, second) * 10
            )
        )
        record = await second.get_user("user_2zed")
        assert record is not None
        assert record.usage["mistral_requests"] == 20 and record.usage["mistral_pages"] == 60
    finally:
        await first.close()
        await second.close()


async def test_the_bridge_signs_users_in_on_postgres(postgres: Postgres, tmp_path: Path) -> None:
    url = await fresh_db(postgres, "bridge")
    async with serve_bridge(tmp_path / "data", DATABASE_URL=url) as bridge:
        async with bridge.client("pg-user") as client:
            await client.send("state_request", {}, id="s")
            await client.until_type("state", within=60)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT sprite_name, sprite_status FROM users WHERE id = %s", ("pg-user",)
        ).fetchone()
    assert row is not None and row[0].startswith("sd-pg-user-") and row[1] == "active"


async def test_advisory_lock_serialises_workers(postgres: Postgres) -> None:
    """Two workers provisioning the same Sprite take turns (the Sprites provider's lock)."""
    url = postgres.url()
    workers = [CrossWorkerLock(postgres_url=url), CrossWorkerLock(postgres_url=url)]
    order: list[str] = []
    first_inside = asyncio.Event()
    release_first = asyncio.Event()

    async def worker(index: int) -> None:
        if index == 1:
            await first_inside.wait()
        async with workers[index].hold("sd-shared"):
            order.append(f"enter {index}")
            if index == 0:
                first_inside.set()
                await release_first.wait()
            order.append(f"leave {index}")

    second = asyncio.create_task(worker(1))
    first = asyncio.create_task(worker(0))
    await first_inside.wait()
    await asyncio.sleep(0.3)  # give the second worker every chance to (wrongly) get in
    assert order == ["enter 0"]
    release_first.set()
    await asyncio.gather(first, second)
    assert order == ["enter 0", "leave 0", "enter 1", "leave 1"]
