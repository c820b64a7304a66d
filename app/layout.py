"""The signed-in shell: header, mission chat on the left, canvas on the right."""

import reflex as rx

from app.canvas.components import canvas_pane
from app.chat.components import chat_pane
from app.state import SessionState


def header() -> rx.Component:
    return rx.hstack(
        rx.hstack(
            rx.icon("layers", size=22, color=rx.color("accent", 9)),
            rx.heading("Stackdocs", size="5"),
            align="center",
            spacing="2",
        ),
        rx.spacer(),
        rx.color_mode.button(variant="ghost"),
        rx.menu.root(
            rx.menu.trigger(
                rx.button(
                    rx.avatar(fallback=SessionState.initials, size="1", radius="full"),
                    rx.text(SessionState.user),
                    variant="ghost",
                    aria_label="Account",
                ),
            ),
            rx.menu.content(rx.menu.item("Sign out", on_click=SessionState.sign_out)),
        ),
        align="center",
        padding_x="16px",
        height="56px",
        width="100%",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
    )


def workspace_shell() -> rx.Component:
    return rx.vstack(
        header(),
        rx.hstack(
            rx.box(
                chat_pane(),
                width="38%",
                min_width="320px",
                height="100%",
                border_right=f"1px solid {rx.color('gray', 5)}",
            ),
            rx.box(canvas_pane(), flex="1", height="100%", background=rx.color("gray", 2)),
            width="100%",
            flex="1",
            spacing="0",
            overflow="hidden",
        ),
        height="100vh",
        spacing="0",
    )
