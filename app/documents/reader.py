"""The document reader: a document's OCR text page by page, with an optional highlighted span.

Opened from the documents panel (read a document) or from a cited table cell (jump to the page
and highlight the span). Page text comes from the Sprite (``document_request`` →
``document_content``) and is cached for the few most recent documents; the gallery seeds the
cache with its sample documents so citations work there without a Sprite.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from app import link

CACHED_DOCUMENTS = 6
SCROLL_TO_HIGHLIGHT = (
    "setTimeout(() => document.getElementById('sd-cited-span')"
    "?.scrollIntoView({block: 'center', behavior: 'smooth'}), 80)"
)


class DocumentReaderState(rx.State):
    open: bool = False
    loading: bool = False
    document_id: str = ""
    filename: str = ""
    status: str = ""
    engine: str = ""
    page: int = 1
    page_count: int = 0
    # The page's text in three parts so the cited span can be wrapped in <mark>.
    text_before: str = ""
    text_cited: str = ""
    text_after: str = ""
    problem: str = ""

    _documents: dict[str, dict[str, Any]] = {}  # id -> {filename, status, engine, pages: [str]}
    _highlight: dict[str, int] = {}  # {page, start, end} of the cited span, if any

    @rx.event
    async def open_document(self, document_id: str):
        self._highlight = {}
        return await self._open(document_id, page=1)

    async def _open_source(self, source: dict[str, Any]):
        """Show the cited span of ``source`` ({document_id, page, start, end})."""
        self._highlight = {
            "page": int(source.get("page") or 1),
            "start": int(source.get("start") or 0),
            "end": int(source.get("end") or 0),
        }
        return await self._open(str(source["document_id"]), page=self._highlight["page"])

    async def _open(self, document_id: str, page: int):
        self.open = True
        self.document_id = document_id
        self.page = page
        self.problem = ""
        cached = self._documents.get(document_id)
        if cached is not None:
            self._render()
            return rx.call_script(SCROLL_TO_HIGHLIGHT) if self._highlight else None
        self.loading = True
        self.filename = ""
        self._clear_text()
        sprite = link.get(self.router.session.client_token)
        if sprite is None:
            self.loading = False
            self.problem = "Not connected to your workspace: the document cannot be fetched."
            return None
        await sprite.send("document_request", {"document_id": document_id})
        return None

    def _receive(self, content: dict[str, Any]) -> bool:
        """A ``document_content`` arrived; returns True when it is the one being shown."""
        pages = sorted(content.get("pages") or [], key=lambda p: int(p.get("page") or 0))
        self._remember(
            str(content.get("document_id", "")),
            {
                "filename": str(content.get("filename", "")),
                "status": str(content.get("status", "")),
                "engine": str(content.get("engine") or ""),
                "pages": [str(p.get("text", "")) for p in pages],
            },
        )
        if self.open and self.document_id == content.get("document_id"):
            self.loading = False
            self._render()
            return bool(self._highlight)
        return False

    def _seed(self, documents: dict[str, dict[str, Any]]) -> None:
        for document_id, doc in documents.items():
            self._remember(
                document_id,
                {
                    "filename": doc.get("filename", document_id),
                    "status": "completed",
                    "engine": "sample",
                    "pages": list(doc.get("pages", [])),
                },
            )

    def _forget(self, document_id: str) -> None:
        """The document changed (e.g. OCR finished): fetch it afresh next time."""
        self._documents.pop(document_id, None)

    def _remember(self, document_id: str, doc: dict[str, Any]) -> None:
        documents = dict(self._documents)
        documents.pop(document_id, None)
        documents[document_id] = doc
        while len(documents) > CACHED_DOCUMENTS:
            documents.pop(next(iter(documents)))
        self._documents = documents

    def _clear_text(self) -> None:
        self.text_before = self.text_cited = self.text_after = ""

    def _render(self) -> None:
        doc = self._documents.get(self.document_id)
        if doc is None:
            return
        self.filename = doc["filename"]
        self.status = doc["status"]
        self.engine = doc["engine"]
        pages: list[str] = doc["pages"]
        self.page_count = len(pages)
        if not pages:
            self._clear_text()
            self.problem = (
                "No text yet: OCR is still running."
                if self.status == "processing"
                else "This document has no OCR text."
            )
            return
        self.page = min(max(self.page, 1), len(pages))
        text = pages[self.page - 1]
        mark = self._highlight
        if mark and mark.get("page") == self.page and mark["end"] > mark["start"]:
            start, end = min(mark["start"], len(text)), min(mark["end"], len(text))
            self.text_before, self.text_cited, self.text_after = (
                text[:start],
                text[start:end],
                text[end:],
            )
        else:
            self.text_before, self.text_cited, self.text_after = text, "", ""

    @rx.event
    def go_to_page(self, page: int):
        self.page = page
        self._render()
        if self._highlight and self._highlight.get("page") == self.page:
            return rx.call_script(SCROLL_TO_HIGHLIGHT)
        return None

    @rx.event
    def set_open(self, value: bool) -> None:
        self.open = value
        if not value:
            self._highlight = {}


def reader_dialog() -> rx.Component:
    S = DocumentReaderState
    page_text = rx.el.pre(
        S.text_before,
        rx.cond(
            S.text_cited != "", rx.el.mark(S.text_cited, id="sd-cited-span", class_name="sd-mark")
        ),
        S.text_after,
        class_name="sd-page-text",
    )
    body = rx.cond(
        S.loading,
        rx.center(
            rx.vstack(
                rx.spinner(size="3"),
                rx.text("Fetching the document…", size="2", color_scheme="gray"),
                align="center",
                spacing="3",
            ),
            height="240px",
        ),
        rx.cond(
            S.problem != "",
            rx.callout(S.problem, icon="info", color_scheme="gray", variant="surface"),
            page_text,
        ),
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.vstack(
                rx.hstack(
                    rx.icon("file-text", size=18, color=rx.color("accent", 9)),
                    rx.dialog.title(
                        rx.cond(S.filename != "", S.filename, "Document"),
                        size="4",
                        margin="0",
                        trim="both",
                    ),
                    rx.cond(
                        S.engine != "",
                        rx.badge("OCR: " + S.engine, color_scheme="gray", variant="soft"),
                    ),
                    rx.spacer(),
                    rx.dialog.close(
                        rx.icon_button(
                            rx.icon("x", size=16),
                            variant="ghost",
                            color_scheme="gray",
                            aria_label="Close document",
                        )
                    ),
                    align="center",
                    width="100%",
                    spacing="2",
                ),
                rx.dialog.description(
                    rx.cond(
                        S.text_cited != "",
                        "The highlighted text is the source of the value you clicked.",
                        "OCR text, page by page.",
                    ),
                    size="2",
                    color_scheme="gray",
                ),
                rx.scroll_area(body, type="auto", scrollbars="vertical", height="56vh"),
                rx.hstack(
                    rx.button(
                        rx.icon("chevron-left", size=14),
                        "Previous",
                        on_click=S.go_to_page(S.page - 1),
                        disabled=(S.page <= 1) | S.loading,
                        variant="soft",
                        color_scheme="gray",
                        size="2",
                    ),
                    rx.spacer(),
                    rx.text(
                        rx.cond(
                            S.page_count > 0,
                            "Page " + S.page.to_string() + " of " + S.page_count.to_string(),
                            "",
                        ),
                        size="2",
                        color_scheme="gray",
                    ),
                    rx.spacer(),
                    rx.button(
                        "Next",
                        rx.icon("chevron-right", size=14),
                        on_click=S.go_to_page(S.page + 1),
                        disabled=(S.page >= S.page_count) | S.loading,
                        variant="soft",
                        color_scheme="gray",
                        size="2",
                    ),
                    width="100%",
                    align="center",
                ),
                spacing="3",
                width="100%",
            ),
            max_width="760px",
            width="92vw",
        ),
        open=S.open,
        on_open_change=S.set_open,
    )
