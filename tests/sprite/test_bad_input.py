"""Bad uploads get a clear error or a `failed` status, and nothing lands outside documents/."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest

from tests.sprite import documents
from tests.sprite.conftest import workspace_files


def assert_nothing_stored(sprite) -> None:
    assert workspace_files(sprite.workspace) == set()
    assert sprite.query("SELECT id FROM documents") == []
    outside = {p.name for p in sprite.workspace.parent.iterdir()} - {"workspace"}
    assert not outside, outside


@pytest.mark.parametrize(
    ("filename", "reason"),
    [
        ("../../etc/passwd.txt", "'..'"),
        ("..\\..\\evil.txt", "'..'"),
        ("/etc/cron.d/evil.txt", "absolute path"),
        ("C:\\Windows\\evil.txt", "absolute path"),
        ("evil\x00.txt", "NUL"),
        ("line\nbreak.txt", "control characters"),
        ("", "empty"),
        ("...", "no usable characters"),
    ],
)
async def test_dangerous_file_names_are_refused(sprite, client, filename, reason):
    reply = await client.upload(filename, b"hello")
    assert reply["type"] == "error"
    assert reply["payload"]["code"] == "bad_filename"
    assert reason in reply["payload"]["message"]
    assert_nothing_stored(sprite)


async def test_zero_byte_file_is_refused(sprite, client):
    reply = await client.upload("empty.txt", b"")
    assert reply["payload"]["code"] == "empty_file"
    start = await client.request(
        "file_upload_start",
        {
            "upload_id": "z",
            "filename": "empty.pdf",
            "size": 0,
            "sha256": hashlib.sha256(b"").hexdigest(),
        },
    )
    assert start["payload"]["code"] == "empty_file"
    assert_nothing_stored(sprite)


async def test_unsupported_type_is_refused(sprite, client):
    for name, data in (
        ("program.exe", b"MZ\x90\x00" + bytes(200)),
        ("archive.zip", _zip_without_office_parts()),
        ("binary.txt", b"\x00\x01\x02binary"),
    ):
        reply = await client.upload(name, data)
        assert reply["payload"]["code"] == "unsupported_type", reply
        assert "supported: PDF" in reply["payload"]["message"]
    assert_nothing_stored(sprite)


def _zip_without_office_parts() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    return buffer.getvalue()


async def test_corrupt_files_fail_with_a_reason_and_are_kept(sprite, client):
    cases = {
        "broken.pdf": b"%PDF-1.7\n this is not really a pdf",
        "broken.docx": b"PK\x03\x04" + bytes(100),
        "broken.png": b"\x89PNG\r\n\x1a\n" + b"garbage" * 10,
    }
    broken_docx = _zip_named("word/document.xml", b"<not xml")
    cases["fake.docx"] = broken_docx
    failures = {}
    for name, data in cases.items():
        reply = await client.upload(name, data)
        if reply["type"] == "error":  # an unrecognisable zip is simply unsupported
            assert reply["payload"]["code"] == "unsupported_type"
            continue
        final = await client.wait_document(reply["payload"]["document_id"])
        assert final["payload"]["status"] == "failed"
        failures[name] = final["payload"]["error"]
    assert "not a readable PDF" in failures["broken.pdf"]
    assert "OCR failed" in failures["broken.png"]
    assert "not a readable DOCX" in failures["fake.docx"]
    rows = sprite.query("SELECT filename, status, error FROM documents ORDER BY filename")
    assert {r["filename"]: r["status"] for r in rows} == dict.fromkeys(failures, "failed")
    assert all(r["error"] for r in rows)
    assert sprite.query("SELECT * FROM ocr_results") == []
    state = await client.request("state_request")
    assert {d["filename"]: d["error"] for d in state["payload"]["documents"]} == failures


def _zip_named(name: str, content: bytes) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


async def test_upload_size_limit(make_sprite):
    sprite = make_sprite(env={"STACKDOCS_MAX_UPLOAD_MB": "0.05"})  # 52,428 bytes
    from tests.sprite.conftest import SpriteClient, connect

    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        reply = await client.upload("big.txt", b"x" * 60_000)
        assert reply["payload"]["code"] == "too_large"
        assert "STACKDOCS_MAX_UPLOAD_MB" in reply["payload"]["message"]
        start = await client.request(
            "file_upload_start",
            {"upload_id": "u", "filename": "big.txt", "size": 60_000, "sha256": "0" * 64},
        )
        assert start["payload"]["code"] == "too_large"
        ok = await client.upload("small.txt", b"x" * 50_000)
        assert ok["type"] == "document_event"


async def test_checksum_mismatch_discards_the_upload(sprite, client):
    data = b"hello world, this is a document"
    await client.request(
        "file_upload_start",
        {
            "upload_id": "u1",
            "filename": "doc.txt",
            "size": len(data),
            "sha256": hashlib.sha256(b"something else").hexdigest(),
        },
    )
    await client.request(
        "file_upload_chunk", {"upload_id": "u1", "seq": 0, "data": base64.b64encode(data).decode()}
    )
    reply = await client.request("file_upload_end", {"upload_id": "u1"})
    assert reply["payload"]["code"] == "checksum_mismatch"
    assert reply["payload"]["upload_id"] == "u1"
    assert_nothing_stored(sprite)


async def test_chunks_out_of_order_cancel_the_upload(sprite, client):
    data = documents.csv_file()
    await client.request(
        "file_upload_start",
        {
            "upload_id": "u2",
            "filename": "rows.csv",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    reply = await client.request(
        "file_upload_chunk",
        {"upload_id": "u2", "seq": 1, "data": base64.b64encode(data[10:]).decode()},
    )
    assert reply["payload"]["code"] == "chunk_out_of_order"
    assert "expected chunk 0" in reply["payload"]["message"]
    after = await client.request(
        "file_upload_chunk",
        {"upload_id": "u2", "seq": 0, "data": base64.b64encode(data[:10]).decode()},
    )
    assert after["payload"]["code"] == "unknown_upload"
    assert_nothing_stored(sprite)


async def test_size_mismatch_and_bad_base64(sprite, client):
    data = b"0123456789"
    await client.request(
        "file_upload_start",
        {
            "upload_id": "u3",
            "filename": "a.txt",
            "size": 5,
            "sha256": hashlib.sha256(data[:5]).hexdigest(),
        },
    )
    reply = await client.request(
        "file_upload_chunk", {"upload_id": "u3", "seq": 0, "data": base64.b64encode(data).decode()}
    )
    assert reply["payload"]["code"] == "size_mismatch"

    await client.request(
        "file_upload_start",
        {
            "upload_id": "u4",
            "filename": "a.txt",
            "size": 10,
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    await client.request(
        "file_upload_chunk",
        {"upload_id": "u4", "seq": 0, "data": base64.b64encode(data[:4]).decode()},
    )
    short = await client.request("file_upload_end", {"upload_id": "u4"})
    assert short["payload"]["code"] == "size_mismatch"
    assert "received 4 of the announced 10" in short["payload"]["message"]

    reply = await client.request("file_upload", {"filename": "a.txt", "data": "@@not base64@@"})
    assert reply["payload"]["code"] == "bad_base64"
    assert_nothing_stored(sprite)


async def test_an_abandoned_upload_leaves_nothing(sprite):
    from tests.sprite.conftest import SpriteClient, connect

    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        await client.request(
            "file_upload_start",
            {"upload_id": "gone", "filename": "a.txt", "size": 100, "sha256": "0" * 64},
        )
        await client.request(
            "file_upload_chunk",
            {"upload_id": "gone", "seq": 0, "data": base64.b64encode(b"x" * 50).decode()},
        )
        assert any(p.name.startswith(".tmp-") for p in (sprite.workspace / "documents").iterdir())
    for _ in range(200):  # the server cleans up once it has seen the close
        if not workspace_files(sprite.workspace):
            break
        await asyncio.sleep(0.05)
    assert_nothing_stored(sprite)
