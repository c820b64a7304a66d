"""The mission chat pane: mission threads, streaming answers, steps, the composer.

The composer is an uncontrolled textarea inside a form: typing never talks to the server
(no per-keystroke round trip); Enter submits the form, Shift+Enter adds a newline.
"""

from __future__ import annotations

import reflex as rx

from app.canvas.markdown import safe_markdown
from app.canvas.state import CanvasState
from app.chat.state import ChatState

STATUS_COLOR = {
    "pending": "gray",
    "running": "blue",
    "completed": "green",
    "failed": "red",
    "cancelled": "amber",
    "interrupted": "amber",
}


def _status_badge(status: rx.Var) -> rx.Component:
    return rx.badge(
        rx.cond(
            (status == "running") | (status == "pending"),
            rx.spinner(size="1"),
        ),
        rx.match(status, ("pending", "sending"), status),
        color_scheme=rx.match(status, *STATUS_COLOR.items(), "gray"),
        variant="soft",
        radius="full",
        size="1",
    )


def _block(block: rx.Var, streaming: rx.Var) -> rx.Component:
    return rx.match(
        block["kind"],
        (
            "text",
            rx.box(
                safe_markdown(block["text"]),
                class_name=rx.cond(streaming, "sd-agent sd-cursor", "sd-agent"),
            ),
        ),
        (
            "tool",
            rx.hstack(
                rx.icon("wrench", size=12, color=rx.color("gray", 9), flex_shrink="0"),
                rx.cond(
                    block["artifact"] != "",
                    rx.el.button(
                        block["text"],
                        on_click=CanvasState.select(block["artifact"]),
                        class_name="sd-step sd-step-link",
                        title="Show the result on the canvas",
                    ),
                    rx.text(block["text"], class_name="sd-step"),
                ),
                spacing="2",
                align="center",
                class_name="sd-steps",
            ),
        ),
        ("user", rx.box(block["text"], class_name="sd-bubble-user")),
        (
            "error",
            rx.callout(
                block["text"],
                icon="circle-alert",
                color_scheme="red",
                size="1",
                variant="surface",
                width="100%",
            ),
        ),
        (
            "done",
            rx.hstack(
                rx.icon("circle-check", size=13, color=rx.color("green", 9)),
                rx.text(block["text"], size="1", color_scheme="gray"),
                spacing="2",
                align="center",
            ),
        ),
        rx.fragment(),
    )


def _mission(mission: rx.Var, live: bool) -> rx.Component:
    blocks = mission["blocks"]
    is_running = (mission["status"] == "running") | (mission["status"] == "pending")
    last = blocks.length() - 1
    return rx.vstack(
        rx.cond(
            mission["follow_up"],
            rx.hstack(
                rx.icon("corner-down-right", size=12),
                rx.text("Follow-up", size="1"),
                spacing="1",
                align="center",
                color=rx.color("gray", 10),
                align_self="flex-end",
            ),
        ),
        rx.box(
            rx.cond(
                mission["command"],
                rx.code(mission["text"], variant="ghost", weight="medium"),
                rx.text(mission["text"]),
            ),
            class_name="sd-bubble-user",
        ),
        rx.foreach(
            blocks,
            lambda block, i: _block(block, (i == last) & is_running if live else False),
        ),
        rx.hstack(
            # A completed mission says so in its "Done" line; other states get a badge.
            rx.cond(mission["status"] != "completed", _status_badge(mission["status"])),
            rx.text(mission["started"], size="1", color_scheme="gray"),
            rx.spacer(),
            rx.cond(
                is_running,
                rx.button(
                    rx.icon("square", size=11),
                    "Stop",
                    on_click=ChatState.cancel(mission["id"]),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                ),
                rx.cond(
                    ~mission["command"],
                    rx.button(
                        rx.icon("reply", size=12),
                        "Follow up",
                        on_click=ChatState.follow_up(mission["id"], mission["text"]),
                        size="1",
                        variant="ghost",
                        color_scheme="gray",
                    ),
                ),
            ),
            width="100%",
            align="center",
            spacing="2",
        ),
        spacing="2",
        width="100%",
        align="start",
        class_name="sd-mission",
    )


def _empty() -> rx.Component:
    examples = [
        "Extract vendor, date and total from every invoice into a table",
        "Summarise the termination clauses in the contracts",
        "!ls -l documents",
    ]
    return rx.center(
        rx.vstack(
            rx.box(
                rx.icon("sparkles", size=26, color=rx.color("accent", 9)),
                class_name="sd-empty-icon",
            ),
            rx.text("Give your crew a mission", weight="medium", size="3"),
            rx.text(
                "Ask it to read, extract or analyse your documents. Start with ! to run a "
                "shell command in your workspace.",
                size="2",
                color_scheme="gray",
                align="center",
                max_width="320px",
            ),
            rx.vstack(
                *[
                    rx.el.button(
                        rx.code(example, variant="soft", color_scheme="gray", size="1"),
                        on_click=[
                            rx.set_value("sd-mission-input", example),
                            rx.set_focus("sd-mission-input"),
                        ],
                        class_name="sd-example",
                        title="Use this example",
                    )
                    for example in examples
                ],
                spacing="2",
                align="center",
                padding_top="4px",
            ),
            align="center",
            spacing="3",
        ),
        flex="1",
        padding="24px",
    )


def _log() -> rx.Component:
    return rx.auto_scroll(
        rx.vstack(
            rx.foreach(ChatState.history, lambda m: _mission(m, live=False)),
            rx.foreach(ChatState.live, lambda m: _mission(m, live=True)),
            rx.box(id="sd-chat-end"),
            spacing="5",
            width="100%",
        ),
        class_name="sd-chat-log",
    )


def composer() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.cond(
                ChatState.reply_to != "",
                rx.hstack(
                    rx.icon("reply", size=12),
                    rx.text(
                        "Follow-up to: ",
                        ChatState.reply_to_text,
                        size="1",
                        class_name="sd-ellipsis",
                        max_width="100%",
                    ),
                    rx.spacer(),
                    rx.icon_button(
                        rx.icon("x", size=12),
                        on_click=ChatState.clear_reply,
                        size="1",
                        variant="ghost",
                        color_scheme="gray",
                        aria_label="Cancel follow-up",
                        type="button",
                    ),
                    width="100%",
                    align="center",
                    spacing="1",
                    color=rx.color("gray", 11),
                ),
            ),
            rx.el.textarea(
                name="mission",
                id="sd-mission-input",
                aria_label="Mission",
                placeholder="Give the crew a mission…",
                rows="2",
                enter_key_submit=True,
                auto_height=True,
            ),
            rx.hstack(
                rx.text(
                    "Enter to send · Shift+Enter for a new line · ! runs a shell command",
                    size="1",
                    color_scheme="gray",
                ),
                rx.spacer(),
                rx.button(rx.icon("arrow-up", size=14), "Send", type="submit", size="2"),
                width="100%",
                align="center",
            ),
            spacing="2",
            width="100%",
            class_name="sd-composer",
        ),
        on_submit=ChatState.send,
        reset_on_submit=True,
        width="100%",
    )


def chat_pane() -> rx.Component:
    # The region is named by `title`, not aria-label, so that the only element whose label
    # contains "Mission" is the composer (Playwright's get_by_label matches substrings).
    return rx.el.section(
        rx.box(
            rx.hstack(
                rx.icon("messages-square", size=16, color=rx.color("gray", 10)),
                rx.heading("Mission chat", size="3", as_="h2", trim="both"),
                rx.spacer(),
                rx.cond(
                    ChatState.running,
                    rx.badge("working", color_scheme="blue", variant="soft", radius="full"),
                ),
                class_name="sd-pane-head",
                align="center",
                spacing="2",
            ),
            rx.cond(ChatState.empty, _empty(), _log()),
            rx.box(
                rx.cond(
                    ChatState.problem != "",
                    rx.callout(
                        ChatState.problem,
                        icon="circle-alert",
                        color_scheme="amber",
                        size="1",
                        variant="surface",
                        margin_bottom="8px",
                    ),
                ),
                composer(),
                padding="12px 16px 16px",
                width="100%",
                box_sizing="border-box",
            ),
            title="",  # keeps the region's title from showing as a tooltip everywhere inside
            class_name="sd-pane",
        ),
        role="region",
        title="Mission chat",
        class_name="sd-pane",
    )
