"""The ``terminal`` artifact: a shell command and its output, ANSI colours kept, auto-scrolled."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.canvas import ansi
from app.canvas.base import ArtifactDataError, ArtifactKind, ArtifactView, Sample, with_problem

MAX_LINES = 1_000  # on screen; the whole output stays in the workspace's log file
MAX_PARSED_CHARS = 256 * 1024  # only the tail of a huge output is parsed


def parse_terminal(data: Any) -> dict[str, Any]:
    """``{"command", "output", "exit_code": int | null, "running": bool}``; a bare string is
    taken as the output."""
    if isinstance(data, str):
        data = {"output": data}
    if not isinstance(data, dict):
        raise ArtifactDataError("terminal: data must be {'command', 'output', 'exit_code'}")
    output = data.get("output", "")
    if not isinstance(output, str):
        raise ArtifactDataError("terminal: 'output' must be a string")
    exit_code = data.get("exit_code")
    if exit_code is not None and not isinstance(exit_code, int):
        raise ArtifactDataError("terminal: 'exit_code' must be an integer or null")
    running = bool(data.get("running", False)) and exit_code is None
    return {
        "command": str(data.get("command") or ""),
        "output": output,
        "exit_code": exit_code,
        "running": running,
        "status": str(data.get("status") or ("running" if running else "")),
        "log_path": str(data.get("log_path") or ""),
        "truncated": bool(data.get("truncated")),
    }


def styled_lines(output: str, limit: int = MAX_LINES) -> tuple[list[list[dict[str, str]]], int]:
    """Display runs per line (``{t, c, fg, bg}``) for the last ``limit`` lines, and how many
    earlier lines were dropped."""
    cut = 0
    if len(output) > MAX_PARSED_CHARS:
        head, output = output[:-MAX_PARSED_CHARS], output[-MAX_PARSED_CHARS:]
        cut = head.count("\n")
    lines = ansi.parse(output)
    dropped = max(0, len(lines) - limit)
    out = []
    for line in lines[dropped:]:
        runs = []
        for text, style in line:
            fg, bg = style.css_color()
            runs.append({"t": text, "c": style.css_classes(), "fg": fg, "bg": bg})
        out.append(runs)
    return out, dropped + cut


class TerminalView(ArtifactView, mixin=True):
    command: str = ""
    lines: list[list[dict[str, str]]] = []
    dropped_lines: int = 0
    earlier_note: str = ""  # what is not shown, and where the whole output is
    exit_code: str = ""  # "" while running or unknown
    running: bool = False
    status: str = ""  # running | exited | timeout | cancelled | interrupted ("" if not given)

    @staticmethod
    def _prepare(data: Any) -> dict[str, Any]:
        parsed = parse_terminal(data)
        parsed["lines"], parsed["dropped"] = styled_lines(parsed["output"])
        return parsed

    def _show(self, prepared: dict[str, Any]) -> None:
        self.command = prepared["command"]
        self.running = prepared["running"]
        self.status = prepared["status"]
        self.exit_code = "" if prepared["exit_code"] is None else str(prepared["exit_code"])
        self.lines, self.dropped_lines = prepared["lines"], prepared["dropped"]
        hidden = self.dropped_lines > 0 or prepared["truncated"]
        where = f": the whole output is {prepared['log_path']}" if prepared["log_path"] else ""
        if self.dropped_lines > 0:
            self.earlier_note = f"… {self.dropped_lines:,} earlier lines not shown{where}"
        elif hidden:
            self.earlier_note = f"… earlier output not shown{where}"
        else:
            self.earlier_note = ""


def _run(run: Any) -> rx.Component:
    return rx.el.span(
        run["t"],
        class_name=run["c"],
        # 256/true colours arrive as custom properties, used only by the sd-xfg/sd-xbg classes.
        style={"--sd-fg": run["fg"], "--sd-bg": run["bg"]},
    )


def render(S: Any) -> rx.Component:
    status = rx.cond(
        S.running,
        rx.badge(rx.spinner(size="1"), "running", color_scheme="blue", variant="soft"),
        rx.cond(
            (S.status == "timeout") | (S.status == "cancelled") | (S.status == "interrupted"),
            rx.badge(S.status, color_scheme="amber", variant="soft"),
            rx.cond(
                S.exit_code == "",
                rx.fragment(),
                rx.badge(
                    "exit " + S.exit_code,
                    color_scheme=rx.cond(S.exit_code == "0", "green", "red"),
                    variant="soft",
                ),
            ),
        ),
    )
    screen = rx.auto_scroll(
        rx.cond(S.earlier_note != "", rx.el.div(S.earlier_note, class_name="sd-term-note")),
        rx.foreach(
            S.lines,
            lambda line: rx.el.div(rx.foreach(line, _run), class_name="sd-term-line"),
        ),
        rx.cond(
            (S.lines.length() == 0) & ~S.running,
            rx.el.div("(no output)", class_name="sd-term-note"),
        ),
        class_name="sd-terminal",
        role="log",
        aria_label="Terminal output",
    )
    return with_problem(
        S,
        rx.vstack(
            rx.hstack(
                rx.code("$ " + S.command, variant="ghost", class_name="sd-term-command"),
                rx.spacer(),
                status,
                align="center",
                width="100%",
            ),
            screen,
            spacing="2",
            width="100%",
            height="100%",
            min_height="0",
        ),
    )


def sample() -> Sample:
    output = (
        "total 3\n"
        "-rw-r--r-- 1 sprite sprite 48213 Mar  3 09:12 \x1b[1;34m01_invoice-1001.pdf\x1b[0m\n"
        "-rw-r--r-- 1 sprite sprite 51877 Mar  3 09:12 \x1b[1;34m02_invoice-1002.pdf\x1b[0m\n"
        "-rw-r--r-- 1 sprite sprite 12004 Mar  3 09:13 03_contract.docx\n"
        "\x1b[32m✓\x1b[0m 3 documents, \x1b[33m1 still in OCR\x1b[0m\n"
        "\x1b[2mdone in 0.02s\x1b[0m\n"
    )
    return Sample(
        "ls -l documents", {"command": "ls -l documents", "output": output, "exit_code": 0}
    )


KIND = ArtifactKind(
    name="terminal",
    label="Terminal",
    icon="square-terminal",
    description="A shell command and its output, with ANSI colours.",
    view_state=TerminalView,
    render=render,
    sample=sample,
)
