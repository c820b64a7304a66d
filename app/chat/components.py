"""Mission chat pane: history and the composer."""

import reflex as rx


def empty_chat() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("message-square-text", size=32, color=rx.color("gray", 8)),
            rx.text("No missions yet", weight="medium"),
            rx.text(
                "Ask the crew to read, extract or analyse your documents, "
                "or run a shell command with !",
                size="2",
                color_scheme="gray",
                align="center",
                max_width="280px",
            ),
            align="center",
            spacing="2",
        ),
        flex="1",
    )


def composer() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.text_area(
                name="mission",
                placeholder="Give the crew a mission…",
                aria_label="Mission",
                rows="2",
                resize="none",
                flex="1",
            ),
            rx.button(rx.icon("send-horizontal", size=16), "Send", type="submit"),
            align="end",
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def chat_pane() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(rx.heading("Mission chat", size="3"), width="100%"),
            empty_chat(),
            composer(),
            height="100%",
            spacing="3",
            padding="16px",
        ),
        aria_label="Mission chat",
        style={"height": "100%", "display": "flex", "flexDirection": "column"},
    )
