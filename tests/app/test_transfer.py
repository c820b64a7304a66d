"""Uploads go to the Sprite as start/chunk/end frames from a spooled file, never whole."""

import asyncio
import base64
import hashlib
from dataclasses import dataclass

import pytest

from app.documents import transfer
from stackdocs.protocol import UPLOAD_CHUNK_BYTES, encode, parse_frame


@dataclass
class Chunk:
    filename: str
    content_type: str
    data: bytes


async def chunks(*items):
    for item in items:
        yield item


class RecordingSender:
    """Checks each frame against the protocol and keeps it; reports progress on demand."""

    def __init__(self, confirm_lag: int | None = None) -> None:
        self.frames = []
        self.confirmed: dict[str, int] = {}
        self.confirm_lag = confirm_lag
        self.waits = []

    async def send(self, msg_type, payload, *, id=None, wait=False):
        frame = parse_frame(encode(msg_type, payload, id=id))
        assert not hasattr(frame, "code"), frame
        self.frames.append((msg_type, payload))
        if msg_type == "file_upload_chunk" and self.confirm_lag is not None:
            got = sum(
                len(base64.b64decode(p["data"])) for t, p in self.frames if t == "file_upload_chunk"
            )
            self.confirmed[payload["upload_id"]] = max(0, got - self.confirm_lag)

    def upload_received(self, upload_id):
        return self.confirmed.get(upload_id)

    async def wait_for_upload(self, upload_id, received):
        self.waits.append(received)
        self.confirmed[upload_id] = received

    def forget_upload(self, upload_id):
        self.confirmed.pop(upload_id, None)


async def test_a_file_is_spooled_hashed_and_sent_in_protocol_chunks(tmp_path):
    body = bytes(range(256)) * 9000  # 2.3 MB: five chunks
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    files = await transfer.spool(
        chunks(*[Chunk("dir/../Invoice 7.pdf", "application/pdf", p) for p in pieces]),
        max_bytes=10 * 1024 * 1024,
        directory=tmp_path,
    )
    [item] = files
    assert item.filename == "Invoice 7.pdf" and item.size == len(body)
    assert item.sha256 == hashlib.sha256(body).hexdigest()
    sender = RecordingSender()
    sent = []

    async def progress(n):
        sent.append(n)

    await transfer.send_file(sender, item, progress)
    kinds = [t for t, _ in sender.frames]
    assert kinds == ["file_upload_start"] + ["file_upload_chunk"] * 5 + ["file_upload_end"]
    start = sender.frames[0][1]
    assert (start["size"], start["sha256"], start["mime_type"]) == (
        len(body),
        item.sha256,
        "application/pdf",
    )
    data = [p for t, p in sender.frames if t == "file_upload_chunk"]
    assert [p["seq"] for p in data] == [0, 1, 2, 3, 4]
    assert all(len(base64.b64decode(p["data"])) <= UPLOAD_CHUNK_BYTES for p in data)
    assert b"".join(base64.b64decode(p["data"]) for p in data) == body
    assert sent[-1] == len(body)
    item.remove()
    assert list(tmp_path.iterdir()) == []


async def test_the_sender_waits_when_the_sprite_confirms_too_little(tmp_path):
    body = b"x" * (UPLOAD_CHUNK_BYTES * 12)
    [item] = await transfer.spool(
        chunks(Chunk("big.bin", "", body)), max_bytes=len(body), directory=tmp_path
    )
    assert item.mime_type == "application/octet-stream"
    sender = RecordingSender(confirm_lag=UPLOAD_CHUNK_BYTES * 10)
    await transfer.send_file(sender, item)
    assert sender.waits, "no pacing although the Sprite lagged ten chunks behind"
    assert all(w > 0 for w in sender.waits)
    item.remove()


async def test_too_large_files_are_refused_and_nothing_is_left_behind(tmp_path):
    with pytest.raises(transfer.TooLarge, match=r"big\.pdf is larger than the 1 MB limit"):
        await transfer.spool(
            chunks(
                Chunk("ok.txt", "text/plain", b"fine"),
                *[Chunk("big.pdf", "application/pdf", b"y" * 400_000)] * 3,
            ),
            max_bytes=1024 * 1024,
            directory=tmp_path,
        )
    assert list(tmp_path.iterdir()) == []


async def test_an_empty_file_still_gets_start_and_end(tmp_path):
    [item] = await transfer.spool(
        chunks(Chunk("empty.txt", "text/plain", b"")), max_bytes=10, directory=tmp_path
    )
    sender = RecordingSender()
    await transfer.send_file(sender, item)
    assert [t for t, _ in sender.frames] == ["file_upload_start", "file_upload_end"]
    assert sender.frames[0][1]["sha256"] == hashlib.sha256(b"").hexdigest()
    item.remove()
    await asyncio.sleep(0)
