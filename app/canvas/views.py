"""The canvas pane: artifact tabs, the open artifact drawn by its type, empty and loading states."""

from __future__ import annotations

import reflex as rx

from app.canvas import registry
from app.canvas.state import CanvasState, FallbackView


def fallback_view() -> rx.Component:
    return rx.vstack(
        rx.callout(
            rx.text(
                "No viewer for artifact type ",
                rx.code(FallbackView.artifact_type),
                " yet: its data is shown as text.",
            ),
            icon="info",
            color_scheme="gray",
            variant="surface",
            width="100%",
        ),
        rx.el.pre(FallbackView.preview, class_name="sd-pre"),
        spacing="3",
        width="100%",
    )


def _tab(tab: rx.Var) -> rx.Component:
    return rx.tabs.trigger(
        rx.hstack(
            rx.icon(tab["icon"], size=14),
            rx.text(tab["title"], as_="span", class_name="sd-tab-title"),
            spacing="2",
            align="center",
        ),
        value=tab["id"],
        title=tab["title"],
    )


def _tabs() -> rx.Component:
    return rx.tabs.root(
        rx.tabs.list(rx.foreach(CanvasState.tabs, _tab), size="2", class_name="sd-tabs"),
        value=CanvasState.active_id,
        on_change=CanvasState.select,
        width="100%",
    )


def _active_view() -> rx.Component:
    cases = [
        (kind.name, kind.render(registry.view(kind.name, "canvas"))) for kind in registry.kinds()
    ]
    return rx.match(CanvasState.active_type, *cases, fallback_view())


def _loading(label: str) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.spinner(size="3"),
            rx.text(label, size="2", color_scheme="gray"),
            align="center",
            spacing="3",
        ),
        flex="1",
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.box(
                rx.icon("layout-dashboard", size=28, color=rx.color("accent", 9)),
                class_name="sd-empty-icon",
            ),
            rx.text("Nothing on the canvas yet", weight="medium", size="3"),
            rx.text(
                "Tables, notes, charts and terminal output published by your missions "
                "appear here as tabs.",
                size="2",
                color_scheme="gray",
                align="center",
                max_width="340px",
            ),
            rx.link("See every artifact type in the gallery", href="/gallery", size="2"),
            align="center",
            spacing="3",
        ),
        flex="1",
        width="100%",
    )


def canvas_pane() -> rx.Component:
    body = rx.cond(
        ~CanvasState.synced,
        _loading("Loading your canvas…"),
        rx.cond(
            CanvasState.has_artifacts,
            rx.vstack(
                _tabs(),
                rx.cond(
                    CanvasState.loading,
                    _loading("Fetching the full artifact…"),
                    rx.box(_active_view(), class_name="sd-artifact", key=CanvasState.active_id),
                ),
                spacing="0",
                width="100%",
                flex="1",
                min_height="0",
            ),
            _empty(),
        ),
    )
    return rx.el.section(
        rx.hstack(
            rx.icon("layout-dashboard", size=16, color=rx.color("gray", 10)),
            rx.heading("Canvas", size="3", as_="h2", trim="both"),
            rx.cond(
                CanvasState.has_artifacts,
                rx.badge(
                    CanvasState.tabs.length().to_string(),
                    variant="soft",
                    color_scheme="gray",
                    radius="full",
                ),
            ),
            rx.spacer(),
            rx.cond(
                CanvasState.active_title != "",
                rx.text(
                    CanvasState.active_title,
                    size="2",
                    color_scheme="gray",
                    trim="both",
                    class_name="sd-ellipsis",
                ),
            ),
            class_name="sd-pane-head",
            align="center",
            spacing="2",
        ),
        body,
        aria_label="Canvas",
        class_name="sd-pane sd-canvas",
    )
