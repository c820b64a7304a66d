"""The Sprite's database (``agent.db``): schema migrations and the async access layer.

Public API: :class:`Storage` (open/close, transactions, documents, OCR text per page,
extractions, stacks, missions and their events, artifacts, and the ``state`` snapshot),
:data:`MIGRATIONS` (append-only schema list), :func:`utc_now`, :func:`new_id`.
"""

from sprite.storage.migrations import MIGRATIONS, latest_version
from sprite.storage.store import Storage, StorageError, new_id, utc_now

__all__ = ["MIGRATIONS", "Storage", "StorageError", "latest_version", "new_id", "utc_now"]
