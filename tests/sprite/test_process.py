"""`stackdocs sprite serve` as a command: clear one-line refusals, a clean graceful stop."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.sprite import documents
from tests.sprite.conftest import SpriteClient, connect
from tests.support.processes import STACKDOCS_BIN


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STACKDOCS_BIN), "sprite", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SPRITE_TOKEN": "t" * 32, **(env or {})},
    )


def test_missing_token_stops_start_up(tmp_path):
    out = serve("--workspace", str(tmp_path / "w"), env={"SPRITE_TOKEN": ""})
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "stackdocs: SPRITE_TOKEN: required, at least 16 characters"
    ]


def test_a_taken_port_or_a_file_as_workspace_is_one_clear_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        out = serve("--workspace", str(tmp_path / "w"), "--port", port)
    assert out.returncode == 2
    assert "address already in use" in out.stderr.strip().splitlines()[-1]

    (tmp_path / "file").write_text("x")
    out = serve("--workspace", str(tmp_path / "file"))
    assert out.returncode == 2 and "is not a directory" in out.stderr


async def test_graceful_stop_exits_zero_and_the_workspace_reopens(make_sprite):
    sprite = make_sprite()
    async with connect(sprite) as ws:
        await SpriteClient(ws).upload("a.txt", b"alpha")
    assert sprite.terminate() == 0
    assert "stopped" in sprite.log()
    again = make_sprite(sprite.workspace)
    async with connect(again) as ws:
        state = await SpriteClient(ws).request("state_request")
    assert [d["filename"] for d in state["payload"]["documents"]] == ["a.txt"]


def mapped_files(pid: int) -> str:
    """The shared libraries (and other files) mapped into a process."""
    return Path(f"/proc/{pid}/maps").read_text()


async def test_heavy_libraries_are_not_loaded_until_needed(make_sprite):
    """Start-up stays fast because OCR/office/agent libraries load on first use only."""
    sprite = make_sprite()
    async with connect(sprite) as ws:
        client = SpriteClient(ws)
        await client.request("state_request")
        await client.request("ping")
        maps = mapped_files(sprite.proc.pid)
        for library in ("pdfium", "PIL", "pandas", "lxml", "numpy"):
            assert library not in maps, library
        reply = await client.upload("a.pdf", documents.text_pdf_with_table(1))
        await client.wait_document(reply["payload"]["document_id"])
        assert "pdfium" in mapped_files(sprite.proc.pid)
