"""Shared pieces of the Sprite benches: start the real process, talk to it, make documents."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STACKDOCS = ROOT / ".venv" / "bin" / "stackdocs"
TOKEN = secrets.token_hex(16)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sprite:
    def __init__(self, workspace: Path | None = None) -> None:
        self._own_workspace = workspace is None
        self.workspace = workspace or Path(tempfile.mkdtemp(prefix="sprite-bench-"))
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> float:
        """Start the process; returns the monotonic time just before the spawn."""
        env = {**os.environ, "SPRITE_TOKEN": TOKEN, "HOME": str(self.workspace)}
        for name in ("ANTHROPIC_BASE_URL", "MISTRAL_BASE_URL", "STACKDOCS_OCR"):
            env.pop(name, None)
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [
                str(STACKDOCS),
                "sprite",
                "serve",
                "--workspace",
                str(self.workspace),
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return started

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._own_workspace:
            shutil.rmtree(self.workspace, ignore_errors=True)

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


async def connect(sprite: Sprite, deadline_s: float = 20):
    import websockets

    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return await websockets.connect(
                sprite.url,
                additional_headers={"Authorization": f"Bearer {TOKEN}"},
                max_size=None,
                open_timeout=5,
            )
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.005)


async def upload_and_wait(ws: Any, filename: str, data: bytes) -> dict[str, Any]:
    """Single-frame upload; waits for the document's final event, returns it."""
    await ws.send(
        json.dumps(
            {
                "type": "file_upload",
                "id": "up",
                "payload": {"filename": filename, "data": base64.b64encode(data).decode()},
            }
        )
    )
    document_id = None
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "error":
            raise RuntimeError(frame["payload"])
        if frame["type"] != "document_event":
            continue
        payload = frame["payload"]
        if frame.get("id") == "up":
            document_id = payload["document_id"]
        if payload["document_id"] == document_id and payload["status"] in (
            "ocr_complete",
            "failed",
        ):
            if payload["status"] == "failed":
                raise RuntimeError(payload["error"])
            return payload


def text_pdf(pages: int) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for n in range(1, pages + 1):
        for line in range(45):
            pdf.drawString(
                50,
                790 - line * 17,
                f"Page {n} line {line}: invoice 2291, Widget x4 "
                f"AUD 120.00, Gadget x2 AUD 75.50, ref {n * line}",
            )
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def scanned_page_png() -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (2480, 3508), 255)  # A4 at 300 dpi
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=42)
    lines = ["INVOICE 2291", "Acme Supplies Pty Ltd", "Item Qty Amount"]
    lines += [f"Widget model {i} {i + 1} {(i + 1) * 12.5:.2f}" for i in range(30)]
    lines += ["Total AUD 6,187.50"]
    for i, line in enumerate(lines):
        draw.text((200, 200 + i * 90), line, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
