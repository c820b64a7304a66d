"""The platform DB on a real SQLite file: migrations, first sign-in, usage, proxy tokens."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bridge.db import PlatformDB, engine_url
from bridge.models import SQLModel


@pytest.fixture
async def db(tmp_path: Path):
    database = PlatformDB(f"sqlite:///{tmp_path / 'platform.db'}")
    await database.migrate()
    yield database
    await database.close()


async def test_migrations_create_exactly_the_models_schema(db: PlatformDB) -> None:
    await db.migrate()  # idempotent
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == []
    assert version == "0001_users"


async def test_first_sign_in_creates_the_user_once(db: PlatformDB) -> None:
    record, created = await db.sign_in("alice", "a@example.com")
    assert created and record.sprite_status == "pending" and record.subscription_tier == "free"
    again, created_again = await db.sign_in("alice", None)
    assert not created_again and again.email == "a@example.com"


async def test_concurrent_first_sign_ins_create_one_row(db: PlatformDB) -> None:
    results = await asyncio.gather(*(db.sign_in("bob", None) for _ in range(8)))
    assert sum(created for _, created in results) == 1
    with db.engine.connect() as connection:
        count = connection.execute(sa.text("SELECT COUNT(*) FROM users")).scalar()
    assert count == 1


async def test_sprite_status_is_checked(db: PlatformDB) -> None:
    await db.sign_in("carol", None)
    await db.update_sprite("carol", status="active", sprite_name="sd-carol")
    assert (await db.get_user("carol")).sprite_status == "active"
    with pytest.raises(ValueError):
        await db.update_sprite("carol", status="sleeping")


async def test_usage_adds_up_under_concurrency(db: PlatformDB) -> None:
    await db.sign_in("dave", None)
    await asyncio.gather(
        *(db.add_usage("dave", anthropic_requests=1, anthropic_output_tokens=5) for _ in range(40))
    )
    usage = (await db.get_user("dave")).usage
    assert usage["anthropic_requests"] == 40 and usage["anthropic_output_tokens"] == 200
    with pytest.raises(ValueError):
        await db.add_usage("dave", dollars=1)


async def test_proxy_token_hash_lookup_ignores_suspended_users(db: PlatformDB) -> None:
    await db.sign_in("erin", None)
    await db.set_proxy_token_hash("erin", "a" * 64)
    assert await db.user_for_proxy_token_hash("a" * 64) == "erin"
    await db.update_sprite("erin", status="suspended")
    assert await db.user_for_proxy_token_hash("a" * 64) is None
    await db.set_proxy_token_hash("erin", None)
    assert await db.user_for_proxy_token_hash("a" * 64) is None


def test_database_urls_are_normalised() -> None:
    assert engine_url("postgres://u:p@h/db").startswith("postgresql")
    assert engine_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
