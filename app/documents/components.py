"""The documents panel: drop or pick files (upload starts at once), progress, live statuses."""

from __future__ import annotations

import reflex as rx

from app.documents.reader import DocumentReaderState
from app.documents.state import UPLOAD_ID, DocumentsState

STATUS = {
    "processing": ("blue", "processing"),
    "ocr_complete": ("cyan", "ocr_complete"),
    "completed": ("green", "completed"),
    "failed": ("red", "failed"),
}
ACCEPT = {
    "application/pdf": [".pdf"],
    "image/*": [".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"],
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": [".docx"],
    "text/plain": [".txt", ".md"],
    "text/csv": [".csv"],
}


def status_badge(status: rx.Var) -> rx.Component:
    return rx.badge(
        rx.cond(status == "processing", rx.spinner(size="1")),
        rx.match(status, *[(k, label) for k, (_, label) in STATUS.items()], status),
        color_scheme=rx.match(status, *[(k, color) for k, (color, _) in STATUS.items()], "gray"),
        variant="soft",
        radius="full",
        size="1",
    )


def _rejection_text(item: rx.Var) -> rx.Var:
    """``name: why`` for a file react-dropzone refused, computed in the browser."""
    item = item.to(dict)
    codes = item["errors"].to(list).map(lambda error: error.to(dict)["code"]).join(",").to(str)
    why = rx.cond(codes.contains("too-large"), "too large", "not a supported type")
    return item["file"].to(dict)["name"].to(str) + ": " + why.to(str)


def dropzone() -> rx.Component:
    return rx.upload.root(
        rx.vstack(
            rx.icon("cloud-upload", size=22, color=rx.color("accent", 9)),
            rx.text(
                "Drop files here or ",
                rx.text("browse", as_="span", color=rx.color("accent", 11), weight="medium"),
                size="2",
            ),
            rx.text("PDF, images, DOCX, text", size="1", color_scheme="gray"),
            align="center",
            spacing="1",
        ),
        id=UPLOAD_ID,
        multiple=True,
        accept=ACCEPT,
        on_drop=DocumentsState.upload(
            rx.upload_files_chunk(
                upload_id=UPLOAD_ID, on_upload_progress=DocumentsState.receive_progress
            )
        ),
        on_drop_rejected=lambda rejected: DocumentsState.rejected(
            rejected.to(list).map(_rejection_text)  # names and reasons, read in the browser
        ),
        class_name="sd-dropzone",
        drag_active_style={
            "border_color": rx.color("accent", 9),
            "background": rx.color("accent", 3),
        },
    )


def _upload_row(upload: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("file-up", size=14, color=rx.color("gray", 10)),
            rx.text(
                upload["filename"], size="2", class_name="sd-ellipsis", max_width="100%", flex="1"
            ),
            rx.match(
                upload["stage"],
                ("receiving", rx.text("uploading", size="1", color_scheme="gray")),
                (
                    "sending",
                    rx.text(upload["percent"].to_string() + "%", size="1", color_scheme="gray"),
                ),
                ("stored", rx.text("stored", size="1", color_scheme="green")),
                (
                    "failed",
                    rx.icon_button(
                        rx.icon("x", size=12),
                        size="1",
                        variant="ghost",
                        color_scheme="gray",
                        aria_label="Dismiss",
                        on_click=DocumentsState.dismiss_upload(upload["id"]),
                    ),
                ),
                rx.fragment(),
            ),
            width="100%",
            align="center",
            spacing="2",
        ),
        rx.cond(
            upload["stage"] == "failed",
            rx.text(upload["error"], size="1", color_scheme="red"),
            rx.progress(
                value=rx.cond(
                    upload["stage"] == "receiving",
                    DocumentsState.receive_percent,
                    upload["percent"],
                ),
                max=100,
                size="1",
                aria_label="Upload progress",
            ),
        ),
        spacing="1",
        width="100%",
        class_name="sd-doc-row",
    )


def _document_row(doc: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon(doc["icon"], size=15, color=rx.color("gray", 10), flex_shrink="0"),
            rx.el.button(
                doc["filename"],
                on_click=DocumentReaderState.open_document(doc["id"]),
                class_name="sd-doc-name",
                title="Read " + doc["filename"],
            ),
            status_badge(doc["status"]),
            width="100%",
            align="center",
            spacing="2",
        ),
        rx.cond(
            doc["status"] == "failed",
            rx.text(doc["error"], size="1", color_scheme="red", padding_left="23px"),
            rx.cond(
                doc["detail"] != "",
                rx.text(doc["detail"], size="1", color_scheme="gray", padding_left="23px"),
            ),
        ),
        spacing="0",
        width="100%",
        class_name="sd-doc-row",
        data_document=doc["filename"],
        data_document_id=doc["id"],
    )


def documents_panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("Documents", class_name="sd-section-title"),
            rx.badge(
                DocumentsState.documents.length().to_string(),
                variant="soft",
                color_scheme="gray",
                radius="full",
                size="1",
            ),
            rx.spacer(),
            rx.cond(
                DocumentsState.processing_count > 0,
                rx.text(
                    DocumentsState.processing_count.to_string() + " processing",
                    size="1",
                    color_scheme="blue",
                ),
            ),
            width="100%",
            align="center",
            spacing="2",
        ),
        dropzone(),
        rx.cond(
            DocumentsState.problem != "",
            rx.hstack(
                rx.icon(
                    "circle-alert",
                    size=14,
                    color=rx.color("red", 10),
                    flex_shrink="0",
                    margin_top="2px",
                ),
                rx.text(
                    DocumentsState.problem,
                    size="1",
                    color_scheme="red",
                    flex="1",
                    style={"overflow_wrap": "anywhere"},
                ),
                rx.icon_button(
                    rx.icon("x", size=12),
                    size="1",
                    variant="ghost",
                    color_scheme="gray",
                    aria_label="Dismiss",
                    on_click=DocumentsState.dismiss_problem,
                ),
                class_name="sd-problem",
                align="start",
                spacing="2",
                width="100%",
            ),
        ),
        rx.foreach(DocumentsState.uploads, _upload_row),
        rx.cond(
            DocumentsState.documents.length() > 0,
            rx.vstack(
                rx.foreach(DocumentsState.documents, _document_row), spacing="0", width="100%"
            ),
            rx.cond(
                DocumentsState.uploads.length() == 0,
                rx.text(
                    "No documents yet. Upload invoices, contracts or reports to start.",
                    size="1",
                    color_scheme="gray",
                ),
            ),
        ),
        spacing="2",
        width="100%",
        aria_label="Documents",
        role="group",
    )
