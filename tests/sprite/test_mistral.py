"""The mistral engine: the real `mistralai` SDK against a local fake of POST /v1/ocr."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.fakes.mistral_api import MODEL, FakeMistral
from tests.sprite import documents
from tests.sprite.conftest import SpriteClient, connect
from tests.support.processes import STACKDOCS_BIN

PROXY_TOKEN = "per-sprite-proxy-token"


@pytest.fixture
def fake() -> Iterator[FakeMistral]:
    server = FakeMistral(api_key=PROXY_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def mistral_sprite(make_sprite, fake):
    return make_sprite(
        env={
            "STACKDOCS_OCR": "mistral",
            "MISTRAL_BASE_URL": f"{fake.url}/proxy/mistral",
            "STACKDOCS_PROXY_TOKEN": PROXY_TOKEN,
        }
    )


async def test_pdf_and_image_go_through_the_proxy_with_the_sprite_token(mistral_sprite, fake):
    pdf = documents.text_pdf_with_table(pages=2)
    png = documents.scan_image()
    async with connect(mistral_sprite) as ws:
        client = SpriteClient(ws)
        pdf_id = (await client.upload("invoice.pdf", pdf))["payload"]["document_id"]
        assert (await client.wait_document(pdf_id))["payload"]["status"] == "ocr_complete"
        png_id = (await client.upload("scan.png", png))["payload"]["document_id"]
        assert (await client.wait_document(png_id))["payload"]["status"] == "ocr_complete"
        pdf_pages = await client.request("document_request", {"document_id": pdf_id})
        png_pages = await client.request("document_request", {"document_id": png_id})

    first, second = fake.requests
    assert first["path"] == "/proxy/mistral/v1/ocr"
    assert first["authorization"] == f"Bearer {PROXY_TOKEN}"
    assert first["body"]["model"] == "mistral-ocr-latest"
    assert first["body"]["document"]["type"] == "document_url"
    prefix, encoded = first["body"]["document"]["document_url"].split(",", 1)
    assert prefix == "data:application/pdf;base64" and base64.b64decode(encoded) == pdf
    assert second["body"]["document"]["type"] == "image_url"
    assert second["body"]["document"]["image_url"].startswith("data:image/png;base64,")

    assert pdf_pages["payload"]["engine"] == "mistral"
    texts = [p["text"] for p in pdf_pages["payload"]["pages"]]
    assert len(texts) == 2 and texts[0].startswith("# Page 1") and "Sprocket" in texts[0]
    assert texts[1].startswith("# Page 2")
    assert png_pages["payload"]["pages"][0]["text"].endswith(f"Scanned image of {len(png)} bytes")
    (ocr,) = mistral_sprite.query("SELECT * FROM ocr_results WHERE document_id = ?", (pdf_id,))
    assert ocr["ocr_engine"] == "mistral" and ocr["model"] == MODEL and ocr["page_count"] == 2
    assert '"pages_processed": 2' in ocr["usage_info"]
    assert '"dpi": 200' in ocr["layout_data"]


async def test_text_formats_are_converted_locally(mistral_sprite, fake):
    async with connect(mistral_sprite) as ws:
        client = SpriteClient(ws)
        doc_id = (await client.upload("rows.csv", documents.csv_file()))["payload"]["document_id"]
        assert (await client.wait_document(doc_id))["payload"]["status"] == "ocr_complete"
    assert fake.requests == []


async def test_api_errors_fail_the_document_with_the_reason(mistral_sprite, fake):
    fake.failure = (
        422,
        {"detail": [{"loc": ["body", "document"], "msg": "too many pages", "type": "value_error"}]},
    )
    async with connect(mistral_sprite) as ws:
        client = SpriteClient(ws)
        doc_id = (await client.upload("a.pdf", documents.text_pdf_with_table(1)))["payload"][
            "document_id"
        ]
        final = (await client.wait_document(doc_id))["payload"]
    assert final["status"] == "failed"
    assert final["error"].startswith("Mistral OCR failed") and "too many pages" in final["error"]
    (doc,) = mistral_sprite.query("SELECT status, error FROM documents")
    assert doc["status"] == "failed" and doc["error"] == final["error"]


async def test_a_refused_token_fails_the_document(make_sprite, fake):
    sprite = make_sprite(
        env={
            "STACKDOCS_OCR": "mistral",
            "MISTRAL_BASE_URL": fake.url,
            "STACKDOCS_PROXY_TOKEN": "stale-token",
        }
    )
    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        doc_id = (await client.upload("s.png", documents.scan_image()))["payload"]["document_id"]
        final = (await client.wait_document(doc_id))["payload"]
    assert final["status"] == "failed" and "Mistral OCR failed" in final["error"]
    assert "401" in final["error"]
    assert fake.requests[0]["authorization"] == "Bearer stale-token"


def test_mistral_without_a_proxy_url_stops_start_up_with_one_line(tmp_path):
    env = {**os.environ, "SPRITE_TOKEN": "x" * 32, "STACKDOCS_OCR": "mistral"}
    env.pop("MISTRAL_BASE_URL", None)
    out = subprocess.run(
        [str(STACKDOCS_BIN), "sprite", "serve", "--workspace", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "stackdocs: MISTRAL_BASE_URL: required when STACKDOCS_OCR=mistral"
    ]
