"""The bridge with ``STACKDOCS_SPRITE_PROVIDER=sprites`` end to end over ``/ws``: sign-in creates
the user's Sprite on the (fake) Sprites.dev, shell missions run in it, checkpoints go through
the checkpoint API, and after an idle period the bridge lets go and the Sprite pauses; the next
sign-in wakes it with everything still there."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.bridge.conftest import serve_bridge
from tests.fakes.sprites_api import FakeSprites


def sprites_env(fake: FakeSprites) -> dict[str, str]:
    return {
        "STACKDOCS_SPRITE_PROVIDER": "sprites",
        "SPRITES_API_TOKEN": fake.token,
        "SPRITES_API_URL": fake.url,
        "STACKDOCS_SPRITE_IDLE_SECONDS": "1",
    }


async def test_missions_checkpoints_and_sleep_through_the_bridge(
    tmp_path: Path, fake_sprites: FakeSprites
) -> None:
    async with serve_bridge(tmp_path / "data", **sprites_env(fake_sprites)) as bridge:
        async with bridge.client("cloud-alice") as client:
            name = bridge.sprite_name("cloud-alice")
            assert fake_sprites.inspect(name)["labels"] == ["stackdocs"]
            assert "v1" in await client.shell_output("echo v1 > note.txt && cat note.txt")

            await client.send("checkpoint_create", {"comment": "first"}, id="c1")
            listed = await client.until(lambda f: f.get("id") == "c1", within=60)
            assert listed["type"] == "checkpoints", listed
            ids = [item["id"] for item in listed["payload"]["items"]]
            assert ids[0] == "v1" and "Current" not in ids

            assert "v2" in await client.shell_output("echo v2 > note.txt && cat note.txt")
            await client.send("checkpoint_restore", {"checkpoint_id": "v1"}, id="r1")
            await client.until_type("state_reload", within=120)
            # The Sprite came back with the checkpoint's disk; the session reconnected to it.
            assert "v1" in await client.shell_output("cat note.txt")

        # Nobody attached: after the idle period the bridge lets go, and the Sprite pauses
        # (the fake pauses it at once when idle, as Sprites.dev does ≈30 s later).
        fake_sprites.configure(idle_seconds=1)
        try:
            sprite = bridge.bridge.sprite_of("cloud-alice")
            assert sprite is not None
            for _ in range(600):
                if sprite.status == "asleep" and fake_sprites.inspect(name)["status"] == "cold":
                    break
                await asyncio.sleep(0.1)
            assert sprite.status == "asleep"
            assert fake_sprites.inspect(name)["status"] == "cold"

            async with bridge.client("cloud-alice") as client:  # wakes on connect
                assert "v1" in await client.shell_output("cat note.txt")
        finally:
            fake_sprites.configure(idle_seconds=3600)
