"""``agent.db`` through one aiosqlite connection: the Sprite's source of truth.

All writes go through :meth:`Storage.transaction`, which serialises them with an asyncio lock
(one connection is shared by every task, so two interleaved transactions would otherwise merge)
and wraps them in ``BEGIN IMMEDIATE … COMMIT``. Reads need no lock. Rows come back as plain
dicts with JSON columns decoded.

Files and rows: callers write a file (atomically, see ``sprite.workspace``) *before* inserting
the row that points at it, and remove a row before its file, so a row never points at a
missing file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from sprite.storage.migrations import MIGRATIONS, latest_version

MISSION_STATUSES = ("running", "completed", "failed", "cancelled", "interrupted")
FINAL_MISSION_STATUSES = ("completed", "failed", "cancelled", "interrupted")
STATE_EVENTS_PER_MISSION = 200
STATE_MISSIONS = 200
# Artifacts whose JSON data is larger than this are sent in `state` without data
# (truncated: true); clients fetch them whole with artifact_request.
STATE_ARTIFACT_DATA_BYTES = 256 * 1024


class StorageError(RuntimeError):
    """The database cannot be used (e.g. it was written by a newer version)."""


def utc_now() -> str:
    """The timestamp format of every row: ISO-8601 UTC with milliseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_id() -> str:
    return str(uuid.uuid4())


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _unjson(value: str | None) -> Any:
    return None if value is None else json.loads(value)


class Storage:
    """The Sprite's database. Open with :meth:`open`, close with :meth:`close`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path) -> Storage:
        """Open (creating if needed) and migrate the database at ``path``.

        Sets WAL journaling, ``synchronous=NORMAL`` (durable across process crashes; only an OS
        crash can lose the last transactions, never corrupt), foreign keys and a busy timeout.
        """
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            storage = cls(conn, path)
            await storage._migrate()
        except BaseException:
            await conn.close()
            raise
        return storage

    async def close(self) -> None:
        async with self._write_lock:
            await self._conn.close()

    async def schema_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0])

    async def _migrate(self) -> None:
        current = await self.schema_version()
        if current > latest_version():
            raise StorageError(
                f"{self.path} has schema version {current}, newer than this code "
                f"({latest_version()}): upgrade stackdocs"
            )
        for version, sql in MIGRATIONS:
            if version <= current:
                continue
            try:
                await self._conn.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\n;PRAGMA user_version = {int(version)};\nCOMMIT;"
                )
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise

    # -- primitives --------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Serialised write transaction: ``async with storage.transaction() as db: ...``."""
        async with self._write_lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
            except BaseException:
                # Also when cancelled while BEGIN was queued: statements run in order on the
                # connection's thread, so this ROLLBACK always comes after that BEGIN.
                await asyncio.shield(self._rollback())
                raise
            await self._conn.execute("COMMIT")

    async def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.OperationalError):  # "no transaction is active"
            await self._conn.execute("ROLLBACK")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement in its own transaction; returns the number of changed rows."""
        async with self.transaction() as db:
            cur = await db.execute(sql, params)
            return cur.rowcount

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        async with self._conn.execute(sql, params) as cur:
            rows = await cur.fetchall()
        return [dict(row) for row in rows]

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        async with self._conn.execute(sql, params) as cur:
            row = await cur.fetchone()
        return None if row is None else dict(row)

    # -- documents ---------------------------------------------------------------------------

    async def insert_document(
        self,
        *,
        document_id: str,
        filename: str,
        original_filename: str,
        file_path: str,
        size_bytes: int,
        mime_type: str,
        sha256: str,
    ) -> dict[str, Any]:
        """Insert a document in status ``processing``; its file must already be in place."""
        now = utc_now()
        await self.execute(
            "INSERT INTO documents (id, filename, original_filename, file_path, file_size_bytes,"
            " mime_type, sha256, status, uploaded_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'processing', ?, ?)",
            (
                document_id,
                filename,
                original_filename,
                file_path,
                size_bytes,
                mime_type,
                sha256,
                now,
                now,
            ),
        )
        document = await self.get_document(document_id)
        assert document is not None
        return document

    async def get_document(self, document_id: str) -> dict[str, Any] | None:
        row = await self.fetchone(
            "SELECT d.*, o.page_count, o.ocr_engine AS engine, o.model AS ocr_model,"
            " o.processing_time_ms, o.text_path FROM documents d"
            " LEFT JOIN ocr_results o ON o.document_id = d.id WHERE d.id = ?",
            (document_id,),
        )
        return None if row is None else _decode_document(row)

    async def list_documents(self) -> list[dict[str, Any]]:
        rows = await self.fetchall(
            "SELECT d.*, o.page_count, o.ocr_engine AS engine, o.model AS ocr_model,"
            " o.processing_time_ms, o.text_path FROM documents d"
            " LEFT JOIN ocr_results o ON o.document_id = d.id ORDER BY d.uploaded_at, d.rowid"
        )
        return [_decode_document(row) for row in rows]

    async def documents_with_status(self, status: str) -> list[dict[str, Any]]:
        rows = await self.fetchall(
            "SELECT * FROM documents WHERE status = ? ORDER BY uploaded_at, rowid", (status,)
        )
        return [_decode_document(row) for row in rows]

    async def begin_ingest_attempt(self, document_id: str) -> int:
        """Count an ingest attempt (before the work, so a crash mid-ingest is remembered)."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE documents SET ingest_attempts = ingest_attempts + 1, updated_at = ?,"
                " status = 'processing', error = NULL WHERE id = ?",
                (utc_now(), document_id),
            )
            cur = await db.execute(
                "SELECT ingest_attempts FROM documents WHERE id = ?", (document_id,)
            )
            row = await cur.fetchone()
        return 0 if row is None else int(row[0])

    async def forget_ingest_attempt(self, document_id: str) -> None:
        """Un-count an attempt that a graceful stop (not a crash) cut short."""
        await self.execute(
            "UPDATE documents SET ingest_attempts = MAX(ingest_attempts - 1, 0) WHERE id = ?",
            (document_id,),
        )

    async def set_document_status(
        self, document_id: str, status: str, error: str | None = None
    ) -> None:
        await self.execute(
            "UPDATE documents SET status = ?, error = ?, updated_at = ? WHERE id = ?",
            (status, error, utc_now(), document_id),
        )

    async def save_ocr_result(
        self,
        *,
        document_id: str,
        pages: Iterable[tuple[int, str, str, int]],
        raw_text: str,
        text_path: str,
        page_count: int,
        layout: Any,
        processing_time_ms: int,
        usage: dict[str, Any],
        model: str,
        engine: str,
    ) -> None:
        """Record the extracted text (its file already written) and move to ``ocr_complete``.

        ``pages`` are ``(page_number, text, method, raw_offset)``. Replaces an earlier result,
        all in one transaction.
        """
        now = utc_now()
        async with self.transaction() as db:
            await db.execute("DELETE FROM ocr_pages WHERE document_id = ?", (document_id,))
            await db.execute("DELETE FROM ocr_results WHERE document_id = ?", (document_id,))
            await db.executemany(
                "INSERT INTO ocr_pages (document_id, page_number, text, method, raw_offset)"
                " VALUES (?, ?, ?, ?, ?)",
                [(document_id, n, text, method, off) for n, text, method, off in pages],
            )
            await db.execute(
                "INSERT INTO ocr_results (id, document_id, raw_text, text_path, page_count,"
                " layout_data, processing_time_ms, usage_info, model, ocr_engine, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_id(),
                    document_id,
                    raw_text,
                    text_path,
                    page_count,
                    _json(layout),
                    processing_time_ms,
                    _json(usage) or "{}",
                    model,
                    engine,
                    now,
                ),
            )
            await db.execute(
                "UPDATE documents SET status = 'ocr_complete', error = NULL, updated_at = ?"
                " WHERE id = ?",
                (now, document_id),
            )

    async def get_ocr_result(self, document_id: str) -> dict[str, Any] | None:
        row = await self.fetchone("SELECT * FROM ocr_results WHERE document_id = ?", (document_id,))
        if row is not None:
            row["layout_data"] = _unjson(row["layout_data"])
            row["usage_info"] = _unjson(row["usage_info"])
        return row

    async def get_pages(self, document_id: str) -> list[dict[str, Any]]:
        """``[{page, text, method}]`` in page order (page numbers start at 1)."""
        return await self.fetchall(
            "SELECT page_number AS page, text, method FROM ocr_pages WHERE document_id = ?"
            " ORDER BY page_number",
            (document_id,),
        )

    async def delete_document(self, document_id: str) -> None:
        """Remove the row (and, by cascade, its text, extractions and stack links)."""
        await self.execute("DELETE FROM documents WHERE id = ?", (document_id,))

    # -- extractions -------------------------------------------------------------------------

    async def save_extraction(
        self,
        *,
        document_id: str,
        fields: Any,
        model: str,
        confidence_scores: Any = None,
        mode: str = "auto",
        custom_fields: list[str] | None = None,
        processing_time_ms: int = 0,
        session_id: str | None = None,
        is_correction: bool = False,
        status: str = "completed",
    ) -> str:
        extraction_id = new_id()
        now = utc_now()
        await self.execute(
            "INSERT INTO extractions (id, document_id, extracted_fields, confidence_scores, mode,"
            " custom_fields, model, processing_time_ms, session_id, is_correction, status,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                extraction_id,
                document_id,
                _json(fields),
                _json(confidence_scores),
                mode,
                _json(custom_fields),
                model,
                processing_time_ms,
                session_id,
                int(is_correction),
                status,
                now,
                now,
            ),
        )
        return extraction_id

    async def latest_extraction(self, document_id: str) -> dict[str, Any] | None:
        row = await self.fetchone(
            "SELECT * FROM extractions WHERE document_id = ? ORDER BY created_at DESC, rowid DESC"
            " LIMIT 1",
            (document_id,),
        )
        if row is not None:
            for key in ("extracted_fields", "confidence_scores", "custom_fields"):
                row[key] = _unjson(row[key])
            row["is_correction"] = bool(row["is_correction"])
        return row

    # -- stacks ------------------------------------------------------------------------------

    async def create_stack(
        self, name: str, document_ids: Sequence[str], description: str | None = None
    ) -> dict[str, Any]:
        """Create a stack of existing documents; raises ``LookupError`` naming unknown ids."""
        unique_ids = list(dict.fromkeys(document_ids))
        stack_id = new_id()
        now = utc_now()
        async with self.transaction() as db:
            if unique_ids:
                marks = ",".join("?" * len(unique_ids))
                cur = await db.execute(
                    f"SELECT id FROM documents WHERE id IN ({marks})", unique_ids
                )
                found = {row[0] for row in await cur.fetchall()}
                missing = [d for d in unique_ids if d not in found]
                if missing:
                    raise LookupError(f"unknown document ids: {', '.join(missing[:5])}")
            await db.execute(
                "INSERT INTO stacks (id, name, description, status, created_at, updated_at)"
                " VALUES (?, ?, ?, 'active', ?, ?)",
                (stack_id, name, description, now, now),
            )
            await db.executemany(
                "INSERT INTO stack_documents (id, stack_id, document_id, added_at)"
                " VALUES (?, ?, ?, ?)",
                [(new_id(), stack_id, doc_id, now) for doc_id in unique_ids],
            )
        stack = await self.get_stack(stack_id)
        assert stack is not None
        return stack

    async def get_stack(self, stack_id: str) -> dict[str, Any] | None:
        stacks = await self._stacks("WHERE s.id = ?", (stack_id,))
        return stacks[0] if stacks else None

    async def list_stacks(self) -> list[dict[str, Any]]:
        return await self._stacks("", ())

    async def _stacks(self, where: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        stacks = await self.fetchall(
            "SELECT s.id, s.name, s.description, s.status, s.created_at, s.updated_at"
            f" FROM stacks s {where} ORDER BY s.created_at, s.rowid",
            params,
        )
        for stack in stacks:
            links = await self.fetchall(
                "SELECT document_id FROM stack_documents WHERE stack_id = ?"
                " ORDER BY added_at, rowid",
                (stack["id"],),
            )
            stack["document_ids"] = [link["document_id"] for link in links]
            tables = await self.fetchall(
                "SELECT t.id, t.name, t.mode, t.columns, t.status,"
                " (SELECT COUNT(*) FROM stack_table_rows r WHERE r.table_id = t.id) AS row_count"
                " FROM stack_tables t WHERE t.stack_id = ? ORDER BY t.created_at, t.rowid",
                (stack["id"],),
            )
            for table in tables:
                table["columns"] = _unjson(table["columns"]) or []
            stack["tables"] = tables
        return stacks

    # -- missions ----------------------------------------------------------------------------

    async def create_mission(
        self, mission_id: str, text: str, kind: str, parent_id: str | None = None
    ) -> dict[str, Any]:
        """Start a mission (status ``running``). A follow-up names its ``parent_id``; it joins
        the parent's thread."""
        thread_id = mission_id
        if parent_id is not None:
            parent = await self.get_mission(parent_id)
            if parent is None:
                raise LookupError(f"unknown mission {parent_id}")
            thread_id = parent["thread_id"]
        await self.execute(
            "INSERT INTO missions (id, text, kind, status, parent_id, thread_id, created_at)"
            " VALUES (?, ?, ?, 'running', ?, ?, ?)",
            (mission_id, text, kind, parent_id, thread_id, utc_now()),
        )
        mission = await self.get_mission(mission_id)
        assert mission is not None
        return mission

    async def get_mission(self, mission_id: str) -> dict[str, Any] | None:
        return await self.fetchone("SELECT * FROM missions WHERE id = ?", (mission_id,))

    async def finish_mission(self, mission_id: str, status: str, error: str | None = None) -> None:
        """Move a running mission to a final status (a no-op if it already has one)."""
        if status not in FINAL_MISSION_STATUSES:
            raise ValueError(f"not a final mission status: {status}")
        await self.execute(
            "UPDATE missions SET status = ?, error = ?, finished_at = ?"
            " WHERE id = ? AND status = 'running'",
            (status, error, utc_now(), mission_id),
        )

    async def interrupt_running_missions(self, reason: str) -> list[str]:
        """Mark every ``running`` mission ``interrupted`` (start-up and shutdown)."""
        async with self.transaction() as db:
            cur = await db.execute("SELECT id FROM missions WHERE status = 'running'")
            ids = [row[0] for row in await cur.fetchall()]
            await db.execute(
                "UPDATE missions SET status = 'interrupted', error = ?, finished_at = ?"
                " WHERE status = 'running'",
                (reason, utc_now()),
            )
        return ids

    async def set_mission_session(self, mission_id: str, session_id: str) -> None:
        """Remember the agent SDK session of a mission, for follow-ups in its thread."""
        await self.execute(
            "UPDATE missions SET session_id = ? WHERE id = ?", (session_id, mission_id)
        )

    async def thread_session_id(self, thread_id: str) -> str | None:
        """The most recent SDK session recorded in a thread, if any."""
        row = await self.fetchone(
            "SELECT session_id FROM missions WHERE thread_id = ? AND session_id IS NOT NULL"
            " ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (thread_id,),
        )
        return None if row is None else row["session_id"]

    async def add_mission_event(self, mission_id: str, payload: dict[str, Any]) -> None:
        """Append an ``agent_event`` payload to its mission's history."""
        await self.execute(
            "INSERT INTO mission_events (mission_id, event_type, payload, created_at)"
            " VALUES (?, ?, ?, ?)",
            (mission_id, payload.get("event_type", ""), _json(payload), utc_now()),
        )

    async def mission_events(
        self, mission_id: str, limit: int = STATE_EVENTS_PER_MISSION
    ) -> list[dict[str, Any]]:
        """The last ``limit`` agent_event payloads of a mission, oldest first."""
        rows = await self.fetchall(
            "SELECT payload FROM (SELECT id, payload FROM mission_events WHERE mission_id = ?"
            " ORDER BY id DESC LIMIT ?) ORDER BY id",
            (mission_id, limit),
        )
        return [json.loads(row["payload"]) for row in rows]

    async def list_missions(self, limit: int = STATE_MISSIONS) -> list[dict[str, Any]]:
        """The last ``limit`` missions, oldest first, each with its last events."""
        missions = await self.fetchall(
            "SELECT * FROM (SELECT rowid AS r, id, text, kind, status, error, parent_id,"
            " thread_id, created_at, finished_at FROM missions ORDER BY created_at DESC,"
            " rowid DESC LIMIT ?) ORDER BY created_at, r",
            (limit,),
        )
        for mission in missions:
            del mission["r"]
            mission["events"] = await self.mission_events(mission["id"])
        return missions

    # -- artifacts ---------------------------------------------------------------------------

    async def upsert_artifact(
        self,
        *,
        artifact_id: str,
        artifact_type: str,
        title: str,
        mission_id: str | None,
        data: Any,
        file_path: str | None = None,
    ) -> None:
        """Insert or replace an artifact's content (keeps its ``created_at``)."""
        now = utc_now()
        encoded = _json(data)
        async with self.transaction() as db:
            if mission_id is not None:
                cur = await db.execute("SELECT 1 FROM missions WHERE id = ?", (mission_id,))
                if await cur.fetchone() is None:
                    mission_id = None  # an artifact may outlive or precede its mission
            await db.execute(
                "INSERT INTO artifacts (artifact_id, artifact_type, title, mission_id, data,"
                " data_bytes, file_path, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(artifact_id) DO UPDATE SET artifact_type = excluded.artifact_type,"
                " title = excluded.title, mission_id = COALESCE(excluded.mission_id,"
                " artifacts.mission_id), data = excluded.data, data_bytes = excluded.data_bytes,"
                " file_path = COALESCE(excluded.file_path, artifacts.file_path),"
                " updated_at = excluded.updated_at",
                (
                    artifact_id,
                    artifact_type,
                    title,
                    mission_id,
                    encoded,
                    len(encoded or ""),
                    file_path,
                    now,
                    now,
                ),
            )

    async def get_artifact(self, artifact_id: str) -> dict[str, Any] | None:
        row = await self.fetchone("SELECT * FROM artifacts WHERE artifact_id = ?", (artifact_id,))
        if row is not None:
            row["data"] = _unjson(row["data"])
        return row

    async def list_artifacts(self) -> list[dict[str, Any]]:
        """Every artifact, oldest first; large ``data`` is left out (``truncated: true``)."""
        rows = await self.fetchall(
            "SELECT artifact_id, artifact_type, title, mission_id, created_at, updated_at,"
            " data_bytes, CASE WHEN data_bytes <= ? THEN data END AS data"
            " FROM artifacts ORDER BY created_at, rowid",
            (STATE_ARTIFACT_DATA_BYTES,),
        )
        for row in rows:
            row["truncated"] = row.pop("data_bytes") > STATE_ARTIFACT_DATA_BYTES
            row["data"] = _unjson(row["data"])
        return rows

    # -- the whole picture -------------------------------------------------------------------

    async def state(self) -> dict[str, Any]:
        """The ``state`` payload: everything the UI needs to redraw itself."""
        documents = [
            {
                key: doc.get(key)
                for key in (
                    "id",
                    "filename",
                    "mime_type",
                    "size_bytes",
                    "status",
                    "error",
                    "page_count",
                    "engine",
                    "created_at",
                )
            }
            for doc in await self.list_documents()
        ]
        return {
            "documents": documents,
            "stacks": await self.list_stacks(),
            "missions": await self.list_missions(),
            "artifacts": await self.list_artifacts(),
        }


def _decode_document(row: dict[str, Any]) -> dict[str, Any]:
    row["tags"] = _unjson(row.get("tags")) or []
    row["size_bytes"] = row.get("file_size_bytes")
    row["created_at"] = row.get("uploaded_at")
    return row
