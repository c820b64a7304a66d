"""Checkpoints of a local Sprite's workspace: consistent copies on disk, restored atomically.

A checkpoint is a folder ``checkpoints/<id>/`` beside the workspace holding a copy of every
workspace file plus ``agent.db`` copied with SQLite's online backup API (consistent even while the
Sprite writes to it in WAL mode), and ``checkpoint.json`` (id, time, comment, size). Ids are
``v1``, ``v2``, ... like Sprites.dev's.

Restore builds the checkpoint's state in a new folder first; only when that copy is complete is
the live workspace swapped for it (two renames), and only then is the old state deleted. A crash
between the two renames is repaired by :func:`recover` (run before every start).

Everything here is synchronous disk work; the provider runs it in a thread.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bridge.providers.base import Checkpoint, ProviderError

META_FILE = "checkpoint.json"
DB_NAME = "agent.db"
# SQLite's side files are never copied: the backup API produces a self-contained agent.db.
DB_SIDE_FILES = {f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal"}
TEMP_PREFIXES = (".tmp-",)  # the Sprite's in-progress writes (sprite/workspace.py)
_ID = re.compile(r"^v(\d{1,9})$")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _copy_tree(source: Path, target: Path, *, skip_top: set[str]) -> int:
    """Copy regular files and folders (symlinks kept as links); returns bytes copied."""
    total = 0
    target.mkdir(parents=True, exist_ok=True)
    for root, dirs, files in os.walk(source):
        rel = Path(root).relative_to(source)
        for name in dirs:
            (target / rel / name).mkdir(exist_ok=True)
        for name in files:
            if rel == Path(".") and name in skip_top:
                continue
            if name.startswith(TEMP_PREFIXES):
                continue
            src = Path(root) / name
            dst = target / rel / name
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
                continue
            if not src.is_file():
                continue  # sockets, fifos: not state
            try:
                shutil.copy2(src, dst)
            except FileNotFoundError:
                continue  # deleted while we walked: it is not part of the state any more
            total += dst.stat().st_size
    return total


def _backup_database(source: Path, target: Path) -> int:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return target.stat().st_size


def _read_meta(folder: Path) -> Checkpoint | None:
    try:
        meta = json.loads((folder / META_FILE).read_text())
        return Checkpoint(
            id=str(meta["id"]),
            created_at=str(meta["created_at"]),
            comment=meta.get("comment"),
            size_bytes=meta.get("size_bytes"),
        )
    except (OSError, ValueError, KeyError):
        return None


def list_checkpoints(checkpoints_dir: Path) -> list[Checkpoint]:
    items = []
    if checkpoints_dir.is_dir():
        for folder in checkpoints_dir.iterdir():
            if _ID.match(folder.name) and (meta := _read_meta(folder)) is not None:
                items.append(meta)
    return sorted(items, key=lambda c: int(c.id[1:]), reverse=True)


def create_checkpoint(workspace: Path, checkpoints_dir: Path, comment: str | None) -> Checkpoint:
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    existing = [int(m.group(1)) for p in checkpoints_dir.iterdir() if (m := _ID.match(p.name))]
    checkpoint_id = f"v{max(existing, default=0) + 1}"
    staging = checkpoints_dir / f".tmp-{uuid.uuid4().hex}"
    try:
        size = _copy_tree(workspace, staging, skip_top={DB_NAME} | DB_SIDE_FILES)
        if (workspace / DB_NAME).exists():
            size += _backup_database(workspace / DB_NAME, staging / DB_NAME)
        checkpoint = Checkpoint(
            id=checkpoint_id, created_at=_now_iso(), comment=comment, size_bytes=size
        )
        (staging / META_FILE).write_text(json.dumps(checkpoint.to_payload()))
        staging.rename(checkpoints_dir / checkpoint_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return checkpoint


def restore_checkpoint(workspace: Path, checkpoints_dir: Path, checkpoint_id: str) -> None:
    """Swap the (stopped) Sprite's workspace for a copy of the checkpoint."""
    source = checkpoints_dir / checkpoint_id
    if not _ID.match(checkpoint_id) or _read_meta(source) is None:
        raise ProviderError("unknown_checkpoint", f"no checkpoint {checkpoint_id!r}")
    restoring = workspace.with_name(f"{workspace.name}.restoring")
    previous = workspace.with_name(f"{workspace.name}.previous")
    shutil.rmtree(restoring, ignore_errors=True)
    try:
        _copy_tree(source, restoring, skip_top={META_FILE})
    except BaseException:
        shutil.rmtree(restoring, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    workspace.rename(previous)
    restoring.rename(workspace)
    shutil.rmtree(previous, ignore_errors=True)


def recover(workspace: Path) -> None:
    """Finish or undo a restore that a crash interrupted; drop stale staging folders."""
    restoring = workspace.with_name(f"{workspace.name}.restoring")
    previous = workspace.with_name(f"{workspace.name}.previous")
    if not workspace.exists() and previous.exists():
        previous.rename(workspace)  # the swap did not complete: keep the old state
    shutil.rmtree(restoring, ignore_errors=True)
    shutil.rmtree(previous, ignore_errors=True)
