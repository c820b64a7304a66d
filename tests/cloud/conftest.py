"""Fixtures of the cloud-adapter tests: the fake Sprites.dev API as a real child process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.sprites_api import FakeSprites


@pytest.fixture(scope="module")
def fake_sprites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSprites]:
    fake = FakeSprites(tmp_path_factory.mktemp("fake-sprites"))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def postgres():
    from tests.cloud.services import running_postgres

    with running_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def redis_server():
    from tests.cloud.services import running_redis

    with running_redis() as server:
        yield server
