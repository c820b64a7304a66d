"""Small pieces every page shares: the brand mark and the light/dark switch."""

from __future__ import annotations

import reflex as rx


def brand(size: str = "4") -> rx.Component:
    return rx.hstack(
        rx.box(rx.icon("layers", size=18, color="white"), class_name="sd-logo"),
        rx.heading("Stackdocs", size=size, weight="bold", trim="both"),
        align="center",
        spacing="2",
    )


def theme_toggle() -> rx.Component:
    return rx.tooltip(
        rx.icon_button(
            rx.color_mode_cond(light=rx.icon("moon", size=16), dark=rx.icon("sun", size=16)),
            on_click=rx.toggle_color_mode,
            variant="ghost",
            color_scheme="gray",
            size="2",
            aria_label="Switch light or dark theme",
        ),
        content="Light / dark",
    )
