"""agent.db: versioned migrations, WAL, foreign keys, atomic transactions; workspace files."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from sprite.storage import MIGRATIONS, Storage, StorageError, latest_version
from sprite.storage import migrations as migrations_module
from sprite.workspace import BadFilename, PartialFile, Workspace, atomic_write, safe_filename

SEED_TABLES = {
    "documents",
    "ocr_results",
    "extractions",
    "stacks",
    "stack_documents",
    "stack_tables",
    "stack_table_rows",
}


async def test_a_new_database_is_migrated_with_wal_and_foreign_keys(tmp_path):
    storage = await Storage.open(tmp_path / "agent.db")
    try:
        assert await storage.schema_version() == latest_version() == MIGRATIONS[-1][0]
        tables = {
            r["name"]
            for r in await storage.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert SEED_TABLES | {"ocr_pages", "missions", "mission_events", "artifacts"} <= tables
        assert (await storage.fetchone("PRAGMA journal_mode"))["journal_mode"] == "wal"
        assert (await storage.fetchone("PRAGMA foreign_keys"))["foreign_keys"] == 1
        columns = {r["name"] for r in await storage.fetchall("PRAGMA table_info(documents)")}
        assert "user_id" not in columns  # one Sprite, one user
        with pytest.raises(sqlite3.IntegrityError):
            await storage.execute(
                "INSERT INTO ocr_pages (document_id, page_number, text, method, raw_offset)"
                " VALUES ('missing', 1, 't', 'converted', 0)"
            )
    finally:
        await storage.close()


async def test_migrations_apply_once_and_in_order(tmp_path, monkeypatch):
    path = tmp_path / "agent.db"
    storage = await Storage.open(path)
    await storage.close()
    monkeypatch.setattr(
        migrations_module,
        "MIGRATIONS",
        [*MIGRATIONS, (latest_version() + 1, "CREATE TABLE notes (id TEXT PRIMARY KEY);")],
    )
    monkeypatch.setattr("sprite.storage.store.MIGRATIONS", migrations_module.MIGRATIONS)
    monkeypatch.setattr(
        "sprite.storage.store.latest_version", lambda: migrations_module.MIGRATIONS[-1][0]
    )
    for _ in range(2):  # the second open finds nothing to do
        storage = await Storage.open(path)
        assert await storage.schema_version() == len(MIGRATIONS) + 1
        await storage.close()


async def test_a_failing_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    path = tmp_path / "agent.db"
    await (await Storage.open(path)).close()
    broken = [
        *MIGRATIONS,
        (latest_version() + 1, "CREATE TABLE half (id TEXT); INSERT INTO nowhere VALUES (1);"),
    ]
    monkeypatch.setattr("sprite.storage.store.MIGRATIONS", broken)
    monkeypatch.setattr("sprite.storage.store.latest_version", lambda: broken[-1][0])
    with pytest.raises(sqlite3.OperationalError):
        await Storage.open(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version()
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'half'").fetchall()


async def test_a_database_from_newer_code_is_refused(tmp_path):
    path = tmp_path / "agent.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 5}")
    with pytest.raises(StorageError, match="newer than this code"):
        await Storage.open(path)


async def test_a_cancelled_transaction_rolls_back_and_the_next_one_works(tmp_path):
    storage = await Storage.open(tmp_path / "agent.db")
    try:

        async def slow_write():
            async with storage.transaction() as db:
                await db.execute(
                    "INSERT INTO stacks (id, name, created_at, updated_at)"
                    " VALUES ('s1', 'half', 'now', 'now')"
                )
                await asyncio.sleep(10)

        task = asyncio.create_task(slow_write())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await storage.list_stacks() == []
        stack = await storage.create_stack("whole", [])
        assert [s["name"] for s in await storage.list_stacks()] == ["whole"]
        assert stack["document_ids"] == []
    finally:
        await storage.close()


async def test_artifacts_upsert_and_large_data_is_left_out_of_state(tmp_path):
    storage = await Storage.open(tmp_path / "agent.db")
    try:
        await storage.create_mission("m1", "make a table", "agent")
        await storage.upsert_artifact(
            artifact_id="a", artifact_type="table", title="v1", mission_id="m1", data={"rows": [1]}
        )
        await storage.upsert_artifact(
            artifact_id="a",
            artifact_type="table",
            title="v2",
            mission_id=None,
            data={"rows": [1, 2]},
        )
        big = {"rows": ["x" * 1000] * 400}
        await storage.upsert_artifact(
            artifact_id="b", artifact_type="json", title="big", mission_id="gone", data=big
        )
        state = await storage.state()
        small, large = state["artifacts"]
        assert (small["title"], small["data"], small["mission_id"]) == (
            "v2",
            {"rows": [1, 2]},
            "m1",
        )
        assert large["truncated"] is True and large["data"] is None
        assert large["mission_id"] is None  # an unknown mission is not an error
        assert (await storage.get_artifact("b"))["data"] == big
    finally:
        await storage.close()


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("invoice.pdf", "invoice.pdf"),
        ("  My  Invoice (final).PDF ", "My_Invoice_(final).PDF"),
        ("Résumé \u2013 été.docx", "Résumé_été.docx"),
        ("folder/sub/file.txt", "file.txt"),
        ("e\u0301t\u0301e\u0301.txt", "\u00e9t\u0301\u00e9.txt"),  # NFC-normalised
        ("x" * 300 + ".xlsx", "x" * 155 + ".xlsx"),
        ("ü" * 200 + ".txt", "ü" * 78 + ".txt"),  # cut on a character boundary
        (".hidden", "hidden"),
        ("a?*<>|:b.csv", "a_b.csv"),
    ],
)
def test_safe_filenames_stay_readable(name, safe):
    assert safe_filename(name) == safe
    assert len(safe_filename(name).encode()) <= 160


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "a/../../x",
        "/abs/x",
        "\\\\server\\x",
        "C:/x",
        "nul\x00.txt",
        "tab\there",
        "",
        "  ",
        "..",
        "///",
    ],
)
def test_unsafe_filenames_are_refused(name):
    with pytest.raises(BadFilename):
        safe_filename(name)


def test_atomic_write_and_partial_files(tmp_path):
    workspace = Workspace(tmp_path / "w")
    workspace.create()
    target = workspace.ocr / "doc.md"
    atomic_write(target, "first")
    atomic_write(target, "second")
    assert target.read_text() == "second"
    partial = PartialFile(workspace.documents)
    partial.write(b"abc")
    assert partial.path.name.startswith(".tmp-")
    left = PartialFile(workspace.documents)  # as if the process died here
    left.write(b"half")
    partial.commit(workspace.documents / "doc_abc.txt")
    assert workspace.remove_temp_files() == [f"documents/{left.path.name}"]
    assert sorted(p.name for p in workspace.documents.iterdir()) == ["doc_abc.txt"]
