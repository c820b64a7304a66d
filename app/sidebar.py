"""The workspace sidebar: documents, stacks, checkpoints."""

from __future__ import annotations

import reflex as rx

from app.checkpoints import CheckpointsState
from app.documents.components import documents_panel, status_badge
from app.documents.state import DocumentsState
from app.stacks import StacksState


def _section_head(title: str, *extra: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.text(title, class_name="sd-section-title"),
        rx.spacer(),
        *extra,
        width="100%",
        align="center",
        spacing="2",
    )


# ---------------------------------------------------------------------------- stacks


def _stack_dialog() -> rx.Component:
    S = StacksState
    choice = lambda doc: rx.el.label(  # noqa: E731
        rx.hstack(
            rx.checkbox(
                checked=S.chosen.contains(doc["id"]),
                on_change=lambda ticked: S.toggle_document(doc["id"], ticked),
            ),
            rx.text(
                doc["filename"], size="2", class_name="sd-ellipsis", max_width="100%", flex="1"
            ),
            status_badge(doc["status"]),
            align="center",
            spacing="2",
            width="100%",
        ),
        class_name="sd-doc-row",
        style={"cursor": "pointer", "display": "block"},
    )
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("plus", size=13), "New stack", size="1", variant="soft"),
        ),
        rx.dialog.content(
            rx.dialog.title("New stack"),
            rx.dialog.description(
                "A stack groups documents so the crew can extract the same fields from each "
                "into one table.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.vstack(
                    rx.el.label("Name", html_for="sd-stack-name", class_name="rt-Text rt-r-size-2"),
                    rx.el.input(
                        id="sd-stack-name",
                        name="name",
                        class_name="sd-field",
                        placeholder="e.g. Q3 supplier invoices",
                        auto_focus=True,
                    ),
                    rx.text("Documents", size="2", padding_top="8px"),
                    rx.cond(
                        DocumentsState.ready_documents.length() > 0,
                        rx.scroll_area(
                            rx.vstack(
                                rx.foreach(DocumentsState.ready_documents, choice),
                                spacing="0",
                                width="100%",
                            ),
                            max_height="260px",
                            type="auto",
                            scrollbars="vertical",
                        ),
                        rx.text("No document has finished OCR yet.", size="2", color_scheme="gray"),
                    ),
                    rx.cond(S.problem != "", rx.text(S.problem, size="2", color_scheme="red")),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Create stack", type="submit"),
                        justify="end",
                        width="100%",
                        spacing="2",
                        padding_top="8px",
                    ),
                    spacing="2",
                    width="100%",
                ),
                on_submit=S.create,
            ),
            max_width="480px",
        ),
        open=S.dialog_open,
        on_open_change=S.set_dialog_open,
    )


def _stack_table(table: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.icon("table-2", size=13, color=rx.color("gray", 10)),
        rx.el.button(
            table["name"],
            on_click=StacksState.open_table(table["id"]),
            class_name="sd-doc-name",
            title="Show this table on the canvas",
        ),
        rx.text(table["rows"], size="1", color_scheme="gray"),
        align="center",
        spacing="2",
        width="100%",
        padding_left="20px",
    )


def _stack(stack: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("layers", size=15, color=rx.color("accent", 9)),
            rx.text(
                stack["name"],
                size="2",
                weight="medium",
                class_name="sd-ellipsis",
                max_width="100%",
                flex="1",
            ),
            rx.text(stack["documents"], size="1", color_scheme="gray"),
            align="center",
            spacing="2",
            width="100%",
        ),
        rx.cond(
            stack["tables"].length() > 0,
            rx.foreach(stack["tables"], _stack_table),
            rx.text(
                "No table yet: ask the crew to extract one.",
                size="1",
                color_scheme="gray",
                padding_left="23px",
            ),
        ),
        spacing="1",
        width="100%",
        class_name="sd-doc-row",
    )


def stacks_panel() -> rx.Component:
    return rx.vstack(
        _section_head(
            "Stacks",
            rx.cond(StacksState.creating, rx.spinner(size="1")),
            _stack_dialog(),
        ),
        rx.cond(
            StacksState.stacks.length() > 0,
            rx.vstack(rx.foreach(StacksState.stacks, _stack), spacing="0", width="100%"),
            rx.text(
                "Group documents into a stack to extract one table from all of them.",
                size="1",
                color_scheme="gray",
            ),
        ),
        spacing="2",
        width="100%",
    )


# ---------------------------------------------------------------------------- checkpoints


def _restore_dialog() -> rx.Component:
    S = CheckpointsState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Restore this checkpoint?"),
            rx.alert_dialog.description(
                rx.text(
                    "Your workspace goes back to ",
                    rx.text(S.confirm_label, as_="span", weight="medium"),
                    ". Documents, tables and missions added since then are lost.",
                ),
                size="2",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button(
                        "Keep current state",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.cancel_restore,
                    )
                ),
                rx.alert_dialog.action(
                    rx.button("Restore", color_scheme="red", on_click=S.restore)
                ),
                spacing="3",
                justify="end",
                padding_top="12px",
            ),
            max_width="440px",
        ),
        open=S.confirm_id != "",
    )


def _checkpoint(item: rx.Var) -> rx.Component:
    label = rx.cond(item["comment"] != "", item["comment"], item["when"])
    return rx.hstack(
        rx.icon("history", size=14, color=rx.color("gray", 10)),
        rx.vstack(
            rx.text(label, size="2", class_name="sd-ellipsis", max_width="100%"),
            rx.cond(item["comment"] != "", rx.text(item["when"], size="1", color_scheme="gray")),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        rx.button(
            "Restore",
            size="1",
            variant="ghost",
            color_scheme="gray",
            on_click=CheckpointsState.ask_restore(item["id"], label),
            disabled=CheckpointsState.busy != "",
        ),
        align="center",
        spacing="2",
        width="100%",
        class_name="sd-doc-row",
    )


def checkpoints_panel() -> rx.Component:
    S = CheckpointsState
    return rx.vstack(
        _section_head("Checkpoints", rx.cond(S.busy != "", rx.spinner(size="1"))),
        rx.form(
            rx.hstack(
                rx.el.input(
                    name="comment",
                    placeholder="Note (optional)",
                    class_name="sd-field",
                    aria_label="Checkpoint note",
                    max_length=500,
                ),
                rx.button(
                    rx.icon("camera", size=13),
                    "Save",
                    size="2",
                    variant="soft",
                    type="submit",
                    disabled=S.busy != "",
                ),
                spacing="2",
                width="100%",
                align="center",
            ),
            on_submit=S.create,
            reset_on_submit=True,
            width="100%",
        ),
        rx.cond(
            S.items.length() > 0,
            rx.vstack(rx.foreach(S.items, _checkpoint), spacing="0", width="100%"),
            rx.text(
                rx.cond(
                    S.loaded,
                    "No checkpoints yet. Save one before a risky mission.",
                    "Loading checkpoints…",
                ),
                size="1",
                color_scheme="gray",
            ),
        ),
        _restore_dialog(),
        spacing="2",
        width="100%",
    )


def sidebar() -> rx.Component:
    return rx.box(
        rx.vstack(
            documents_panel(),
            rx.separator(size="4"),
            stacks_panel(),
            rx.separator(size="4"),
            checkpoints_panel(),
            spacing="4",
            padding="16px",
            width="100%",
        ),
        class_name="sd-scroll sd-pane sd-side",
        role="complementary",
        aria_label="Workspace",
    )
