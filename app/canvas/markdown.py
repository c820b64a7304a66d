"""The ``markdown`` artifact: a note, a memo or a report, rendered as GitHub-flavoured Markdown."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.canvas.base import ArtifactDataError, ArtifactKind, ArtifactView, Sample, with_problem

MAX_CHARS = 500_000


def parse_markdown(data: Any) -> str:
    """``{"text": "..."}`` (canonical) or a bare string."""
    if isinstance(data, dict):
        data = data.get("text", data.get("markdown"))
    if not isinstance(data, str):
        raise ArtifactDataError("markdown: data must be {'text': string} or a string")
    if len(data) > MAX_CHARS:
        return data[:MAX_CHARS] + "\n\n*… cut: the note is longer than 500,000 characters.*"
    return data


def safe_markdown(text: Any) -> rx.Component:
    """Markdown from agents and documents: no raw HTML (it could carry active content) and no
    TeX (``$1,250 … $300`` is money, not math)."""
    return rx.markdown(text, use_math=False, use_katex=False, use_raw=False)


class MarkdownView(ArtifactView, mixin=True):
    text: str = ""

    @staticmethod
    def _prepare(data: Any) -> str:
        return parse_markdown(data)

    def _show(self, prepared: str) -> None:
        self.text = prepared


def render(S: Any) -> rx.Component:
    return with_problem(
        S,
        rx.box(safe_markdown(S.text), class_name="sd-prose", width="100%", max_width="860px"),
    )


def sample() -> Sample:
    return Sample(
        "Due diligence summary",
        {
            "text": (
                "## Findings\n\n"
                "The five supplier contracts renew **automatically** unless notice is given "
                "90 days before term.\n\n"
                "| Supplier | Notice | Exposure |\n|---|---|---|\n"
                "| Acme Industrial | 90 days | EUR 48,200 |\n"
                "| Cobalt Legal LLP | 60 days | EUR 12,900 |\n\n"
                "### Next steps\n\n"
                "1. Confirm termination windows with legal.\n"
                "2. Flag `Cobalt Legal LLP` for renegotiation.\n\n"
                "> Sources are cited in the invoice register table."
            )
        },
    )


KIND = ArtifactKind(
    name="markdown",
    label="Note",
    icon="file-text",
    description="A Markdown note: headings, lists, tables, code.",
    view_state=MarkdownView,
    render=render,
    sample=sample,
)
