"""Moving an uploaded file from the browser to the Sprite without holding it in memory.

The browser streams the file to Reflex (``rx.upload_files_chunk``); we spool it to a temporary
file while hashing it, because ``file_upload_start`` announces the size and SHA-256 before the
first byte. Then it goes to the Sprite in ``file_upload_chunk`` frames of
``protocol.UPLOAD_CHUNK_BYTES``, paced by the session (and by ``upload_progress`` when the
Sprite reports it), so memory stays at a few chunks whatever the file size.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import mimetypes
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from stackdocs.protocol import UPLOAD_CHUNK_BYTES

# How far the sender may run ahead of what the Sprite confirmed (once it confirms anything).
WINDOW_BYTES = 8 * UPLOAD_CHUNK_BYTES
PROGRESS_WAIT_SECONDS = 30.0


class ChunkSource(Protocol):
    filename: str
    content_type: str
    data: bytes


class Sender(Protocol):
    async def send(
        self, msg_type: str, payload: dict[str, Any], *, id: str | None = None, wait: bool = False
    ) -> None: ...

    def upload_received(self, upload_id: str) -> int | None: ...
    async def wait_for_upload(self, upload_id: str, received: int) -> None: ...
    def forget_upload(self, upload_id: str) -> None: ...


class TooLarge(ValueError):
    pass


@dataclass
class Spooled:
    filename: str
    mime_type: str
    path: Path
    size: int = 0
    sha256: str = ""
    upload_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _digest: Any = field(default_factory=hashlib.sha256, repr=False)
    _handle: BinaryIO | None = field(default=None, repr=False)

    def remove(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def clean_filename(name: str) -> str:
    """The last path segment, without control characters; never empty."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:255] or "upload"


def _open_spool(directory: Path | None) -> tuple[Path, BinaryIO]:
    fd, name = tempfile.mkstemp(prefix="stackdocs-upload-", dir=directory)
    return Path(name), os.fdopen(fd, "wb")


async def spool(
    chunks: AsyncIterator[ChunkSource],
    *,
    max_bytes: int,
    directory: Path | None = None,
    on_file: Callable[[Spooled], Awaitable[None]] | None = None,
) -> list[Spooled]:
    """Write each uploaded file to a temporary file, hashing as it comes.

    Raises :class:`TooLarge` (after removing what was spooled) if a file exceeds ``max_bytes``.
    """
    files: dict[str, Spooled] = {}
    try:
        async for chunk in chunks:
            item = files.get(chunk.filename)
            if item is None:
                path, handle = await asyncio.to_thread(_open_spool, directory)
                name = clean_filename(chunk.filename)
                mime = chunk.content_type or mimetypes.guess_type(name)[0] or ""
                item = Spooled(name, mime or "application/octet-stream", path, _handle=handle)
                files[chunk.filename] = item
                if on_file is not None:
                    await on_file(item)
            if not chunk.data:
                continue
            item.size += len(chunk.data)
            if item.size > max_bytes:
                raise TooLarge(
                    f"{item.filename} is larger than the {max_bytes // (1024 * 1024)} MB limit"
                )
            item._digest.update(chunk.data)
            assert item._handle is not None
            await asyncio.to_thread(item._handle.write, chunk.data)
        for item in files.values():
            assert item._handle is not None
            await asyncio.to_thread(item._handle.close)
            item._handle = None
            item.sha256 = item._digest.hexdigest()
    except BaseException:
        for item in files.values():
            item.remove()
        raise
    return list(files.values())


async def send_file(
    sender: Sender,
    item: Spooled,
    on_progress: Callable[[int], Awaitable[None]] | None = None,
) -> None:
    """Stream one spooled file to the Sprite: start, chunks, end."""
    await sender.send(
        "file_upload_start",
        {
            "upload_id": item.upload_id,
            "filename": item.filename,
            "mime_type": item.mime_type,
            "size": item.size,
            "sha256": item.sha256,
        },
        wait=True,
    )
    sent = 0
    handle = await asyncio.to_thread(open, item.path, "rb")
    try:
        seq = 0
        while chunk := await asyncio.to_thread(handle.read, UPLOAD_CHUNK_BYTES):
            await sender.send(
                "file_upload_chunk",
                {
                    "upload_id": item.upload_id,
                    "seq": seq,
                    "data": base64.b64encode(chunk).decode("ascii"),
                },
                wait=True,
            )
            seq += 1
            sent += len(chunk)
            confirmed = sender.upload_received(item.upload_id)
            if confirmed is not None and sent - confirmed > WINDOW_BYTES:
                # The Sprite confirms as it writes: stay within a window of it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        sender.wait_for_upload(item.upload_id, sent - WINDOW_BYTES),
                        PROGRESS_WAIT_SECONDS,
                    )
            if on_progress is not None:
                await on_progress(sent)
    finally:
        await asyncio.to_thread(handle.close)
    # The id comes back on the document's first `document_event` (or on an `error` refusing it).
    await sender.send(
        "file_upload_end", {"upload_id": item.upload_id}, id=item.upload_id, wait=True
    )
