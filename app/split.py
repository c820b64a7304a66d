"""Resizable panes: a thin wrapper of ``react-resizable-panels`` (npm), which Reflex lacks.

Sizes are percentages. With ``auto_save_id`` the library keeps the user's split in the
browser's localStorage — layout preference only, never workspace data.
"""

from __future__ import annotations

import reflex as rx

LIBRARY = "react-resizable-panels@3.0.6"


class PanelGroup(rx.Component):
    library = LIBRARY
    tag = "PanelGroup"

    direction: rx.Var[str]
    auto_save_id: rx.Var[str]


class Panel(rx.Component):
    library = LIBRARY
    tag = "Panel"

    default_size: rx.Var[float]
    min_size: rx.Var[float]
    max_size: rx.Var[float]
    collapsible: rx.Var[bool]
    order: rx.Var[int]


class PanelResizeHandle(rx.Component):
    library = LIBRARY
    tag = "PanelResizeHandle"


def resize_handle(label: str) -> rx.Component:
    # The library gives the handle role="separator" and keyboard resizing; we add the name.
    return PanelResizeHandle.create(class_name="sd-resize", aria_label=label)
