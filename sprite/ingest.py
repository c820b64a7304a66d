"""Document ingest: receive uploads, store them safely, extract their text in the background.

Receiving (on the socket loop, but never holding a whole large file in memory):
- ``file_upload``: the whole file as base64 in one frame (small files);
- ``file_upload_start`` / ``_chunk`` / ``_end``: chunks are streamed to a temporary file in
  ``documents/``, in order (``seq`` from 0), then size and SHA-256 are checked; every chunk is
  acknowledged with ``upload_progress``.

A received file is checked (size, type) while still under its temporary name; only a good file
is renamed to ``documents/{id}_{safe name}`` and gets its row (status ``processing``). Bad input
gets an ``error`` frame and leaves nothing behind.

Extracting: one background worker takes documents in order, runs the text engine (CPU and
blocking work in threads or child processes), writes ``ocr/{id}.md`` atomically, records
``ocr_results`` and the per-page text, and moves the status to ``ocr_complete`` — or to
``failed`` with the reason. Every step is announced with a ``document_event``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sprite.ocr.kinds import SUPPORTED, DocumentKind, detect_kind
from sprite.storage import Storage, new_id
from sprite.workspace import BadFilename, PartialFile, Workspace, atomic_write, safe_filename
from stackdocs.config import SpriteSettings
from stackdocs.protocol import (
    FileUploadPayload,
    Frame,
    UploadChunkPayload,
    UploadEndPayload,
    UploadStartPayload,
    encode,
)

if TYPE_CHECKING:
    from sprite.clients import Client
    from sprite.ocr import ExtractedText, TextEngine

log = logging.getLogger("sprite.ingest")

# A document whose ingest was cut short this many times (the process died each time while
# reading it) is marked failed instead of being retried forever.
MAX_INGEST_ATTEMPTS = 2
MAX_OPEN_UPLOADS_PER_CLIENT = 8
_DOCUMENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# On SIGTERM, the document being read may finish for this long before it is cut short.
STOP_GRACE_SECONDS = 5.0

Emit = Callable[..., Awaitable[None]]


class UploadRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ChunkedUpload:
    upload_id: str
    filename: str
    original_filename: str
    mime_type: str
    size: int
    sha256: str
    partial: PartialFile
    hasher: Any = field(default_factory=hashlib.sha256)
    next_seq: int = 0

    @property
    def received(self) -> int:
        return self.partial.size


def _write_chunk(upload: ChunkedUpload, data: bytes) -> None:
    upload.partial.write(data)
    upload.hasher.update(data)


def _write_whole(directory: Any, data: bytes) -> tuple[PartialFile, str]:
    partial = PartialFile(directory)
    try:
        partial.write(data)
    except BaseException:
        partial.discard()
        raise
    return partial, hashlib.sha256(data).hexdigest()


def render_pages(extracted: ExtractedText) -> tuple[str, list[tuple[int, str, str, int]]]:
    """The cached text file: each page under a ``<!-- page N -->`` marker.

    Returns the file's text and ``(page, text, method, offset of the page text in the file)``.
    """
    parts: list[str] = []
    rows: list[tuple[int, str, str, int]] = []
    offset = 0
    for page in extracted.pages:
        marker = f"<!-- page {page.number} -->\n"
        parts.append(marker)
        offset += len(marker)
        rows.append((page.number, page.text, page.method, offset))
        parts.append(page.text + "\n\n")
        offset += len(page.text) + 2
    return "".join(parts), rows


class Ingest:
    def __init__(
        self, workspace: Workspace, storage: Storage, settings: SpriteSettings, emit: Emit
    ) -> None:
        self.workspace = workspace
        self.storage = storage
        self.settings = settings
        self.max_bytes = int(settings.max_upload_mb * 1024 * 1024)
        self._emit = emit
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._current: asyncio.Future[None] | None = None
        self._stopping = False
        self._engine: TextEngine | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Make the workspace consistent after a crash (run before serving)."""
        documents = await self.storage.list_documents()
        known = {doc["id"] for doc in documents}

        def ours_but_unknown(name: str, separator: str) -> bool:
            # Only names this code gives ("{uuid}_…", "{uuid}.md") are swept: files a user put
            # here from the shell are theirs, never deleted.
            doc_id = name.split(separator, 1)[0]
            return bool(_DOCUMENT_ID.fullmatch(doc_id)) and doc_id not in known

        def sweep() -> tuple[list[str], list[str]]:
            orphans, missing = [], []
            for entry in self.workspace.documents.iterdir():
                if entry.is_file() and ours_but_unknown(entry.name, "_"):
                    entry.unlink(missing_ok=True)  # renamed into place, row never written
                    orphans.append(entry.name)
            for doc in documents:
                if not (self.workspace.root / doc["file_path"]).is_file():
                    missing.append(doc["id"])
            for entry in self.workspace.ocr.iterdir():
                if entry.is_file() and entry.suffix == ".md" and ours_but_unknown(entry.name, "."):
                    entry.unlink(missing_ok=True)
            return orphans, missing

        orphans, missing = await asyncio.to_thread(sweep)
        if orphans:
            log.info("removed %d stored files that have no document row", len(orphans))
        for doc_id in missing:
            await self.storage.set_document_status(
                doc_id, "failed", "the stored file is missing from documents/"
            )
        for doc in documents:
            if doc["id"] in missing:
                continue
            if doc["status"] == "processing" and doc["ingest_attempts"] >= MAX_INGEST_ATTEMPTS:
                await self.storage.set_document_status(
                    doc["id"],
                    "failed",
                    f"reading this file was interrupted {doc['ingest_attempts']} times (the"
                    " Sprite stopped during ingest); upload it again to retry",
                )
            elif doc["status"] in ("ocr_complete", "completed"):
                await self._restore_text_file(doc["id"])

    async def _restore_text_file(self, document_id: str) -> None:
        """The cached text is also in the database: rewrite ``ocr/`` if the file went away."""
        result = await self.storage.get_ocr_result(document_id)
        if result is None:
            await self.storage.set_document_status(document_id, "processing")
            return
        path = self.workspace.root / result["text_path"]
        if not path.is_file():
            await asyncio.to_thread(atomic_write, path, result["raw_text"])

    def start(self) -> None:
        self._worker = asyncio.create_task(self._work(), name="ingest-worker")

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Stop the worker: the document in progress may finish within ``grace_seconds``;
        otherwise it is cut short, stays ``processing`` (its file and rows are written
        atomically, so nothing is half-done) and is re-queued on the next start without
        counting as a crashed attempt."""
        if self._worker is None:
            return
        self._stopping = True
        if self._current is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._current), grace_seconds)
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None

    async def client_gone(self, client: Client) -> None:
        uploads: dict[str, ChunkedUpload] = client.state.pop("uploads", {})
        for upload in uploads.values():
            await asyncio.to_thread(upload.partial.discard)

    # -- receiving ---------------------------------------------------------------------------

    def _refuse(self, client: Client, frame: Frame, exc: UploadRefused, upload_id: Any) -> None:
        payload = {"code": exc.code, "message": exc.message}
        if upload_id:
            payload["upload_id"] = upload_id
        client.send(encode("error", payload, id=frame.id))

    def _check_size(self, size: int) -> None:
        if size == 0:
            raise UploadRefused("empty_file", "the file is empty (0 bytes)")
        if size > self.max_bytes:
            raise UploadRefused(
                "too_large",
                f"the file is {size / 1048576:.1f} MB; the limit is"
                f" {self.settings.max_upload_mb:g} MB (STACKDOCS_MAX_UPLOAD_MB)",
            )

    @staticmethod
    def _safe_name(filename: str) -> str:
        try:
            return safe_filename(filename)
        except BadFilename as exc:
            raise UploadRefused("bad_filename", f"bad file name: {exc}") from None

    async def on_file_upload(self, client: Client, frame: Frame) -> None:
        p = cast(FileUploadPayload, frame.payload)
        try:
            name = self._safe_name(p.filename)
            data_b64: str = p.data
            self._check_size(len(data_b64) * 3 // 4 - data_b64[-2:].count("="))
            try:
                data = await asyncio.to_thread(base64.b64decode, data_b64, validate=True)
            except (binascii.Error, ValueError):
                raise UploadRefused("bad_base64", "data is not valid base64") from None
            self._check_size(len(data))
            partial, digest = await asyncio.to_thread(_write_whole, self.workspace.documents, data)
            del data
            await self._accept(
                partial,
                name,
                p.filename,
                p.mime_type,
                digest,
                frame.id,
            )
        except UploadRefused as exc:
            self._refuse(client, frame, exc, p.upload_id)

    async def on_upload_start(self, client: Client, frame: Frame) -> None:
        p = cast(UploadStartPayload, frame.payload)
        uploads: dict[str, ChunkedUpload] = client.state.setdefault("uploads", {})
        try:
            if p.upload_id in uploads:
                raise UploadRefused("duplicate_upload", "this upload_id is already open")
            if len(uploads) >= MAX_OPEN_UPLOADS_PER_CLIENT:
                raise UploadRefused(
                    "too_many_uploads",
                    f"at most {MAX_OPEN_UPLOADS_PER_CLIENT} uploads may be open at once",
                )
            name = self._safe_name(p.filename)
            self._check_size(p.size)
        except UploadRefused as exc:
            self._refuse(client, frame, exc, p.upload_id)
            return
        partial = await asyncio.to_thread(PartialFile, self.workspace.documents)
        uploads[p.upload_id] = ChunkedUpload(
            upload_id=p.upload_id,
            filename=name,
            original_filename=p.filename,
            mime_type=p.mime_type,
            size=p.size,
            sha256=p.sha256.lower(),
            partial=partial,
        )
        client.send(
            encode(
                "upload_progress",
                {"upload_id": p.upload_id, "received": 0, "size": p.size},
                id=frame.id,
            )
        )

    async def _abort(self, client: Client, upload_id: str) -> None:
        upload = client.state.get("uploads", {}).pop(upload_id, None)
        if upload is not None:
            await asyncio.to_thread(upload.partial.discard)

    async def on_upload_chunk(self, client: Client, frame: Frame) -> None:
        p = cast(UploadChunkPayload, frame.payload)
        upload_id: str = p.upload_id
        upload: ChunkedUpload | None = client.state.get("uploads", {}).get(upload_id)
        try:
            if upload is None:
                raise UploadRefused("unknown_upload", "no open upload with this upload_id")
            if p.seq != upload.next_seq:
                raise UploadRefused(
                    "chunk_out_of_order",
                    f"expected chunk {upload.next_seq}, got {p.seq}; the upload is"
                    " cancelled, start again",
                )
            try:
                data = base64.b64decode(p.data, validate=True)
            except (binascii.Error, ValueError):
                raise UploadRefused(
                    "bad_base64", "chunk data is not valid base64; the upload is cancelled"
                ) from None
            if upload.received + len(data) > upload.size:
                raise UploadRefused(
                    "size_mismatch",
                    f"more data than the announced {upload.size} bytes; the upload is cancelled",
                )
            await asyncio.to_thread(_write_chunk, upload, data)
            upload.next_seq += 1
        except UploadRefused as exc:
            if upload is not None:
                await self._abort(client, upload_id)
            self._refuse(client, frame, exc, upload_id)
            return
        client.send(
            encode(
                "upload_progress",
                {"upload_id": upload_id, "received": upload.received, "size": upload.size},
                id=frame.id,
            )
        )

    async def on_upload_end(self, client: Client, frame: Frame) -> None:
        upload_id = cast(UploadEndPayload, frame.payload).upload_id
        upload: ChunkedUpload | None = client.state.get("uploads", {}).pop(upload_id, None)
        try:
            if upload is None:
                raise UploadRefused("unknown_upload", "no open upload with this upload_id")
            if upload.received != upload.size:
                await asyncio.to_thread(upload.partial.discard)
                raise UploadRefused(
                    "size_mismatch",
                    f"received {upload.received} of the announced {upload.size} bytes",
                )
            if upload.hasher.hexdigest() != upload.sha256:
                await asyncio.to_thread(upload.partial.discard)
                raise UploadRefused(
                    "checksum_mismatch", "the SHA-256 of the received bytes does not match"
                )
            await self._accept(
                upload.partial,
                upload.filename,
                upload.original_filename,
                upload.mime_type,
                upload.sha256,
                frame.id,
            )
        except UploadRefused as exc:
            self._refuse(client, frame, exc, upload_id)

    async def _accept(
        self,
        partial: PartialFile,
        name: str,
        original: str,
        mime_type: str,
        sha256: str,
        request_id: str | None,
    ) -> None:
        """Check the received file, then move it into place, insert its row, queue it."""
        try:
            await asyncio.to_thread(partial.flush)
            detected = await asyncio.to_thread(detect_kind, partial.path, name, mime_type)
        except BaseException:
            await asyncio.to_thread(partial.discard)
            raise
        if detected is None:
            await asyncio.to_thread(partial.discard)
            raise UploadRefused(
                "unsupported_type",
                f"'{name}' is not a supported document type (supported: {SUPPORTED})",
            )
        _kind, canonical_mime = detected
        document_id = new_id()
        final = self.workspace.document_path(document_id, name)
        size = partial.size
        try:
            await asyncio.to_thread(partial.commit, final)
        except BaseException:
            await asyncio.to_thread(partial.discard)
            raise
        await self.storage.insert_document(
            document_id=document_id,
            filename=name,
            original_filename=original[:1024],
            file_path=self.workspace.relative(final),
            size_bytes=size,
            mime_type=canonical_mime,
            sha256=sha256,
        )
        await self._emit(
            "document_event",
            {"document_id": document_id, "filename": name, "status": "processing"},
            id=request_id,
        )
        self._queue.put_nowait(document_id)

    # -- extracting --------------------------------------------------------------------------

    def engine(self) -> TextEngine:
        if self._engine is None:
            from sprite.ocr import create_engine

            self._engine = create_engine(self.settings)
        return self._engine

    async def _work(self) -> None:
        for doc in await self.storage.documents_with_status("processing"):
            self._queue.put_nowait(doc["id"])
        while not self._stopping:
            document_id = await self._queue.get()
            self._current = asyncio.ensure_future(self.ingest_document(document_id))
            try:
                await asyncio.shield(self._current)
            except asyncio.CancelledError:
                if not self._current.done():
                    self._current.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await self._current
                    # A graceful stop is not a crash: this attempt does not count.
                    with contextlib.suppress(Exception):
                        await self.storage.forget_ingest_attempt(document_id)
                raise
            except Exception:
                log.exception("ingest of %s failed unexpectedly", document_id)
            finally:
                self._current = None

    async def ingest_document(self, document_id: str) -> None:
        doc = await self.storage.get_document(document_id)
        if doc is None or doc["status"] != "processing":
            return
        await self.storage.begin_ingest_attempt(document_id)
        path = self.workspace.root / doc["file_path"]
        started = time.perf_counter()
        try:
            detected = await asyncio.to_thread(detect_kind, path, doc["filename"], doc["mime_type"])
            if detected is None:
                raise _failure("the file is not a supported document type")
            extracted = await self.engine().extract(path, detected[0])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            from sprite.ocr import UnreadableDocument

            if isinstance(exc, UnreadableDocument):
                reason = str(exc)
            else:
                log.exception("text extraction of %s failed", document_id)
                reason = f"text extraction failed ({type(exc).__name__}: {exc})"
            await self._fail(doc, reason)
            return
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        text, pages = render_pages(extracted)
        text_path = self.workspace.ocr_path(document_id)
        await asyncio.to_thread(atomic_write, text_path, text)
        layout = {
            "pages": [{"page": p.number, "method": p.method, **p.meta} for p in extracted.pages]
        }
        await self.storage.save_ocr_result(
            document_id=document_id,
            pages=pages,
            raw_text=text,
            text_path=self.workspace.relative(text_path),
            page_count=len(extracted.pages),
            layout=layout,
            processing_time_ms=elapsed_ms,
            usage={**extracted.usage, "doc_size_bytes": doc["file_size_bytes"]},
            model=extracted.model,
            engine=extracted.engine,
        )
        await self._emit(
            "document_event",
            {"document_id": document_id, "filename": doc["filename"], "status": "ocr_complete"},
        )

    async def _fail(self, doc: dict[str, Any], reason: str) -> None:
        await self.storage.set_document_status(doc["id"], "failed", reason)
        await self._emit(
            "document_event",
            {
                "document_id": doc["id"],
                "filename": doc["filename"],
                "status": "failed",
                "error": reason,
            },
        )


def _failure(reason: str) -> Exception:
    from sprite.ocr import UnreadableDocument

    return UnreadableDocument(reason)


__all__ = ["DocumentKind", "Ingest", "UploadRefused", "render_pages"]
