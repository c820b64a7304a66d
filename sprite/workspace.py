"""The workspace on disk: its layout, safe file names and crash-safe writes.

Layout (SPEC.md): ``documents/{id}_{safe filename}``, ``ocr/{document_id}.md``,
``artifacts/{artifact_id}.log``, ``agent.db`` under the workspace root.

Every file is first written under a temporary name *in its final directory* (prefix
:data:`TEMP_PREFIX`), flushed, fsync'ed and then renamed into place, so a reader (or a restart
after ``kill -9``) sees either no file or the whole file. Temporary names are never referenced by
the database; :meth:`Workspace.remove_temp_files` deletes the ones a crash left behind.

Everything here is synchronous file-system work: async callers run it with ``asyncio.to_thread``.
"""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

TEMP_PREFIX = ".tmp-"
# A document's stored name is "{uuid}_{safe name}"; keep the whole name well under the 255-byte
# limit of common file systems, with room for the temporary prefix.
MAX_SAFE_NAME_BYTES = 160
# Letters, digits, combining accents and a little punctuation are kept; the rest becomes "_".
_UNSAFE_CHARS = re.compile(r"[^\w\u0300-\u036f.\-()+,@ ]+", re.UNICODE)
_RUNS_OF_SPACE = re.compile(r"[\s_]+")


class BadFilename(ValueError):
    """A client-supplied file name that cannot be stored; ``str()`` says why."""


def safe_filename(name: str) -> str:
    """A readable file name that is safe to join under ``documents/``.

    Path components are dropped (``reports/q1.pdf`` → ``q1.pdf``); names that try to leave the
    folder (``..`` components, absolute paths), contain NUL or control characters, or are empty
    are refused with :class:`BadFilename`. Unicode letters are kept (NFC-normalised), other
    punctuation becomes ``_``, and very long names are shortened keeping their extension.
    """
    if "\x00" in name:
        raise BadFilename("file name contains a NUL byte")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise BadFilename("file name contains control characters")
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise BadFilename("file name is empty")
    parts = re.split(r"[\\/]", name)
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", name):
        raise BadFilename("file name is an absolute path; send the plain file name")
    if any(part.strip() == ".." for part in parts):
        raise BadFilename("file name tries to leave the documents folder ('..')")
    base = parts[-1]
    base = _UNSAFE_CHARS.sub("_", base)
    base = _RUNS_OF_SPACE.sub("_", base).strip("._ ")
    if not base:
        raise BadFilename("file name has no usable characters")
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = base, ""
    ext = f".{ext}" if ext else ""
    budget = MAX_SAFE_NAME_BYTES - len(ext.encode())
    encoded = stem.encode()
    if len(encoded) > budget:
        stem = encoded[:budget].decode("utf-8", errors="ignore").rstrip("._ ") or "document"
    return f"{stem}{ext}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent/old or complete."""
    temp = path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}-{path.name}"[:240])
    payload = data.encode() if isinstance(data, str) else data
    try:
        with open(temp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class PartialFile:
    """A file being received in pieces; invisible to everyone until :meth:`commit`.

    Lives under its final directory with the temporary prefix, so a crash leaves only a temp
    file that start-up reconciliation removes.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"{TEMP_PREFIX}{uuid.uuid4().hex}.part"
        self._fh = open(self.path, "wb")  # closed in commit() or discard()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._fh.write(chunk)
        self.size += len(chunk)

    def flush(self) -> None:
        self._fh.flush()

    def commit(self, final: Path) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.path, final)
        _fsync_dir(final.parent)

    def discard(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Workspace:
    """The workspace root and the paths inside it."""

    root: Path

    @property
    def documents(self) -> Path:
        return self.root / "documents"

    @property
    def ocr(self) -> Path:
        return self.root / "ocr"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def database(self) -> Path:
        return self.root / "agent.db"

    def create(self) -> None:
        for folder in (self.root, self.documents, self.ocr, self.artifacts):
            folder.mkdir(parents=True, exist_ok=True)

    def document_path(self, document_id: str, safe_name: str) -> Path:
        return self.documents / f"{document_id}_{safe_name}"

    def ocr_path(self, document_id: str) -> Path:
        return self.ocr / f"{document_id}.md"

    def artifact_log_path(self, artifact_id: str) -> Path:
        return self.artifacts / f"{artifact_id}.log"

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def remove_temp_files(self) -> list[str]:
        """Delete the half-written files a crash left behind; returns their relative paths."""
        removed = []
        for folder in (self.documents, self.ocr, self.artifacts):
            for entry in folder.glob(f"{TEMP_PREFIX}*"):
                if entry.is_file():
                    entry.unlink(missing_ok=True)
                    removed.append(self.relative(entry))
        return removed
