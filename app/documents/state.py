"""The documents panel: the workspace's documents with live status, and uploads in flight."""

from __future__ import annotations

import contextlib
import time
from typing import Any, TypedDict

import reflex as rx

from app import link
from app.documents import transfer

UPLOAD_ID = "sd-documents"
PROGRESS_EVERY_SECONDS = 0.15


class DocumentRow(TypedDict):
    id: str
    filename: str
    status: str  # processing | ocr_complete | completed | failed
    error: str
    detail: str  # "3 pages · 1.2 MB"
    icon: str


class UploadRow(TypedDict):
    id: str
    filename: str
    size: int
    percent: int
    stage: str  # receiving | sending | stored | failed
    error: str


def _size(n: Any) -> str:
    if not isinstance(n, int | float) or n <= 0:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _icon(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in ("png", "jpg", "jpeg", "tif", "tiff", "webp", "gif", "bmp"):
        return "file-image"
    if ext in ("xlsx", "xls", "csv"):
        return "file-spreadsheet"
    if ext in ("docx", "doc", "txt", "md", "rtf"):
        return "file-type"
    return "file-text"


def document_row(doc: dict[str, Any]) -> DocumentRow:
    pages = doc.get("page_count")
    detail = " · ".join(
        part
        for part in (
            f"{pages} page{'s' if pages != 1 else ''}" if isinstance(pages, int) and pages else "",
            _size(doc.get("size_bytes")),
        )
        if part
    )
    filename = str(doc.get("filename") or "document")
    return {
        "id": str(doc.get("id") or doc.get("document_id") or ""),
        "filename": filename,
        "status": str(doc.get("status") or "processing"),
        "error": str(doc.get("error") or ""),
        "detail": detail,
        "icon": _icon(filename),
    }


class DocumentsState(rx.State):
    documents: list[DocumentRow] = []  # newest first
    uploads: list[UploadRow] = []
    receiving: bool = False  # the browser is sending files to the app
    receive_percent: int = 0
    problem: str = ""

    _raw: dict[str, dict[str, Any]] = {}  # id -> the Sprite's row (merged with events)

    @rx.var
    def ready_documents(self) -> list[DocumentRow]:
        """Documents whose text can be used (for stacks)."""
        return [d for d in self.documents if d["status"] in ("ocr_complete", "completed")]

    @rx.var
    def processing_count(self) -> int:
        return sum(1 for d in self.documents if d["status"] == "processing")

    # ------------------------------------------------------------------ from the Sprite

    def _replace(self, documents: list[dict[str, Any]]) -> None:
        self._raw = {str(d.get("id")): dict(d) for d in documents if d.get("id")}
        self._redraw()

    def _apply_events(
        self, events: list[dict[str, Any]], frame_ids: list[str | None] | None = None
    ) -> list[str]:
        """``document_event`` payloads (with their frames' ids: an upload's first event carries
        the upload id); returns the ids whose text may have changed."""
        raw = dict(self._raw)
        changed = []
        uploads = {u["id"]: u for u in self.uploads}
        finished: set[str] = set()
        for event, frame_id in zip(events, frame_ids or [None] * len(events), strict=True):
            document_id = str(event.get("document_id") or "")
            if not document_id:
                continue
            row = dict(raw.pop(document_id, {"id": document_id}))
            if frame_id in uploads:
                row.setdefault("size_bytes", uploads[frame_id]["size"])
                finished.add(frame_id)
            row.update({k: v for k, v in event.items() if k != "document_id" and v is not None})
            if event.get("status") != "failed":
                row["error"] = event.get("error")
            raw[document_id] = row
            changed.append(document_id)
        self._raw = raw
        self._redraw()
        # An upload whose document appeared is done: its row gives way to the document.
        names = {str(e.get("filename")) for e in events}
        self.uploads = [
            u
            for u in self.uploads
            if u["id"] not in finished and not (u["stage"] == "stored" and u["filename"] in names)
        ]
        return changed

    def _upload_refused(self, upload_id: str, message: str) -> bool:
        """An ``error`` about one of our uploads: show it on that upload's row."""
        if not any(u["id"] == upload_id for u in self.uploads):
            return False
        self.uploads = [
            {**u, "stage": "failed", "error": message} if u["id"] == upload_id else u
            for u in self.uploads
        ]
        return True

    def _redraw(self) -> None:
        self.documents = [document_row(d) for d in reversed(self._raw.values())]

    def _upload_progress(self, payloads: list[dict[str, Any]]) -> None:
        latest = {str(p.get("upload_id")): p for p in payloads}
        rows = []
        for row in self.uploads:
            progress = latest.get(row["id"])
            if progress and row["stage"] == "sending":
                size = progress.get("size") or 0
                received = int(progress.get("received") or 0)
                if size:
                    row = {**row, "percent": min(100, int(received * 100 / size))}
            rows.append(row)
        self.uploads = rows

    def _clear(self) -> None:
        self._raw = {}
        self.documents, self.uploads = [], []
        self.problem = ""

    # ------------------------------------------------------------------ uploads

    @rx.event
    def receive_progress(self, progress: dict[str, Any]) -> None:
        """Browser → app progress of the upload request (all chosen files together)."""
        self.receiving = True
        self.receive_percent = int(float(progress.get("progress") or 0) * 100)

    @rx.event
    def rejected(self, reasons: list[str]) -> None:
        """Files the browser refused before sending (type or size): "name: why" each."""
        shown = "; ".join(str(r) for r in reasons[:3])
        more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
        self.problem = f"Not uploaded: {shown}{more}. Upload PDF, images, DOCX or text."

    @rx.event(background=True)
    async def upload(self, chunks: rx.UploadChunkIterator):
        """Spool the chosen files, then stream each to the Sprite in chunks."""
        token = self.router.session.client_token
        # react-dropzone also calls this when every chosen file was refused (none to send):
        # then nothing here may clear the refusal message.
        async with self:
            self.receiving = True
            self.receive_percent = 0
        max_bytes = _max_upload_bytes()

        async def announce(item: transfer.Spooled) -> None:
            async with self:
                if not self.uploads:
                    self.problem = ""
                self.uploads = [*self.uploads, _upload_row(item, "receiving")]

        try:
            files = await transfer.spool(chunks, max_bytes=max_bytes, on_file=announce)
        except transfer.TooLarge as exc:
            async with self:
                self.receiving = False
                self.problem = str(exc)
                self.uploads = [u for u in self.uploads if u["stage"] != "receiving"]
            return
        # The size is known once the file is spooled (announce() saw only its first chunk).
        sizes = {item.upload_id: item.size for item in files}
        async with self:
            self.receiving = False
            self.uploads = [
                {**u, "stage": "sending", "size": sizes.get(u["id"], u["size"])}
                if u["stage"] == "receiving"
                else u
                for u in self.uploads
            ]
        for item in files:
            try:
                await self._send(token, item)
            finally:
                item.remove()

    async def _send(self, token: str, item: transfer.Spooled) -> None:
        sprite = link.get(token)
        if sprite is None:
            await self._mark(item.upload_id, "failed", error="Not connected to your workspace.")
            return
        last = 0.0

        async def progress(sent: int) -> None:
            nonlocal last
            if time.monotonic() - last < PROGRESS_EVERY_SECONDS:
                return
            last = time.monotonic()
            confirmed = sprite.upload_received(item.upload_id)
            done = confirmed if confirmed is not None else sent
            await self._mark(item.upload_id, "sending", percent=_percent(done, item.size))

        try:
            await transfer.send_file(sprite, item, progress)
        except ConnectionError as exc:
            await self._mark(item.upload_id, "failed", error=f"Upload interrupted: {exc}")
            return
        finally:
            sprite.forget_upload(item.upload_id)
        await self._mark(item.upload_id, "stored", percent=100)

    async def _mark(
        self, upload_id: str, stage: str, percent: int | None = None, error: str = ""
    ) -> None:
        async with self:
            self.uploads = [
                {
                    **u,
                    "stage": stage,
                    "error": error,
                    "percent": u["percent"] if percent is None else percent,
                }
                if u["id"] == upload_id
                else u
                for u in self.uploads
            ]

    @rx.event
    def dismiss_problem(self) -> None:
        self.problem = ""

    @rx.event
    def dismiss_upload(self, upload_id: str) -> None:
        self.uploads = [u for u in self.uploads if u["id"] != upload_id]


def _upload_row(item: transfer.Spooled, stage: str) -> UploadRow:
    return {
        "id": item.upload_id,
        "filename": item.filename,
        "size": item.size,
        "percent": 0,
        "stage": stage,
        "error": "",
    }


def _percent(done: int, size: int) -> int:
    return 100 if size <= 0 else min(100, int(done * 100 / size))


def _max_upload_bytes() -> int:
    with contextlib.suppress(RuntimeError):
        from bridge.hub import current_bridge

        return int(current_bridge().settings.max_upload_mb * 1024 * 1024)
    return 100 * 1024 * 1024
