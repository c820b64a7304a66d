"""Canvas pane: the artifacts published by missions."""

import reflex as rx


def empty_canvas() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("layout-dashboard", size=36, color=rx.color("gray", 8)),
            rx.text("The canvas is empty", weight="medium"),
            rx.text(
                "Tables, charts and notes your missions publish appear here.",
                size="2",
                color_scheme="gray",
            ),
            align="center",
            spacing="2",
        ),
        flex="1",
    )


def canvas_pane() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(rx.heading("Canvas", size="3"), width="100%"),
            empty_canvas(),
            height="100%",
            spacing="3",
            padding="16px",
        ),
        aria_label="Canvas",
        style={"height": "100%", "display": "flex", "flexDirection": "column"},
    )
