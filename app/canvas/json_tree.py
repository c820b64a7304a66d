"""The ``json`` artifact: any JSON value as a collapsible tree.

The tree is flattened on the server into rows (one per key or item, with its depth); only the
rows of expanded branches are sent, capped, so a huge document stays light in the browser.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from app.canvas.base import ArtifactKind, ArtifactView, Sample, with_problem

MAX_NODES = 50_000
MAX_VISIBLE = 2_000
OPEN_DEPTH = 2  # branches shallower than this start expanded
MAX_PREVIEW = 160


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "string"


def _preview(value: Any) -> str:
    if isinstance(value, dict):
        return f"{{{len(value)} {'key' if len(value) == 1 else 'keys'}}}"
    if isinstance(value, list):
        return f"[{len(value)} {'item' if len(value) == 1 else 'items'}]"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_PREVIEW else text[: MAX_PREVIEW - 1] + "…"


def flatten(value: Any, max_nodes: int = MAX_NODES) -> tuple[list[dict[str, Any]], bool]:
    """Depth-first rows ``{id, parent, depth, key, kind, preview, children}``; True if cut."""
    rows: list[dict[str, Any]] = []
    # An explicit stack instead of recursion: deep documents cannot overflow Python's stack.
    stack: list[tuple[str, str, int, str, Any]] = [("0", "", 0, "", value)]
    while stack:
        if len(rows) >= max_nodes:
            return rows, True
        node_id, parent, depth, key, item = stack.pop()
        children: list[tuple[str, Any]] = []
        if isinstance(item, dict):
            children = [(str(k), v) for k, v in item.items()]
        elif isinstance(item, list):
            children = [(str(i), v) for i, v in enumerate(item)]
        rows.append(
            {
                "id": node_id,
                "parent": parent,
                "depth": depth,
                "key": key,
                "kind": _kind(item),
                "preview": _preview(item),
                "children": len(children),
            }
        )
        for index in range(len(children) - 1, -1, -1):
            child_key, child = children[index]
            stack.append((f"{node_id}.{index}", node_id, depth + 1, child_key, child))
    return rows, False


def visible_rows(rows: list[dict[str, Any]], expanded: set[str]) -> list[dict[str, Any]]:
    """The rows whose every ancestor is expanded, in document order."""
    shown: list[dict[str, Any]] = []
    hidden_below: int | None = None  # depth of a collapsed ancestor being skipped
    for row in rows:
        if hidden_below is not None:
            if row["depth"] > hidden_below:
                continue
            hidden_below = None
        shown.append(row)
        if row["children"] and row["id"] not in expanded:
            hidden_below = row["depth"]
    return shown


class JsonView(ArtifactView, mixin=True):
    rows: list[dict[str, str]] = []  # {id, key, kind, preview, indent, toggle: ""|open|closed}
    hidden_count: int = 0
    cut: bool = False

    _nodes: list[dict[str, Any]] = []
    _expanded: list[str] = []

    @staticmethod
    def _prepare(data: Any) -> tuple[list[dict[str, Any]], bool]:
        return flatten(data)

    def _show(self, prepared: tuple[list[dict[str, Any]], bool]) -> None:
        self._nodes, self.cut = prepared
        self._expanded = [n["id"] for n in self._nodes if n["children"] and n["depth"] < OPEN_DEPTH]
        self._refresh()

    def _refresh(self) -> None:
        expanded = set(self._expanded)
        shown = visible_rows(self._nodes, expanded)
        self.hidden_count = max(0, len(shown) - MAX_VISIBLE)
        self.rows = [
            {
                "id": n["id"],
                "key": n["key"],
                "kind": n["kind"],
                "preview": n["preview"],
                "indent": f"{n['depth'] * 18}px",
                "toggle": (("open" if n["id"] in expanded else "closed") if n["children"] else ""),
            }
            for n in shown[:MAX_VISIBLE]
        ]

    @rx.event
    def toggle(self, node_id: str) -> None:
        expanded = list(self._expanded)
        if node_id in expanded:
            expanded.remove(node_id)
        else:
            expanded.append(node_id)
        self._expanded = expanded
        self._refresh()

    @rx.event
    def expand_all(self) -> None:
        self._expanded = [n["id"] for n in self._nodes if n["children"]]
        self._refresh()

    @rx.event
    def collapse_all(self) -> None:
        self._expanded = []
        self._refresh()


def _row(S: Any, row: Any) -> rx.Component:
    return rx.hstack(
        rx.cond(
            row["toggle"] != "",
            rx.el.button(
                rx.icon(rx.cond(row["toggle"] == "open", "chevron-down", "chevron-right"), size=13),
                on_click=S.toggle(row["id"]),
                class_name="sd-tree-toggle",
                aria_label=rx.cond(row["toggle"] == "open", "Collapse", "Expand"),
                aria_expanded=rx.cond(row["toggle"] == "open", "true", "false"),
            ),
            rx.box(width="18px", flex_shrink="0"),
        ),
        rx.cond(row["key"] != "", rx.text(row["key"] + ":", as_="span", class_name="sd-json-key")),
        rx.text(row["preview"], as_="span", class_name="sd-json-" + row["kind"]),
        padding_left=row["indent"],
        spacing="1",
        align="center",
        class_name="sd-tree-row",
    )


def render(S: Any) -> rx.Component:
    return with_problem(
        S,
        rx.vstack(
            rx.hstack(
                rx.button(
                    rx.icon("chevrons-up-down", size=14),
                    "Expand all",
                    on_click=S.expand_all,
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                ),
                rx.button(
                    rx.icon("chevrons-down-up", size=14),
                    "Collapse all",
                    on_click=S.collapse_all,
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                ),
                spacing="2",
            ),
            rx.box(
                rx.foreach(S.rows, lambda row: _row(S, row)),
                rx.cond(
                    S.hidden_count > 0,
                    rx.text(
                        "… " + S.hidden_count.to_string() + " more rows: collapse a branch",
                        size="1",
                        color_scheme="gray",
                        padding_top="6px",
                    ),
                ),
                rx.cond(
                    S.cut,
                    rx.text(
                        "Large document: only the first 50,000 nodes are shown.",
                        size="1",
                        color_scheme="amber",
                    ),
                ),
                class_name="sd-tree",
                role="tree",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
    )


def sample() -> Sample:
    return Sample(
        "Extraction: invoice 1001",
        {
            "document": "sample-invoices.pdf",
            "vendor": {"name": "Acme Industrial", "vat_id": "DE811907980", "country": "DE"},
            "total": {"value": 1560.0, "currency": "EUR", "confidence": 0.97},
            "line_items": [
                {"description": "Maintenance, Q1", "amount": 1200.0},
                {"description": "Call-out fee", "amount": 360.0},
            ],
            "flagged": False,
            "notes": None,
        },
    )


KIND = ArtifactKind(
    name="json",
    label="JSON",
    icon="braces",
    description="Any JSON value as a collapsible tree.",
    view_state=JsonView,
    render=render,
    sample=sample,
)
