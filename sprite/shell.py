"""``!`` missions: a shell command in the workspace, streamed as a ``terminal`` artifact.

The command runs as ``bash -c`` in its own process group with the workspace root as its working
directory, stdout and stderr interleaved in one pipe. Output goes whole to
``artifacts/{artifact_id}.log``; the ``canvas_update`` frames (coalesced, at most one per
:data:`FLUSH_SECONDS`) carry only the last :data:`FRAME_OUTPUT_CHARS` characters. Timeout
(``STACKDOCS_SHELL_TIMEOUT``) and ``mission_cancel`` kill the whole process group.

Terminal artifact ``data``: ``{command, output, exit_code, status: running|exited|timeout|
cancelled|interrupted, running, truncated, output_bytes, log_path, duration_ms}``;
``truncated`` means ``output`` is only the tail; ``artifact_request`` returns the whole log (up
to the frame limit).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

from sprite.missions import MissionContext
from sprite.workspace import Workspace
from stackdocs.config import process_environment

FLUSH_SECONDS = 0.1
FRAME_OUTPUT_CHARS = 64 * 1024
READ_BYTES = 64 * 1024
KILL_GRACE_SECONDS = 2.0
# After bash exits, background children may still hold the pipe open; give them this long.
LINGER_SECONDS = 1.0


class TerminalOutput:
    """The tail of the output kept in memory, the whole output appended to the log file."""

    def __init__(self, log_path: Path, limit: int = FRAME_OUTPUT_CHARS) -> None:
        self.log_path = log_path
        self.limit = limit
        self.tail = ""
        self.total_bytes = 0
        self.truncated = False
        self.dirty = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._log = open(log_path, "ab")  # closed in close()

    def feed(self, chunk: bytes) -> None:
        # A buffered append to the page cache: microseconds, fine on the event loop.
        self._log.write(chunk)
        self.total_bytes += len(chunk)
        self._append(self._decoder.decode(chunk))

    def finish(self) -> None:
        self._append(self._decoder.decode(b"", final=True))

    def _append(self, text: str) -> None:
        if not text:
            return
        self.tail += text
        if len(self.tail) > self.limit:
            self.tail = self.tail[-self.limit :]
            self.truncated = True
        self.dirty = True

    def flush(self) -> None:
        if not self._log.closed:
            self._log.flush()

    def close(self) -> None:
        """Flush, fsync and close the log (blocking: run in a thread)."""
        if self._log.closed:
            return
        self._log.flush()
        os.fsync(self._log.fileno())
        self._log.close()


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _terminate(proc: asyncio.subprocess.Process) -> None:
    _kill_group(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), KILL_GRACE_SECONDS)
    except TimeoutError:
        _kill_group(proc.pid, signal.SIGKILL)
        await proc.wait()


async def run_shell_mission(ctx: MissionContext, workspace: Workspace) -> None:
    command = ctx.text[1:].strip()
    if not command:
        await ctx.emit("agent_event", {"event_type": "error", "content": "Empty shell command."})
        return
    artifact_id = f"terminal-{ctx.mission_id}"
    log_path = workspace.artifact_log_path(artifact_id)
    output = await asyncio.to_thread(TerminalOutput, log_path)
    started = time.monotonic()
    title = f"$ {command}" if len(command) <= 80 else f"$ {command[:77]}..."

    def data(status: str, exit_code: int | None = None) -> dict[str, Any]:
        return {
            "command": command,
            "output": output.tail,
            "exit_code": exit_code,
            "status": status,
            "running": status == "running",
            "truncated": output.truncated,
            "output_bytes": output.total_bytes,
            "log_path": workspace.relative(log_path),
            "duration_ms": int((time.monotonic() - started) * 1000),
        }

    async def publish(status: str, exit_code: int | None = None) -> None:
        output.flush()  # readers of the log file see what the frame shows
        output.dirty = False
        await ctx.emit(
            "canvas_update",
            {
                "artifact_id": artifact_id,
                "artifact_type": "terminal",
                "title": title,
                "data": data(status, exit_code),
                "file_path": workspace.relative(log_path),
            },
        )

    await ctx.emit(
        "agent_event",
        {
            "event_type": "tool",
            "content": f"$ {command}",
            "meta": {"tool": "shell", "artifact_id": artifact_id},
        },
    )
    await publish("running")
    try:
        proc = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            command,
            cwd=workspace.root,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group: cancel kills the children too
            env=process_environment(),
        )
    except OSError as exc:
        await asyncio.to_thread(output.close)
        await publish("exited", None)
        await ctx.emit("agent_event", {"event_type": "error", "content": f"Cannot start: {exc}"})
        return

    assert proc.stdout is not None
    stdout = proc.stdout

    async def read_output() -> None:
        while chunk := await stdout.read(READ_BYTES):
            output.feed(chunk)

    async def stream_updates() -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            if output.dirty:
                await publish("running")

    reader = asyncio.create_task(read_output())
    streamer = asyncio.create_task(stream_updates())
    cancelled = asyncio.create_task(ctx.cancelled.wait())
    exited = asyncio.create_task(proc.wait())
    status = "exited"
    try:
        done, _ = await asyncio.wait(
            {exited, cancelled},
            timeout=ctx.settings.shell_timeout_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if exited not in done:
            status = "cancelled" if cancelled in done else "timeout"
            await _terminate(proc)
        try:
            await asyncio.wait_for(asyncio.shield(reader), LINGER_SECONDS)
        except TimeoutError:
            _kill_group(proc.pid, signal.SIGKILL)  # background children kept the pipe open
            await reader
    except asyncio.CancelledError:
        status = "interrupted"
        await _terminate(proc)
        raise
    finally:
        for task in (streamer, cancelled, exited, reader):
            task.cancel()
        await asyncio.gather(streamer, cancelled, exited, reader, return_exceptions=True)
        output.finish()
        await asyncio.to_thread(output.close)
        code = proc.returncode
        with contextlib.suppress(Exception):
            await publish(status, code)

    if ctx.cancelled.is_set() and status == "cancelled":
        return  # the runtime reports the cancellation
    seconds = ctx.settings.shell_timeout_seconds
    if status == "timeout":
        message = (
            f"Timed out after {seconds:g} s (STACKDOCS_SHELL_TIMEOUT); the command was killed."
        )
        await ctx.emit(
            "agent_event",
            {
                "event_type": "error",
                "content": message,
                "meta": {"artifact_id": artifact_id, "exit_code": code},
            },
        )
    elif code == 0:
        await ctx.emit(
            "agent_event",
            {
                "event_type": "complete",
                "content": "Exit code 0.",
                "meta": {"artifact_id": artifact_id, "exit_code": 0},
            },
        )
    else:
        reason = (
            f"Killed by signal {-code}." if code is not None and code < 0 else f"Exit code {code}."
        )
        await ctx.emit(
            "agent_event",
            {
                "event_type": "error",
                "content": reason,
                "meta": {"artifact_id": artifact_id, "exit_code": code},
            },
        )


async def full_terminal_data(
    workspace: Workspace, artifact: dict[str, Any], max_chars: int
) -> tuple[dict[str, Any], bool]:
    """The terminal artifact with the whole log as ``output`` (its tail if over the limit)."""
    path = workspace.root / artifact["file_path"]
    data = dict(artifact["data"] or {})

    def read() -> tuple[str, bool]:
        try:
            size = path.stat().st_size
            with open(path, "rb") as fh:
                if size > max_chars:
                    fh.seek(size - max_chars)
                return fh.read().decode("utf-8", errors="replace"), size > max_chars
        except FileNotFoundError:
            return data.get("output", ""), bool(data.get("truncated"))

    text, truncated = await asyncio.to_thread(read)
    data["output"] = text
    data["truncated"] = truncated
    return data, truncated
