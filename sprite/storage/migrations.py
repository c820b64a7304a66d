"""The schema of ``agent.db``: an append-only list of numbered migrations.

The database's version is ``PRAGMA user_version``. On open, every migration whose version is
greater is applied in order, each in its own transaction together with the version bump, so a
crash mid-migration leaves the previous version intact.

To change the schema: append ``(next_version, "SQL ...")`` to :data:`MIGRATIONS`. Never edit or
reorder a migration that has shipped. Conventions: ids are TEXT (uuid4 strings), timestamps are
ISO-8601 UTC TEXT (``2026-01-31T12:00:00.000Z``), JSON columns are TEXT, booleans INTEGER 0/1.
The seed's ``user_id`` columns are gone: a Sprite belongs to one user.
"""

from __future__ import annotations

# Version 1: the seed's tables (documents, ocr_results, extractions, stacks, stack_documents,
# stack_tables, stack_table_rows) plus per-page text, missions, their events and artifacts.
SCHEMA_V1 = """
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    filename TEXT NOT NULL,               -- safe, readable name shown to the user
    original_filename TEXT NOT NULL,      -- as the client sent it (for display only)
    file_path TEXT NOT NULL,              -- relative to the workspace: documents/{id}_{filename}
    file_size_bytes INTEGER NOT NULL,
    mime_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT 'auto',
    status TEXT NOT NULL DEFAULT 'processing'
        CHECK (status IN ('processing', 'ocr_complete', 'completed', 'failed')),
    error TEXT,                           -- why status is 'failed'
    ingest_attempts INTEGER NOT NULL DEFAULT 0,
    session_id TEXT,                      -- agent SDK session for document-level chat
    display_name TEXT,
    tags TEXT NOT NULL DEFAULT '[]',      -- JSON list
    summary TEXT,
    uploaded_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_documents_uploaded ON documents(uploaded_at);
CREATE INDEX idx_documents_status ON documents(status);

CREATE TABLE ocr_results (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL UNIQUE REFERENCES documents(id) ON DELETE CASCADE,
    raw_text TEXT NOT NULL,               -- all pages, as cached in text_path
    text_path TEXT NOT NULL,              -- relative: ocr/{document_id}.md
    page_count INTEGER NOT NULL,
    layout_data TEXT,                     -- JSON: per-page dimensions, method, images
    processing_time_ms INTEGER NOT NULL,
    usage_info TEXT NOT NULL DEFAULT '{}',-- JSON
    model TEXT NOT NULL,                  -- e.g. 'pypdfium2+tesseract-5.3.0', 'mistral-ocr-latest'
    ocr_engine TEXT NOT NULL,             -- 'local' | 'mistral'
    created_at TEXT NOT NULL
);
CREATE INDEX idx_ocr_results_document ON ocr_results(document_id);

-- One row per page: citations are (document_id, page_number, start, end) with start/end
-- character offsets into ocr_pages.text. raw_offset is where the page starts in raw_text.
CREATE TABLE ocr_pages (
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page_number INTEGER NOT NULL CHECK (page_number >= 1),
    text TEXT NOT NULL,
    method TEXT NOT NULL,                 -- text_layer | tesseract | converted | mistral
    raw_offset INTEGER NOT NULL,
    PRIMARY KEY (document_id, page_number)
);

CREATE TABLE extractions (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    extracted_fields TEXT NOT NULL,       -- JSON
    confidence_scores TEXT,               -- JSON
    mode TEXT NOT NULL DEFAULT 'auto',
    custom_fields TEXT,                   -- JSON list
    model TEXT NOT NULL,
    processing_time_ms INTEGER NOT NULL DEFAULT 0,
    session_id TEXT,
    is_correction INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'completed'
        CHECK (status IN ('pending', 'in_progress', 'completed', 'failed')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_extractions_document ON extractions(document_id, created_at);
CREATE INDEX idx_extractions_session ON extractions(session_id);

CREATE TABLE stacks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'active',  -- active | processing | error
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_stacks_created ON stacks(created_at);

CREATE TABLE stack_documents (
    id TEXT PRIMARY KEY,
    stack_id TEXT NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    added_at TEXT NOT NULL,
    UNIQUE (stack_id, document_id)
);
CREATE INDEX idx_stack_documents_stack ON stack_documents(stack_id);
CREATE INDEX idx_stack_documents_document ON stack_documents(document_id);

CREATE TABLE stack_tables (
    id TEXT PRIMARY KEY,
    stack_id TEXT NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT 'Master Data',
    mode TEXT NOT NULL DEFAULT 'auto',    -- auto | custom
    custom_columns TEXT,                  -- JSON list of names when mode = 'custom'
    columns TEXT,                         -- JSON [{name, type}] once extracted
    session_id TEXT,
    status TEXT NOT NULL DEFAULT 'pending', -- pending | processing | completed | error
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_stack_tables_stack ON stack_tables(stack_id);
CREATE INDEX idx_stack_tables_session ON stack_tables(session_id);

CREATE TABLE stack_table_rows (
    id TEXT PRIMARY KEY,
    table_id TEXT NOT NULL REFERENCES stack_tables(id) ON DELETE CASCADE,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    row_data TEXT NOT NULL,               -- JSON keyed by stack_tables.columns names
    confidence_scores TEXT,               -- JSON
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (table_id, document_id)
);
CREATE INDEX idx_stack_table_rows_table ON stack_table_rows(table_id);
CREATE INDEX idx_stack_table_rows_document ON stack_table_rows(document_id);

-- A mission is one user turn. Follow-ups point at the mission they continue (parent_id) and
-- share the thread of the first one (thread_id = that mission's id).
CREATE TABLE missions (
    id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('agent', 'shell')),
    status TEXT NOT NULL
        CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'interrupted')),
    error TEXT,
    session_id TEXT,                      -- agent SDK session, resumed by follow-ups
    parent_id TEXT REFERENCES missions(id) ON DELETE SET NULL,
    thread_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX idx_missions_created ON missions(created_at);
CREATE INDEX idx_missions_status ON missions(status);
CREATE INDEX idx_missions_thread ON missions(thread_id, created_at);

-- agent_event payloads, in order, as the clients received them.
CREATE TABLE mission_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mission_id TEXT NOT NULL REFERENCES missions(id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,                -- JSON agent_event payload
    created_at TEXT NOT NULL
);
CREATE INDEX idx_mission_events_mission ON mission_events(mission_id, id);

-- Canvas artifacts, upserted by artifact_id (each canvas_update replaces data).
CREATE TABLE artifacts (
    artifact_id TEXT PRIMARY KEY,
    artifact_type TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    mission_id TEXT REFERENCES missions(id) ON DELETE SET NULL,
    data TEXT,                            -- JSON
    data_bytes INTEGER NOT NULL DEFAULT 0,
    file_path TEXT,                       -- relative: artifacts/{id}.log for whole terminal output
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_artifacts_updated ON artifacts(updated_at);
CREATE INDEX idx_artifacts_mission ON artifacts(mission_id);
"""

# Version 2 (sprite/agents): extracted fields with citations, their correction history, and
# cited stack-table cells. A citation is (source_document_id, source_page, source_start,
# source_end): a character span of ocr_pages.text, end exclusive; source_text is what the span
# reads. A value whose citation does not contain it is kept with flagged = 1 and the reason.
# extractions and stack_table_rows keep the seed's JSON view (name -> value) in step.
SCHEMA_V2_CITED_EXTRACTIONS = """
CREATE TABLE extraction_fields (
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,                  -- JSON
    confidence REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    source_document_id TEXT,
    source_page INTEGER,
    source_start INTEGER,
    source_end INTEGER,
    source_text TEXT,
    flagged INTEGER NOT NULL DEFAULT 0,
    flag_reason TEXT,
    extraction_id TEXT REFERENCES extractions(id) ON DELETE SET NULL,  -- last snapshot to set it
    mission_id TEXT REFERENCES missions(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (document_id, name)
);

-- Every change to a field, oldest first: what it was and what it became (JSON field records).
CREATE TABLE extraction_field_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('extracted', 'corrected', 'deleted')),
    before TEXT,
    after TEXT,
    reason TEXT,
    extraction_id TEXT REFERENCES extractions(id) ON DELETE SET NULL,
    mission_id TEXT REFERENCES missions(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_field_history_document ON extraction_field_history(document_id, name, id);

CREATE TABLE stack_table_cells (
    table_id TEXT NOT NULL REFERENCES stack_tables(id) ON DELETE CASCADE,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    column_name TEXT NOT NULL,
    value TEXT,                           -- JSON
    confidence REAL CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
    source_document_id TEXT,
    source_page INTEGER,
    source_start INTEGER,
    source_end INTEGER,
    source_text TEXT,
    flagged INTEGER NOT NULL DEFAULT 0,
    flag_reason TEXT,
    mission_id TEXT REFERENCES missions(id) ON DELETE SET NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (table_id, document_id, column_name)
);
CREATE INDEX idx_stack_table_cells_document ON stack_table_cells(document_id);
"""

# (version, SQL). Append only; versions are consecutive from 1.
MIGRATIONS: list[tuple[int, str]] = [
    (1, SCHEMA_V1),
    (2, SCHEMA_V2_CITED_EXTRACTIONS),
]


def latest_version() -> int:
    return MIGRATIONS[-1][0]
