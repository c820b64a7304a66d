"""The signed-in workspace: header, then sidebar | mission chat | canvas, resizable."""

from __future__ import annotations

import reflex as rx

from app.canvas.views import canvas_pane
from app.chat.components import chat_pane
from app.chrome import brand, theme_toggle
from app.documents.reader import reader_dialog
from app.sidebar import sidebar
from app.split import Panel, PanelGroup, resize_handle
from app.state import SessionState
from app.workspace import WorkspaceState

SPRITE_STATUS = {
    "ready": ("green", "circle-check", "Workspace ready"),
    "waking": ("amber", "loader", "Waking up"),
    "asleep": ("gray", "moon", "Asleep"),
    "error": ("red", "circle-alert", "Workspace error"),
}


def sprite_badge() -> rx.Component:
    status = WorkspaceState.sprite_status
    connection = WorkspaceState.connection
    badge = rx.cond(
        (connection == "online") & (status != ""),
        rx.badge(
            rx.match(
                status,
                ("waking", rx.spinner(size="1")),
                *[
                    (k, rx.icon(icon, size=12))
                    for k, (_, icon, _) in SPRITE_STATUS.items()
                    if k != "waking"
                ],
                rx.icon("circle", size=12),
            ),
            rx.match(status, *[(k, label) for k, (_, _, label) in SPRITE_STATUS.items()], status),
            color_scheme=rx.match(
                status, *[(k, c) for k, (c, _, _) in SPRITE_STATUS.items()], "gray"
            ),
            variant="soft",
            radius="full",
            size="2",
            data_sprite_status=status,
        ),
        rx.badge(
            rx.cond(connection == "offline", rx.icon("plug-zap", size=12), rx.spinner(size="1")),
            rx.match(
                connection,
                ("connecting", "Connecting"),
                ("reconnecting", "Reconnecting"),
                "Offline",
            ),
            color_scheme="gray",
            variant="soft",
            radius="full",
            size="2",
            data_sprite_status="",
        ),
    )
    return rx.tooltip(
        rx.box(badge),
        content=rx.cond(
            WorkspaceState.problem != "",
            WorkspaceState.problem,
            rx.cond(
                WorkspaceState.sprite_detail != "",
                WorkspaceState.sprite_detail,
                "Your Sprite: a private workspace with your documents and agents",
            ),
        ),
    )


def user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.avatar(fallback=SessionState.initials, size="1", radius="full"),
                rx.text(SessionState.user, size="2", weight="medium"),
                rx.icon("chevron-down", size=14),
                variant="ghost",
                color_scheme="gray",
                aria_label="Account menu",
            ),
        ),
        rx.menu.content(
            rx.box(
                rx.text(
                    rx.cond(
                        SessionState.email != "",
                        SessionState.email,
                        "Signed in as " + SessionState.user,
                    ),
                    size="1",
                    color_scheme="gray",
                ),
                padding="4px 8px",
            ),
            rx.menu.item(
                rx.icon("shapes", size=14), "Artifact gallery", on_click=rx.redirect("/gallery")
            ),
            rx.menu.separator(),
            rx.menu.item(
                rx.icon("log-out", size=14), "Sign out", color="red", on_click=SessionState.sign_out
            ),
        ),
    )


def header() -> rx.Component:
    return rx.hstack(
        brand(),
        rx.spacer(),
        sprite_badge(),
        theme_toggle(),
        rx.separator(orientation="vertical", size="1"),
        user_menu(),
        class_name="sd-header",
        align="center",
        spacing="3",
        role="banner",
    )


def workspace_shell() -> rx.Component:
    return rx.box(
        header(),
        rx.box(
            PanelGroup.create(
                Panel.create(
                    sidebar(),
                    default_size=22,
                    min_size=15,
                    max_size=40,
                    order=1,
                    id="sd-panel-side",
                ),
                resize_handle("Resize the sidebar"),
                Panel.create(
                    chat_pane(), default_size=33, min_size=22, order=2, id="sd-panel-chat"
                ),
                resize_handle("Resize the panes"),
                Panel.create(
                    canvas_pane(), default_size=45, min_size=25, order=3, id="sd-panel-canvas"
                ),
                direction="horizontal",
                auto_save_id="stackdocs-split",
                class_name="sd-panels",
            ),
            class_name="sd-main",
        ),
        reader_dialog(),
        class_name="sd-app",
    )
