"""The agents' reads and writes of ``agent.db``, on the Sprite's one connection.

Built on :class:`sprite.storage.Storage` (its ``transaction`` / ``fetchall`` / ``fetchone``),
for the tables the agents own (migration 2: ``extraction_fields``, ``extraction_field_history``,
``stack_table_cells``) and for the seed tables they keep in step (``extractions``,
``stack_table_rows``, document details).

:func:`commit_draft` writes a mission's whole :class:`~sprite.agents.drafts.Draft` in one
transaction: every field change becomes a history row, each touched document gets a new
``extractions`` snapshot (``is_correction`` when it had one before), and each touched stack row
is rebuilt from its cells.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sprite.agents.drafts import CitedValue, Draft
from sprite.storage import new_id, utc_now

if TYPE_CHECKING:
    import aiosqlite

    from sprite.storage import Storage


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _source_columns(value: CitedValue) -> tuple[Any, ...]:
    source = value.source or {}
    return (
        source.get("document_id"),
        source.get("page"),
        source.get("start"),
        source.get("end"),
        source.get("text"),
    )


def _cited_from_row(row: dict[str, Any]) -> CitedValue:
    source = None
    if row.get("source_page") is not None:
        source = {
            "document_id": row["source_document_id"],
            "page": row["source_page"],
            "start": row["source_start"],
            "end": row["source_end"],
            "text": row["source_text"],
        }
    return CitedValue(
        value=_load(row["value"]),
        confidence=row["confidence"],
        source=source,
        flagged=bool(row["flagged"]),
        flag_reason=row["flag_reason"],
    )


# ----------------------------------------------------------------------------- documents


async def list_documents(storage: Storage) -> list[dict[str, Any]]:
    return await storage.list_documents()


async def get_document(storage: Storage, document_id: str) -> dict[str, Any] | None:
    return await storage.get_document(document_id)


async def get_pages(storage: Storage, document_id: str) -> list[dict[str, Any]]:
    """``[{page, text, method}]``, pages numbered from 1."""
    return await storage.get_pages(document_id)


# ----------------------------------------------------------------------------- extractions


async def committed_fields(storage: Storage, document_id: str) -> dict[str, CitedValue]:
    rows = await storage.fetchall(
        "SELECT * FROM extraction_fields WHERE document_id = ? ORDER BY created_at, rowid",
        (document_id,),
    )
    return {row["name"]: _cited_from_row(row) for row in rows}


async def field_history(
    storage: Storage, document_id: str, name: str | None = None
) -> list[dict[str, Any]]:
    """Every change of the document's fields (or of one field), oldest first."""
    where, params = "document_id = ?", [document_id]
    if name is not None:
        where += " AND name = ?"
        params.append(name)
    rows = await storage.fetchall(
        f"SELECT * FROM extraction_field_history WHERE {where} ORDER BY id", params
    )
    for row in rows:
        row["before"] = _load(row["before"])
        row["after"] = _load(row["after"])
    return rows


def field_payload(name: str, value: CitedValue, updated_at: str | None = None) -> dict[str, Any]:
    """One field as the ``extraction`` frame carries it."""
    payload = {"name": name, **value.as_dict()}
    if updated_at is not None:
        payload["updated_at"] = updated_at
    return payload


async def extraction_payload(storage: Storage, document_id: str) -> dict[str, Any]:
    """The ``extraction`` frame for a document: its current fields with their citations."""
    rows = await storage.fetchall(
        "SELECT f.*, (SELECT COUNT(*) FROM extraction_field_history h WHERE"
        " h.document_id = f.document_id AND h.name = f.name) AS changes"
        " FROM extraction_fields f WHERE f.document_id = ? ORDER BY f.created_at, f.rowid",
        (document_id,),
    )
    latest = await storage.fetchone(
        "SELECT id, session_id, updated_at FROM extractions WHERE document_id = ?"
        " ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (document_id,),
    )
    fields = []
    for row in rows:
        entry = field_payload(row["name"], _cited_from_row(row), row["updated_at"])
        entry["corrections"] = max(0, int(row["changes"]) - 1)
        fields.append(entry)
    return {
        "document_id": document_id,
        "fields": fields,
        "extraction_id": latest["id"] if latest else None,
        "updated_at": latest["updated_at"] if latest else None,
    }


# ----------------------------------------------------------------------------- stacks


async def add_stack_documents(
    storage: Storage, stack_id: str, document_ids: list[str]
) -> list[str]:
    """Add existing documents to a stack; returns the ids newly added. Raises ``LookupError``
    naming an unknown stack or document."""
    unique = list(dict.fromkeys(document_ids))
    now = utc_now()
    async with storage.transaction() as db:
        cur = await db.execute("SELECT 1 FROM stacks WHERE id = ?", (stack_id,))
        if await cur.fetchone() is None:
            raise LookupError(f"unknown stack {stack_id}")
        if unique:
            marks = ",".join("?" * len(unique))
            cur = await db.execute(f"SELECT id FROM documents WHERE id IN ({marks})", unique)
            found = {row[0] for row in await cur.fetchall()}
            missing = [d for d in unique if d not in found]
            if missing:
                raise LookupError(f"unknown document ids: {', '.join(missing[:5])}")
        added = []
        for document_id in unique:
            cur = await db.execute(
                "INSERT OR IGNORE INTO stack_documents (id, stack_id, document_id, added_at)"
                " VALUES (?, ?, ?, ?)",
                (new_id(), stack_id, document_id, now),
            )
            if cur.rowcount:
                added.append(document_id)
        await db.execute("UPDATE stacks SET updated_at = ? WHERE id = ?", (now, stack_id))
    return added


async def create_stack_table(
    storage: Storage, stack_id: str, name: str, columns: list[dict[str, Any]]
) -> str:
    """A table in a stack with its columns (``[{name, type, description?}]``)."""
    table_id = new_id()
    now = utc_now()
    async with storage.transaction() as db:
        cur = await db.execute("SELECT 1 FROM stacks WHERE id = ?", (stack_id,))
        if await cur.fetchone() is None:
            raise LookupError(f"unknown stack {stack_id}")
        await db.execute(
            "INSERT INTO stack_tables (id, stack_id, name, mode, custom_columns, columns, status,"
            " created_at, updated_at) VALUES (?, ?, ?, 'custom', ?, ?, 'processing', ?, ?)",
            (
                table_id,
                stack_id,
                name,
                _dump([c["name"] for c in columns]),
                _dump(columns),
                now,
                now,
            ),
        )
    return table_id


async def get_stack_table(storage: Storage, table_id: str) -> dict[str, Any] | None:
    row = await storage.fetchone("SELECT * FROM stack_tables WHERE id = ?", (table_id,))
    if row is not None:
        row["columns"] = _load(row["columns"]) or []
        row["custom_columns"] = _load(row["custom_columns"])
    return row


async def committed_cells(storage: Storage, table_id: str) -> dict[tuple[str, str], CitedValue]:
    rows = await storage.fetchall(
        "SELECT * FROM stack_table_cells WHERE table_id = ? ORDER BY rowid", (table_id,)
    )
    return {(row["document_id"], row["column_name"]): _cited_from_row(row) for row in rows}


async def stack_document_ids(storage: Storage, stack_id: str) -> list[str]:
    rows = await storage.fetchall(
        "SELECT document_id FROM stack_documents WHERE stack_id = ? ORDER BY added_at, rowid",
        (stack_id,),
    )
    return [row["document_id"] for row in rows]


# ----------------------------------------------------------------------------- committing


@dataclass
class Committed:
    """What :func:`commit_draft` wrote."""

    documents: list[str] = field(default_factory=list)  # documents whose fields changed
    extraction_ids: dict[str, str] = field(default_factory=dict)  # document -> new snapshot
    field_changes: int = 0
    flagged: int = 0
    cells: int = 0
    tables: list[str] = field(default_factory=list)
    metadata_documents: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = []
        if self.field_changes:
            text = f"{self.field_changes} field change(s) on {len(self.documents)} document(s)"
            if self.flagged:
                text += f", {self.flagged} flagged for review"
            parts.append(text)
        if self.cells:
            parts.append(f"{self.cells} table cell(s) in {len(self.tables)} table(s)")
        if self.metadata_documents:
            parts.append(f"details of {len(self.metadata_documents)} document(s)")
        return "Saved " + "; ".join(parts) if parts else "Nothing to save"


async def _current_field(
    db: aiosqlite.Connection, document_id: str, name: str
) -> dict[str, Any] | None:
    cur = await db.execute(
        "SELECT * FROM extraction_fields WHERE document_id = ? AND name = ?", (document_id, name)
    )
    row = await cur.fetchone()
    return None if row is None else dict(row)


async def commit_draft(
    storage: Storage,
    draft: Draft,
    *,
    mission_id: str | None,
    session_id: str | None,
    model: str,
) -> Committed:
    """Write the draft in one transaction and empty it. Nothing is written if any part fails."""
    result = Committed()
    if draft.is_empty():
        return result
    now = utc_now()
    async with storage.transaction() as db:
        if mission_id is not None:
            cur = await db.execute("SELECT 1 FROM missions WHERE id = ?", (mission_id,))
            if await cur.fetchone() is None:
                mission_id = None
        documents = list(dict.fromkeys(c.document_id for c in draft.field_changes))
        for document_id in documents:
            cur = await db.execute(
                "SELECT COUNT(*) FROM extractions WHERE document_id = ?", (document_id,)
            )
            had_extraction = (await cur.fetchone())[0] > 0
            extraction_id = new_id()
            # The snapshot row first (history rows point at it), filled in once fields are set.
            await db.execute(
                "INSERT INTO extractions (id, document_id, extracted_fields, confidence_scores,"
                " mode, model, session_id, is_correction, status, created_at, updated_at)"
                " VALUES (?, ?, '{}', '{}', 'auto', ?, ?, ?, 'completed', ?, ?)",
                (extraction_id, document_id, model, session_id, int(had_extraction), now, now),
            )
            for change in draft.field_changes:
                if change.document_id != document_id:
                    continue
                before_row = await _current_field(db, document_id, change.name)
                before = _cited_from_row(before_row).as_dict() if before_row else None
                after = change.after.as_dict() if change.after is not None else None
                action = change.action
                if action == "extracted" and before_row is not None:
                    action = "corrected"  # re-extracting an existing field changes it
                await db.execute(
                    "INSERT INTO extraction_field_history (document_id, name, action, before,"
                    " after, reason, extraction_id, mission_id, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        document_id,
                        change.name,
                        action,
                        None if before is None else _dump(before),
                        None if after is None else _dump(after),
                        change.reason,
                        extraction_id,
                        mission_id,
                        now,
                    ),
                )
                result.field_changes += 1
                if change.after is None:
                    await db.execute(
                        "DELETE FROM extraction_fields WHERE document_id = ? AND name = ?",
                        (document_id, change.name),
                    )
                    continue
                if change.after.flagged:
                    result.flagged += 1
                await db.execute(
                    "INSERT INTO extraction_fields (document_id, name, value, confidence,"
                    " source_document_id, source_page, source_start, source_end, source_text,"
                    " flagged, flag_reason, extraction_id, mission_id, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(document_id, name) DO UPDATE SET value = excluded.value,"
                    " confidence = excluded.confidence,"
                    " source_document_id = excluded.source_document_id,"
                    " source_page = excluded.source_page, source_start = excluded.source_start,"
                    " source_end = excluded.source_end, source_text = excluded.source_text,"
                    " flagged = excluded.flagged, flag_reason = excluded.flag_reason,"
                    " extraction_id = excluded.extraction_id, mission_id = excluded.mission_id,"
                    " updated_at = excluded.updated_at",
                    (
                        document_id,
                        change.name,
                        _dump(change.after.value),
                        change.after.confidence if change.after.confidence is not None else 1.0,
                        *_source_columns(change.after),
                        int(change.after.flagged),
                        change.after.flag_reason,
                        extraction_id,
                        mission_id,
                        now,
                        now,
                    ),
                )
            # The seed's JSON view of the document's extraction, after every change.
            cur = await db.execute(
                "SELECT name, value, confidence FROM extraction_fields WHERE document_id = ?"
                " ORDER BY created_at, rowid",
                (document_id,),
            )
            rows = await cur.fetchall()
            await db.execute(
                "UPDATE extractions SET extracted_fields = ?, confidence_scores = ? WHERE id = ?",
                (
                    _dump({row["name"]: _load(row["value"]) for row in rows}),
                    _dump({row["name"]: row["confidence"] for row in rows}),
                    extraction_id,
                ),
            )
            if session_id is not None:
                # The document's agent session (the seed's documents.session_id): the thread
                # that last worked on its extraction.
                await db.execute(
                    "UPDATE documents SET session_id = ?, updated_at = ? WHERE id = ?",
                    (session_id, now, document_id),
                )
            result.documents.append(document_id)
            result.extraction_ids[document_id] = extraction_id

        touched_rows: list[tuple[str, str]] = []
        for cell in draft.cell_changes:
            await db.execute(
                "INSERT INTO stack_table_cells (table_id, document_id, column_name, value,"
                " confidence, source_document_id, source_page, source_start, source_end,"
                " source_text, flagged, flag_reason, mission_id, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(table_id, document_id, column_name) DO UPDATE SET"
                " value = excluded.value, confidence = excluded.confidence,"
                " source_document_id = excluded.source_document_id,"
                " source_page = excluded.source_page, source_start = excluded.source_start,"
                " source_end = excluded.source_end, source_text = excluded.source_text,"
                " flagged = excluded.flagged, flag_reason = excluded.flag_reason,"
                " mission_id = excluded.mission_id, updated_at = excluded.updated_at",
                (
                    cell.table_id,
                    cell.document_id,
                    cell.column,
                    _dump(cell.after.value),
                    cell.after.confidence,
                    *_source_columns(cell.after),
                    int(cell.after.flagged),
                    cell.after.flag_reason,
                    mission_id,
                    now,
                ),
            )
            result.cells += 1
            if (cell.table_id, cell.document_id) not in touched_rows:
                touched_rows.append((cell.table_id, cell.document_id))
        for table_id, document_id in touched_rows:
            cur = await db.execute(
                "SELECT column_name, value, confidence FROM stack_table_cells"
                " WHERE table_id = ? AND document_id = ? ORDER BY rowid",
                (table_id, document_id),
            )
            cells = await cur.fetchall()
            await db.execute(
                "INSERT INTO stack_table_rows (id, table_id, document_id, row_data,"
                " confidence_scores, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(table_id, document_id) DO UPDATE SET row_data = excluded.row_data,"
                " confidence_scores = excluded.confidence_scores,"
                " updated_at = excluded.updated_at",
                (
                    new_id(),
                    table_id,
                    document_id,
                    _dump({c["column_name"]: _load(c["value"]) for c in cells}),
                    _dump({c["column_name"]: c["confidence"] for c in cells}),
                    now,
                    now,
                ),
            )
            if table_id not in result.tables:
                result.tables.append(table_id)
        for table_id in result.tables:
            await db.execute(
                "UPDATE stack_tables SET status = 'completed', updated_at = ? WHERE id = ?",
                (now, table_id),
            )

        for document_id, details in draft.metadata.items():
            sets, params = [], []
            for column in ("display_name", "summary"):
                if column in details:
                    sets.append(f"{column} = ?")
                    params.append(details[column])
            if "tags" in details:
                sets.append("tags = ?")
                params.append(_dump(details["tags"]))
            if not sets:
                continue
            await db.execute(
                f"UPDATE documents SET {', '.join(sets)}, updated_at = ? WHERE id = ?",
                (*params, now, document_id),
            )
            result.metadata_documents.append(document_id)
    draft.clear()
    return result
