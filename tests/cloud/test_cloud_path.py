"""The production path end to end, with every external service faked at its wire format:

browser-less client ──/ws──▶ bridge ──Sprites provider──▶ fake Sprites.dev ──▶ real runtime
                                ▲                                                │ OCR
                                └──── /proxy/mistral (injects the real key) ◀────┘
                                          │
                                          ▼
                                  fake Mistral POST /v1/ocr

and the same with the local provider. A two-page PDF is OCR'd by "Mistral" through the bridge's
key-injecting proxy and its pages come back separate; the real key reaches only the upstream.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bridge.conftest import WsClient, serve_bridge
from tests.fakes.mistral_api import FakeMistral
from tests.fakes.sprites_api import FakeSprites
from tests.sprite import documents

REAL_MISTRAL_KEY = "mistral-REAL-key-cloud-path-0123456789"


@pytest.fixture
def mistral() -> Iterator[FakeMistral]:
    server = FakeMistral(api_key=REAL_MISTRAL_KEY).start()
    yield server
    server.stop()


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.is_file()
        and not p.is_symlink()
        and p.stat().st_size < 5_000_000
        and needle in p.read_bytes()
    ]


async def upload(client: WsClient, filename: str, data: bytes) -> str:
    await client.send(
        "file_upload",
        {
            "filename": filename,
            "mime_type": "application/pdf",
            "data": base64.b64encode(data).decode(),
        },
        id="up",
    )
    reply = await client.until(lambda f: f.get("id") == "up", within=120)
    assert reply["type"] == "document_event", reply
    return reply["payload"]["document_id"]


@pytest.mark.parametrize("provider", ["sprites", "local"])
async def test_mistral_ocr_through_the_bridge_proxy(
    provider: str, tmp_path: Path, mistral: FakeMistral, fake_sprites: FakeSprites
) -> None:
    env = {
        "STACKDOCS_OCR": "mistral",
        "MISTRAL_API_KEY": REAL_MISTRAL_KEY,
        "MISTRAL_UPSTREAM_URL": mistral.url,
    }
    if provider == "sprites":
        env.update(
            STACKDOCS_SPRITE_PROVIDER="sprites",
            SPRITES_API_TOKEN=fake_sprites.token,
            SPRITES_API_URL=fake_sprites.url,
        )
    pdf = documents.text_pdf_with_table(pages=2)
    async with serve_bridge(tmp_path / "data", **env) as bridge:
        async with bridge.client(f"ocr-{provider}") as client:
            document_id = await upload(client, "invoice.pdf", pdf)
            final = await client.until(
                lambda f: (
                    f["type"] == "document_event"
                    and f["payload"]["document_id"] == document_id
                    and f["payload"]["status"] in ("ocr_complete", "completed", "failed")
                ),
                within=120,
            )
            assert final["payload"]["status"] != "failed", final
            await client.send("document_request", {"document_id": document_id}, id="doc")
            content = await client.until(lambda f: f.get("id") == "doc", within=60)
        sprite_name = bridge.sprite_name(f"ocr-{provider}")

    # The Sprite's request reached Mistral's wire format with the real key swapped in.
    (request,) = mistral.requests
    assert request["path"] == "/v1/ocr"
    assert request["authorization"] == f"Bearer {REAL_MISTRAL_KEY}"
    assert request["body"]["document"]["type"] == "document_url"
    assert base64.b64decode(request["body"]["document"]["document_url"].split(",", 1)[1]) == pdf

    # Pages stay separate, numbered from 1.
    payload = content["payload"]
    assert content["type"] == "document_content" and payload["engine"] == "mistral"
    pages = payload["pages"]
    assert [p["page"] for p in pages] == [1, 2]
    assert pages[0]["text"].startswith("# Page 1") and pages[1]["text"].startswith("# Page 2")

    # The Sprite holds a proxy token, never the key.
    if provider == "sprites":
        root = Path(fake_sprites.inspect(sprite_name)["root"])
        env_file = root / "home/sprite/stackdocs/sprite.env"
        assert "STACKDOCS_PROXY_TOKEN" in env_file.read_text()
        assert REAL_MISTRAL_KEY not in env_file.read_text()
        leaked = files_containing(root, REAL_MISTRAL_KEY.encode())
        assert leaked == []
    log = json.dumps(mistral.requests)
    assert "sdp_" not in log  # the per-sprite proxy token did not travel upstream
