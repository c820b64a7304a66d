"""The canvas registry: which artifact types the canvas can draw, and their view states.

Adding a type = one module in ``app/canvas/`` with ``KIND = ArtifactKind(...)`` (see ``base.py``)
and one line in :data:`BUILTIN` below. The canvas tabs, the gallery and the fallback for unknown
types all read from here.
"""

from __future__ import annotations

import reflex as rx

from app.canvas import chart, json_tree, markdown, table, terminal
from app.canvas.base import ArtifactKind, ArtifactView

# Where a view can be on screen: each slot gets its own concrete state per type, so the gallery's
# samples never replace what the canvas shows.
SLOTS = ("canvas", "gallery")

_kinds: dict[str, ArtifactKind] = {}
_views: dict[tuple[str, str], type[ArtifactView]] = {}


def register(kind: ArtifactKind) -> ArtifactKind:
    """Make ``kind`` drawable. States are created here, at import, so the backend knows them."""
    if kind.name in _kinds:
        raise ValueError(f"artifact type {kind.name!r} is registered twice")
    _kinds[kind.name] = kind
    for slot in SLOTS:
        class_name = f"{_camel(kind.name)}{_camel(slot)}View"
        view_state = type(class_name, (kind.view_state, rx.State), {"__module__": __name__})
        # A module attribute, so the state manager can pickle instances by reference.
        globals()[class_name] = view_state
        _views[(kind.name, slot)] = view_state
    return kind


def kinds() -> list[ArtifactKind]:
    return list(_kinds.values())


def get(name: str) -> ArtifactKind | None:
    return _kinds.get(name)


def view(name: str, slot: str) -> type[ArtifactView]:
    """The concrete state showing artifacts of type ``name`` in ``slot``."""
    return _views[(name, slot)]


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("-", "_").split("_"))


BUILTIN = (
    register(table.KIND),
    register(markdown.KIND),
    register(json_tree.KIND),
    register(terminal.KIND),
    register(chart.KIND),
)
