"""A local stand-in for Mistral's OCR API (``POST /v1/ocr``), for tests of the mistral engine.

It speaks the documented request and response: the request is ``{"model", "document":
{"type": "document_url", "document_url": "data:application/pdf;base64,…"} | {"type":
"image_url", "image_url": "data:image/png;base64,…"}, …}`` with ``Authorization: Bearer <key>``;
the response is ``{"pages": [{"index", "markdown", "images", "dimensions": {"dpi", "height",
"width"}}], "model", "usage_info": {"pages_processed", "doc_size_bytes"}}``.

"OCR" here is deterministic: a PDF page's markdown is its text layer (read with pypdfium2) under
a heading; an image becomes one page naming its size. Every request is recorded, and the fake can
be told to fail, so tests can check both what the Sprite sent and how it handles errors.
Mounted under any prefix (the bridge proxies ``/proxy/mistral/v1/ocr``).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "mistral-ocr-2505-fake"


def pdf_markdown_pages(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            text = textpage.get_text_range().replace("\r\n", "\n").strip()
            textpage.close()
            page.close()
            pages.append(f"# Page {index + 1}\n\n{text}")
        return pages
    finally:
        pdf.close()


@dataclass
class FakeMistral:
    api_key: str
    failure: tuple[int, dict[str, Any]] | None = None  # (status, body) to answer instead
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeMistral:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:  # http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status, reply = fake.handle(self.path, self.headers.get("Authorization", ""), body)
                self._reply(status, reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def handle(self, path: str, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if not path.endswith("/v1/ocr"):
            return 404, {"detail": "Not Found"}
        try:
            request = json.loads(body)
        except ValueError:
            return 400, {"detail": "invalid JSON"}
        self.requests.append({"path": path, "authorization": authorization, "body": request})
        if authorization != f"Bearer {self.api_key}":
            return 401, {"message": "Unauthorized", "request_id": "fake"}
        if self.failure is not None:
            return self.failure
        document = request.get("document") or {}
        kind = document.get("type")
        url = document.get(kind or "", "") if kind in ("document_url", "image_url") else ""
        if not request.get("model") or not url.startswith("data:") or ";base64," not in url:
            return 422, {
                "detail": [
                    {"loc": ["body", "document"], "msg": "invalid document", "type": "value_error"}
                ]
            }
        try:
            data = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
        except (binascii.Error, ValueError):
            return 422, {
                "detail": [
                    {"loc": ["body", "document"], "msg": "invalid base64", "type": "value_error"}
                ]
            }
        if kind == "document_url":
            try:
                pages = pdf_markdown_pages(data)
            except Exception:
                return 422, {
                    "detail": [
                        {"loc": ["body", "document"], "msg": "unreadable", "type": "value_error"}
                    ]
                }
        else:
            pages = [f"![img-0.jpeg](img-0.jpeg)\n\nScanned image of {len(data)} bytes"]
        return 200, {
            "pages": [
                {
                    "index": index,
                    "markdown": markdown,
                    "images": [],
                    "dimensions": {"dpi": 200, "height": 2339, "width": 1654},
                }
                for index, markdown in enumerate(pages)
            ],
            "model": MODEL,
            "usage_info": {"pages_processed": len(pages), "doc_size_bytes": len(data)},
            "document_annotation": None,
        }
