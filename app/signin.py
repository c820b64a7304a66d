"""The local sign-in form (STACKDOCS_AUTH=local): type a name, get a workspace."""

import reflex as rx

from app.state import SessionState


def sign_in_card() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("layers", size=28, color=rx.color("accent", 9)),
                    rx.heading("Stackdocs", size="7"),
                    align="center",
                    spacing="2",
                ),
                rx.text("Sign in to your workspace", color_scheme="gray", size="3"),
                rx.form(
                    rx.vstack(
                        rx.el.label(
                            "User",
                            html_for="signin-user",
                            class_name="rt-Text rt-r-size-2 rt-r-weight-medium",
                        ),
                        rx.input(
                            id="signin-user",
                            name="user",
                            placeholder="e.g. alice",
                            size="3",
                            width="100%",
                            auto_focus=True,
                            required=True,
                        ),
                        rx.button("Sign in", type="submit", size="3", width="100%"),
                        spacing="2",
                        width="100%",
                    ),
                    on_submit=SessionState.sign_in,
                    reset_on_submit=True,
                    width="100%",
                ),
                rx.text(
                    "Local mode: any name creates that user's workspace on first use.",
                    size="1",
                    color_scheme="gray",
                ),
                spacing="4",
                width="100%",
            ),
            size="4",
            width="100%",
            max_width="400px",
        ),
        height="100vh",
        padding="16px",
        background=rx.color("gray", 2),
    )
