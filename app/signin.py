"""The local sign-in page (STACKDOCS_AUTH=local): type a name, get a workspace."""

from __future__ import annotations

import reflex as rx

from app.chrome import brand, theme_toggle
from app.clerk_signin import clerk_sign_in
from app.state import SessionState


def _local_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.label(
                "User",
                html_for="sd-signin-user",
                class_name="rt-Text rt-r-size-2 rt-r-weight-medium",
            ),
            rx.el.input(
                id="sd-signin-user",
                name="user",
                placeholder="e.g. alice",
                auto_focus=True,
                auto_complete="username",
                max_length=64,
                class_name="sd-field",
                style={"height": "40px", "font_size": "var(--font-size-3)"},
            ),
            rx.cond(
                SessionState.problem != "",
                rx.text(SessionState.problem, size="2", color_scheme="red"),
            ),
            rx.button(
                rx.cond(SessionState.signing_in, rx.spinner(size="2")),
                "Sign in",
                type="submit",
                size="3",
                width="100%",
                disabled=SessionState.signing_in,
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=SessionState.sign_in,
        width="100%",
    )


def sign_in_card() -> rx.Component:
    return rx.box(
        rx.hstack(rx.spacer(), theme_toggle(), padding="12px 16px", width="100%"),
        rx.center(
            rx.card(
                rx.vstack(
                    brand(size="6"),
                    rx.vstack(
                        rx.heading("Sign in to your workspace", size="4", weight="medium"),
                        rx.text(
                            "Your documents, tables and agents live in a private workspace.",
                            size="2",
                            color_scheme="gray",
                        ),
                        spacing="1",
                    ),
                    rx.cond(
                        SessionState.local_auth,
                        _local_form(),
                        clerk_sign_in(),
                    ),
                    rx.cond(
                        SessionState.local_auth,
                        rx.text(
                            "Local mode: any name creates that user's workspace on first use.",
                            size="1",
                            color_scheme="gray",
                        ),
                    ),
                    spacing="5",
                    width="100%",
                ),
                size="4",
                width="100%",
                max_width="420px",
            ),
            flex="1",
            padding="16px",
        ),
        class_name="sd-app",
    )


def splash() -> rx.Component:
    return rx.center(
        rx.vstack(brand(size="5"), rx.spinner(size="3"), align="center", spacing="4"),
        height="100vh",
        background=rx.color("gray", 2),
    )
