"""What every artifact type provides, and the state mixin that holds one artifact on screen.

An artifact type is one module in ``app/canvas/`` exposing ``KIND = ArtifactKind(...)``:

- ``view_state``: a state *mixin* (``class MyView(ArtifactView, mixin=True)``): ``_prepare(data)``
  (pure, run in a worker thread) checks and converts the wire ``data``, raising
  :class:`ArtifactDataError` for data it cannot draw; ``_show(prepared)`` sets the display
  vars. The registry makes one concrete state per *slot* from it (the canvas pane, the
  gallery), so the same view can be on two pages with different contents.
- ``render(S)``: the component drawing a concrete view state ``S``.
- ``sample()``: title and data for the gallery.

Heavy data stays in backend-only vars (leading underscore): only what is on screen is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import reflex as rx


class ArtifactDataError(ValueError):
    """The ``data`` of an artifact does not have the shape its type expects (message for humans)."""


@dataclass(frozen=True)
class Sample:
    title: str
    data: Any
    # Source pages for citations in the sample: {document_id: {"filename", "pages": [text, ...]}}
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)


class ArtifactView(rx.State, mixin=True):
    """One artifact on screen. Subclasses implement :meth:`_show`."""

    artifact_id: str = ""
    title: str = ""
    # Why the data could not be drawn ("" when it could): the view shows this instead.
    problem: str = ""

    @staticmethod
    def _prepare(data: Any) -> Any:
        """Check and convert ``data`` (no state access: it runs in a worker thread)."""
        return data

    def _show(self, prepared: Any) -> None:
        raise NotImplementedError

    async def _load(self, artifact_id: str, title: str, data: Any) -> None:
        """Draw ``data``; bad data becomes a visible explanation, never an exception."""
        try:
            prepared = await asyncio.to_thread(self._prepare, data)
        except ArtifactDataError as exc:
            self._show_problem(artifact_id, title, str(exc))
            return
        self._show_prepared(artifact_id, title, prepared)

    def _show_prepared(self, artifact_id: str, title: str, prepared: Any) -> None:
        self.artifact_id = artifact_id
        self.title = title
        self.problem = ""
        self._show(prepared)

    def _show_problem(self, artifact_id: str, title: str, problem: str) -> None:
        self.artifact_id = artifact_id
        self.title = title
        self.problem = problem


@dataclass(frozen=True)
class ArtifactKind:
    name: str  # the ``artifact_type`` on the wire, and the gallery heading
    label: str  # shown in tabs and menus
    icon: str  # a lucide icon name
    description: str  # one line for the gallery: what data it takes
    view_state: type[ArtifactView]
    render: Callable[[Any], rx.Component]
    sample: Callable[[], Sample]


def problem_callout(view: Any) -> rx.Component:
    """What a view shows when its data could not be drawn."""
    return rx.callout(
        view.problem,
        icon="triangle-alert",
        color_scheme="amber",
        variant="surface",
        width="100%",
    )


def with_problem(view: Any, body: rx.Component) -> rx.Component:
    return rx.cond(view.problem != "", problem_callout(view), body)
