"""``/gallery``: every registered artifact type drawn with its sample data.

A developer adding a type sees it here at once; nothing in this file changes when they do.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from app.canvas import registry
from app.canvas.base import ArtifactKind, Sample
from app.canvas.state import FallbackView
from app.canvas.views import fallback_view
from app.chrome import brand, theme_toggle
from app.documents.reader import DocumentReaderState, reader_dialog

VIEW_HEIGHT = {"table": "560px", "chart": "440px", "terminal": "300px"}


_prepared: dict[str, tuple[Sample, Any]] = {}  # kind -> its sample, checked and converted


async def prepared_sample(kind: ArtifactKind) -> tuple[Sample, Any]:
    """Samples never change: prepare each once per process, not once per visit."""
    if kind.name not in _prepared:
        sample = kind.sample()
        _prepared[kind.name] = (
            sample,
            await asyncio.to_thread(kind.view_state._prepare, sample.data),
        )
    return _prepared[kind.name]


class GalleryState(rx.State):
    loaded: bool = False
    only: str = ""  # ?type=table shows that type alone

    @rx.event
    async def load_samples(self) -> None:
        wanted = str(self.router.url.query_parameters.get("type", ""))
        self.only = wanted if registry.get(wanted) else ""
        reader = await self.get_state(DocumentReaderState)
        for kind in registry.kinds():
            if self.only and kind.name != self.only:
                continue
            sample, prepared = await prepared_sample(kind)
            reader._seed(sample.documents)
            view = await self.get_state(registry.view(kind.name, "gallery"))
            view._show_prepared(f"sample-{kind.name}", sample.title, prepared)
        fallback = await self.get_state(FallbackView)
        await fallback._load(
            "timeline", {"events": [{"at": "2025-03-01", "what": "Contract signed"}]}
        )
        self.loaded = True


def _card(kind: ArtifactKind) -> rx.Component:
    view = registry.view(kind.name, "gallery")
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(kind.icon, size=18, color=rx.color("accent", 9)),
                rx.heading(kind.name, as_="h2", size="4", trim="both"),
                rx.badge(kind.label, variant="soft", color_scheme="gray"),
                rx.spacer(),
                rx.text(view.title, size="2", color_scheme="gray"),
                align="center",
                spacing="2",
                width="100%",
            ),
            rx.text(kind.description, size="2", color_scheme="gray"),
            rx.separator(size="4"),
            rx.box(
                kind.render(view),
                height=VIEW_HEIGHT.get(kind.name, "auto"),
                width="100%",
                display="flex",
                flex_direction="column",
                min_height="0",
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
        id=f"gallery-{kind.name}",
    )


def _fallback_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("file-question", size=18, color=rx.color("gray", 9)),
                rx.heading("unregistered type (fallback)", as_="h2", size="4", trim="both"),
                align="center",
                spacing="2",
            ),
            rx.text(
                "What the canvas shows for an artifact type no module draws.",
                size="2",
                color_scheme="gray",
            ),
            rx.separator(size="4"),
            fallback_view(),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def _type_filter() -> rx.Component:
    def chip(label: str, value: str) -> rx.Component:
        href = "/gallery" if not value else f"/gallery?type={value}"
        return rx.link(
            rx.badge(
                label,
                variant=rx.cond(GalleryState.only == value, "solid", "soft"),
                color_scheme=rx.cond(GalleryState.only == value, "indigo", "gray"),
                size="2",
                radius="full",
            ),
            href=href,
            underline="none",
        )

    return rx.hstack(
        chip("All types", ""),
        *[chip(kind.name, kind.name) for kind in registry.kinds()],
        spacing="2",
        wrap="wrap",
        aria_label="Show one type",
        role="navigation",
    )


def gallery_page() -> rx.Component:
    return rx.box(
        rx.hstack(
            brand(),
            rx.badge("Component gallery", variant="soft", size="2"),
            rx.spacer(),
            rx.link(
                rx.button(
                    rx.icon("arrow-left", size=14),
                    "Back to workspace",
                    variant="soft",
                    color_scheme="gray",
                    size="2",
                ),
                href="/",
            ),
            theme_toggle(),
            class_name="sd-header",
            align="center",
            spacing="3",
        ),
        rx.container(
            rx.vstack(
                rx.vstack(
                    rx.heading("Artifact types", size="7", as_="h1"),
                    rx.text(
                        "One sample of every type the canvas can draw. Adding a type is one "
                        "module in app/canvas/ and one line in app/canvas/registry.py.",
                        size="3",
                        color_scheme="gray",
                    ),
                    spacing="2",
                ),
                _type_filter(),
                rx.cond(
                    GalleryState.loaded,
                    rx.vstack(
                        *[
                            rx.cond(
                                (GalleryState.only == "") | (GalleryState.only == kind.name),
                                _card(kind),
                            )
                            for kind in registry.kinds()
                        ],
                        rx.cond(GalleryState.only == "", _fallback_card()),
                        spacing="5",
                        width="100%",
                    ),
                    rx.center(rx.spinner(size="3"), padding="64px", width="100%"),
                ),
                spacing="6",
                padding_y="32px",
                width="100%",
            ),
            size="4",
        ),
        reader_dialog(),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
