"""Pure table logic for the table artifact: parse the wire shape, filter, sort, page, export.

No Reflex here, so it is tested directly and a 10,000-row table costs milliseconds per action.

Wire shape (``data`` of a ``table`` artifact; see docs/architecture.md "Artifact data shapes")::

    {"columns": ["Vendor", "Total"] | [{"key": "total", "label": "Total"}, ...],
     "rows": [["Acme", 120.5], ...] | [{"Vendor": "Acme", "Total": 120.5}, ...]}

A cell is a scalar (string, number, boolean, null) or a cited value
``{"value": scalar, "source": {"document_id", "page", "start", "end"}, "flagged"?: bool,
"flag_reason"?: str}``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.canvas.base import ArtifactDataError

MAX_ROWS = 200_000
MAX_COLUMNS = 200
_NUMBER_TEXT = re.compile(r"^[\s$€£¥+-]*\(?[\d,]*\.?\d+\)?\s*%?$")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False


@dataclass
class Table:
    columns: list[Column]
    values: list[list[Any]]  # scalars, one list per row, aligned with columns
    # Citations, sparse: "row:col" -> {"document_id", "page", "start", "end"}
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Values flagged for review, sparse: "row:col" -> the reason
    flags: dict[str, str] = field(default_factory=dict)
    # Sort keys by column, computed on first use; not saved with the state (cheap to redo).
    _keys: dict[int, list[tuple[int, float, str]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_keys"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._keys = {}

    def sort_keys(self, column: int) -> list[tuple[int, float, str]]:
        if column not in self._keys:
            self._keys[column] = [sort_key(row[column]) for row in self.values]
        return self._keys[column]

    @property
    def row_count(self) -> int:
        return len(self.values)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value
    # Nested structures are shown as compact text rather than refused.
    return str(value)


def _source(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not raw.get("document_id"):
        return None
    try:
        page = int(raw.get("page") or 1)
        start = int(raw.get("start") or 0)
        end = int(raw.get("end") if raw.get("end") is not None else start)
    except (TypeError, ValueError):
        return None
    return {
        "document_id": str(raw["document_id"]),
        "page": max(page, 1),
        "start": max(start, 0),
        "end": max(end, start, 0),
    }


def _columns(raw: Any, rows: Sequence[Any]) -> list[tuple[str, str]]:
    if raw is None:
        keys: dict[str, None] = {}
        for row in rows[:1000]:
            if not isinstance(row, dict):
                raise ArtifactDataError("table: 'columns' is required when rows are lists")
            keys.update(dict.fromkeys(str(k) for k in row))
        return [(k, k) for k in keys]
    if not isinstance(raw, list):
        raise ArtifactDataError("table: 'columns' must be a list")
    out: list[tuple[str, str]] = []
    for col in raw:
        if isinstance(col, dict):
            key = str(col.get("key", col.get("name", col.get("label", ""))))
            out.append((key, str(col.get("label") or key)))
        else:
            out.append((str(col), str(col)))
    return out


def parse_table(data: Any) -> Table:
    """Turn the wire ``data`` into a :class:`Table`, or explain what is wrong with it."""
    if not isinstance(data, dict):
        raise ArtifactDataError("table: data must be an object with 'columns' and 'rows'")
    rows = data.get("rows", data.get("data"))
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise ArtifactDataError("table: 'rows' must be a list")
    if len(rows) > MAX_ROWS:
        raise ArtifactDataError(f"table: {len(rows):,} rows is more than {MAX_ROWS:,}")
    cols = _columns(data.get("columns"), rows)
    if len(cols) > MAX_COLUMNS:
        raise ArtifactDataError(f"table: {len(cols)} columns is more than {MAX_COLUMNS}")
    width = len(cols)
    values: list[list[Any]] = []
    sources: dict[str, dict[str, Any]] = {}
    flags: dict[str, str] = {}
    for r, row in enumerate(rows):
        if isinstance(row, dict):
            cells = [row.get(key) for key, _ in cols]
        elif isinstance(row, list):
            cells = list(row[:width]) + [None] * (width - len(row))
        else:
            raise ArtifactDataError(f"table: row {r + 1} is neither a list nor an object")
        out_row = []
        for c, cell in enumerate(cells):
            if isinstance(cell, dict) and "value" in cell:
                if src := _source(cell.get("source")):
                    sources[f"{r}:{c}"] = src
                if cell.get("flagged"):
                    flags[f"{r}:{c}"] = str(cell.get("flag_reason") or "flagged for review")
                cell = cell["value"]
            out_row.append(_scalar(cell))
        values.append(out_row)
    columns = [
        Column(key, label, numeric=_mostly_numeric(row[c] for row in values[:500]))
        for c, (key, label) in enumerate(cols)
    ]
    return Table(columns, values, sources, flags)


def _mostly_numeric(values: Iterable[Any]) -> bool:
    seen = numeric = 0
    for value in values:
        if value is None or value == "":
            continue
        seen += 1
        numeric += _number(value) is not None
    return seen > 0 and numeric / seen >= 0.8


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value and _NUMBER_TEXT.match(value):
        text = value.strip()
        negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
        digits = re.sub(r"[^\d.]", "", text)
        try:
            number = float(digits)
        except ValueError:
            return None
        return -number if negative else number
    return None


def display(value: Any) -> str:
    """How a scalar reads in a cell: numbers grouped, floats to 2 places, empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"
    return str(value)


def search_index(table: Table) -> list[str]:
    """One lower-cased line per row, for substring filtering."""
    return ["\x1f".join(display(v) for v in row).casefold() for row in table.values]


def sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers before text, empty cells last, whatever the direction of the text."""
    if value is None or value == "":
        return (2, 0.0, "")
    number = _number(value)
    if number is not None:
        return (0, number, "")
    return (1, 0.0, str(value).casefold())


def select_rows(
    table: Table,
    index: Sequence[str],
    query: str = "",
    sort_column: int = -1,
    descending: bool = False,
) -> list[int]:
    """Row numbers matching ``query`` (all words, any column), sorted by ``sort_column``."""
    words = query.casefold().split()
    if words:
        rows = [i for i, line in enumerate(index) if all(w in line for w in words)]
    else:
        rows = list(range(table.row_count))
    if 0 <= sort_column < len(table.columns):
        keys = table.sort_keys(sort_column)
        keyed = [(keys[i], i) for i in rows]
        empties = [i for key, i in keyed if key[0] == 2]
        filled = [(key, i) for key, i in keyed if key[0] != 2]
        filled.sort(key=lambda pair: pair[0], reverse=descending)
        rows = [i for _, i in filled] + empties
    return rows


def page_of(rows: Sequence[int], page: int, page_size: int) -> tuple[int, list[int]]:
    """Clamp ``page`` (0-based) to what exists and return it with its row numbers."""
    pages = max(1, math.ceil(len(rows) / page_size))
    page = min(max(page, 0), pages - 1)
    return page, list(rows[page * page_size : (page + 1) * page_size])


def to_csv(table: Table, rows: Sequence[int]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.label for c in table.columns])
    for i in rows:
        writer.writerow(["" if v is None else v for v in table.values[i]])
    return out.getvalue()


def to_xlsx(table: Table, rows: Sequence[int], title: str = "Table") -> bytes:
    """An .xlsx workbook of the rows. CPU-bound: call it in a worker thread."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(title))
    sheet.append([c.label for c in table.columns])
    for i in rows:
        sheet.append(list(table.values[i]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title).strip() or "Table"
    return cleaned[:31]


def file_stem(title: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-.")
    return stem[:80] or "table"
