"""A mission's unsaved work: extracted fields, corrections, table cells and document details.

The tools of a mission write here, not to the database. The whole draft is committed in one
transaction when the agent calls ``complete`` or when the mission ends successfully, and dropped
when it fails or is cancelled — so an upstream error halfway through an extraction never leaves
half of it in ``agent.db``. Reads made by the mission's own tools see committed rows with the
draft laid over them.

Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

FieldAction = Literal["extracted", "corrected", "deleted"]


@dataclass(frozen=True)
class CitedValue:
    """A value with its confidence and citation (``source``: document_id, page, start, end,
    text), flagged when the citation does not support it."""

    value: Any
    confidence: float | None
    source: dict[str, Any] | None
    flagged: bool = False
    flag_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "confidence": self.confidence,
            "source": self.source,
            "flagged": self.flagged,
            "flag_reason": self.flag_reason,
        }


@dataclass(frozen=True)
class FieldChange:
    document_id: str
    name: str
    action: FieldAction
    after: CitedValue | None  # None when deleted
    reason: str | None = None


@dataclass(frozen=True)
class CellChange:
    table_id: str
    document_id: str
    column: str
    after: CitedValue


@dataclass
class Draft:
    field_changes: list[FieldChange] = field(default_factory=list)
    cell_changes: list[CellChange] = field(default_factory=list)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # document_id -> details

    def is_empty(self) -> bool:
        return not (self.field_changes or self.cell_changes or self.metadata)

    def clear(self) -> None:
        self.field_changes.clear()
        self.cell_changes.clear()
        self.metadata.clear()

    def fields_over(
        self, document_id: str, committed: dict[str, CitedValue]
    ) -> dict[str, CitedValue]:
        """The document's fields as they will be once this draft is committed."""
        fields = dict(committed)
        for change in self.field_changes:
            if change.document_id != document_id:
                continue
            if change.after is None:
                fields.pop(change.name, None)
            else:
                fields[change.name] = change.after
        return fields

    def cells_over(
        self, table_id: str, committed: dict[tuple[str, str], CitedValue]
    ) -> dict[tuple[str, str], CitedValue]:
        """``(document_id, column) -> value`` of a stack table once this draft is committed."""
        cells = dict(committed)
        for change in self.cell_changes:
            if change.table_id == table_id:
                cells[(change.document_id, change.column)] = change.after
        return cells

    def add_metadata(self, document_id: str, details: dict[str, Any]) -> None:
        self.metadata[document_id] = {**self.metadata.get(document_id, {}), **details}

    def summary(self) -> str:
        """What committing this draft would save, in a few words."""
        parts = []
        documents = {c.document_id for c in self.field_changes}
        if self.field_changes:
            flagged = sum(1 for c in self.field_changes if c.after is not None and c.after.flagged)
            text = f"{len(self.field_changes)} field change(s) on {len(documents)} document(s)"
            if flagged:
                text += f" ({flagged} flagged)"
            parts.append(text)
        if self.cell_changes:
            parts.append(f"{len(self.cell_changes)} table cell(s)")
        if self.metadata:
            parts.append(f"details of {len(self.metadata)} document(s)")
        return ", ".join(parts) or "nothing"


def with_confidence(value: CitedValue, confidence: float | None) -> CitedValue:
    return replace(value, confidence=confidence)
