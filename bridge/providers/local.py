"""The local provider: one ``stackdocs sprite serve`` process per user, sandboxed by bubblewrap.

On disk, under ``<data dir>/sprites/<sprite name>/``::

    workspace/        the user's /workspace (documents/, ocr/, artifacts/, agent.db, .home/)
    checkpoints/v1/   consistent copies (see local_checkpoints.py)
    runtime.log       the runtime's stdout/stderr
    runtime.pid       the running sandbox's pid (to reap it if the bridge died without cleanup)

``wake`` starts the runtime on a free loopback port with an environment built from scratch (the
bridge's environment is never inherited: it holds the real API keys), inside the sandbox of
``sandbox.py``. Where bubblewrap is missing or cannot start, Sprites still run, unsandboxed, and
:meth:`LocalProvider.warnings` says so loudly (log and ``/health``).
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from bridge.providers import local_checkpoints
from bridge.providers.base import (
    Checkpoint,
    EnvironmentFactory,
    ProviderError,
    RuntimeStatus,
    SpriteEndpoint,
    SpriteProvider,
)
from bridge.providers.sandbox import (
    RUNTIME_PACKAGES,
    WORKSPACE_MOUNT,
    bwrap_argv,
    plan_for,
    probe_bwrap,
)
from stackdocs import PROJECT_ROOT
from stackdocs.config import BridgeSettings

log = logging.getLogger("bridge.providers.local")

START_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 5.0
READY_POLL_SECONDS = 0.005
LOG_MAX_BYTES = 5 * 1024 * 1024
HOME_DIR = ".home"  # HOME inside the workspace: the agent SDK keeps its sessions there
UNSANDBOXED_WARNING = (
    "SANDBOX DISABLED: local Sprites run WITHOUT bubblewrap isolation ({reason}); a user's "
    "shell commands can read other users' workspaces. Install bubblewrap (Debian package "
    "'bubblewrap') before giving this server to more than one user."
)


@dataclass
class _Runtime:
    process: asyncio.subprocess.Process
    endpoint: SpriteEndpoint
    port: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _proc_children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (outermost first), seen from the host."""
    children = _proc_children()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop(0)
        for child in children.get(current, []):
            found.append(child)
            frontier.append(child)
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class LocalProvider(SpriteProvider):
    name = "local"

    def __init__(
        self,
        data_dir: Path,
        *,
        sandbox: bool = True,
        runtime_command: list[str] | None = None,
        start_timeout: float = START_TIMEOUT_SECONDS,
    ) -> None:
        """``runtime_command`` replaces ``python -m stackdocs.cli sprite serve`` (it receives
        ``--workspace W --host H --port P``); ``sandbox=False`` runs without bubblewrap."""
        self.data_dir = data_dir.resolve()
        self.root = self.data_dir / "sprites"
        self._want_sandbox = sandbox
        self._bwrap: str | None = None
        self._warnings: list[str] = []
        self._runtime_command = runtime_command or [
            sys.executable,
            "-I",
            "-m",
            "stackdocs.cli",
            "sprite",
            "serve",
        ]
        self._start_timeout = start_timeout
        self._running: dict[str, _Runtime] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_settings(cls, settings: BridgeSettings) -> LocalProvider:
        return cls(settings.data_dir)

    # ------------------------------------------------------------------ paths

    def sprite_dir(self, sprite_name: str) -> Path:
        if not sprite_name or "/" in sprite_name or sprite_name.startswith("."):
            raise ProviderError("bad_name", f"invalid sprite name {sprite_name!r}")
        return self.root / sprite_name

    def workspace_path(self, sprite_name: str) -> Path:
        """The host folder mounted at /workspace (the demo seeder and tests read it)."""
        return self.sprite_dir(sprite_name) / "workspace"

    def _checkpoints_dir(self, sprite_name: str) -> Path:
        return self.sprite_dir(sprite_name) / "checkpoints"

    def _lock(self, sprite_name: str) -> asyncio.Lock:
        return self._locks.setdefault(sprite_name, asyncio.Lock())

    @property
    def sandboxed(self) -> bool:
        return self._bwrap is not None

    def warnings(self) -> list[str]:
        return list(self._warnings)

    def sandbox_pid(self, sprite_name: str) -> int | None:
        """The pid of the process the provider started (bwrap, or the runtime itself)."""
        runtime = self._running.get(sprite_name)
        if runtime is None or runtime.process.returncode is not None:
            return None
        return runtime.process.pid

    # ------------------------------------------------------------------ provider lifecycle

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        if self._want_sandbox:
            self._bwrap, reason = await asyncio.to_thread(probe_bwrap)
            if self._bwrap is None:
                self._warnings.append(UNSANDBOXED_WARNING.format(reason=reason))
        else:
            self._warnings.append(UNSANDBOXED_WARNING.format(reason="disabled by configuration"))
        for warning in self._warnings:
            log.warning("%s", warning)
        await asyncio.to_thread(self._reap_leftovers)
        # The code is read-only inside the sandbox: compile it once here so every wake loads
        # cached bytecode instead of compiling the runtime again.
        await asyncio.to_thread(self._precompile)

    def _precompile(self) -> None:
        for package in RUNTIME_PACKAGES:
            with contextlib.suppress(Exception):
                compileall.compile_dir(PROJECT_ROOT / package, quiet=2, workers=1)

    def _reap_leftovers(self) -> None:
        """Kill runtimes a previous bridge process left running (it died without cleanup)."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            pid_file = folder / "runtime.pid"
            if not pid_file.exists():
                continue
            with contextlib.suppress(ValueError, OSError):
                pid = int(pid_file.read_text().strip())
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                if str(folder / "workspace").encode() in cmdline:
                    os.killpg(pid, signal.SIGKILL)
            pid_file.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                local_checkpoints.recover(folder / "workspace")

    async def close(self) -> None:
        await asyncio.gather(
            *(self.sleep(name) for name in list(self._running)), return_exceptions=True
        )

    # ------------------------------------------------------------------ sprites

    async def create(self, sprite_name: str) -> None:
        workspace = self.workspace_path(sprite_name)

        def make() -> None:
            local_checkpoints.recover(workspace)
            (workspace / HOME_DIR).mkdir(parents=True, exist_ok=True)
            self._checkpoints_dir(sprite_name).mkdir(parents=True, exist_ok=True)

        await asyncio.to_thread(make)

    async def status(self, sprite_name: str) -> RuntimeStatus:
        runtime = self._running.get(sprite_name)
        if runtime is not None and runtime.process.returncode is None:
            return "running"
        exists = await asyncio.to_thread(self.workspace_path(sprite_name).is_dir)
        return "asleep" if exists else "missing"

    async def wake(self, sprite_name: str, environment: EnvironmentFactory) -> SpriteEndpoint:
        async with self._lock(sprite_name):
            runtime = self._running.get(sprite_name)
            if runtime is not None:
                if runtime.process.returncode is None and await self._accepts(runtime.port):
                    return runtime.endpoint
                # Crashed or wedged (e.g. killed): clear it away and start afresh.
                await self._stop(sprite_name)
            if not self.workspace_path(sprite_name).is_dir():
                raise ProviderError("missing", f"sprite {sprite_name} has not been created")
            return await self._spawn(sprite_name, await environment())

    async def _accepts(self, port: int) -> bool:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    def _runtime_env(self, base: dict[str, str], sprite_token: str, workspace: str) -> dict:
        env = {
            "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": f"{workspace}/{HOME_DIR}",
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
        }
        env.update(base)
        env["SPRITE_TOKEN"] = sprite_token
        return env

    async def _spawn(self, sprite_name: str, base_env: dict[str, str]) -> SpriteEndpoint:
        folder = self.sprite_dir(sprite_name)
        workspace = self.workspace_path(sprite_name)
        await asyncio.to_thread(local_checkpoints.recover, workspace)
        await asyncio.to_thread((workspace / HOME_DIR).mkdir, parents=True, exist_ok=True)
        sprite_token = secrets.token_urlsafe(32)
        port = _free_port()
        inner_workspace = WORKSPACE_MOUNT if self._bwrap else str(workspace)
        command = [
            *self._runtime_command,
            "--workspace",
            inner_workspace,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        if self._bwrap:
            argv = bwrap_argv(self._bwrap, plan_for(workspace, self.data_dir), command)
        else:
            argv = command
        env = self._runtime_env(base_env, sprite_token, inner_workspace)
        log_path = folder / "runtime.log"
        log_file = await asyncio.to_thread(self._open_log, log_path)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                cwd=str(workspace),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ProviderError("start_failed", f"cannot start the Sprite runtime: {exc}") from exc
        finally:
            log_file.close()
        await asyncio.to_thread((folder / "runtime.pid").write_text, str(process.pid))
        endpoint = SpriteEndpoint(url=f"ws://127.0.0.1:{port}/", token=sprite_token)
        self._running[sprite_name] = _Runtime(process=process, endpoint=endpoint, port=port)
        try:
            await self._wait_ready(process, port, log_path)
        except BaseException:
            await self._stop(sprite_name)
            raise
        log.info("sprite %s started (pid %s, port %s)", sprite_name, process.pid, port)
        return endpoint

    @staticmethod
    def _open_log(path: Path):
        if path.exists() and path.stat().st_size > LOG_MAX_BYTES:
            path.replace(path.with_suffix(".log.1"))
        return path.open("ab")

    async def _wait_ready(
        self, process: asyncio.subprocess.Process, port: int, log_path: Path
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_timeout
        while loop.time() < deadline:
            if process.returncode is not None:
                tail = await asyncio.to_thread(_tail, log_path)
                raise ProviderError(
                    "start_failed",
                    f"the Sprite runtime exited with code {process.returncode}: {tail}",
                )
            if await self._accepts(port):
                return
            await asyncio.sleep(READY_POLL_SECONDS)  # a loopback connect costs microseconds
        raise ProviderError("start_timeout", "the Sprite runtime did not start listening in time")

    async def sleep(self, sprite_name: str) -> None:
        async with self._lock(sprite_name):
            await self._stop(sprite_name)

    async def _stop(self, sprite_name: str) -> None:
        runtime = self._running.pop(sprite_name, None)
        pid_file = self.sprite_dir(sprite_name) / "runtime.pid"
        if runtime is None:
            return
        process = runtime.process
        if process.returncode is None:
            # SIGTERM the runtime itself (not bwrap, whose death would SIGKILL it at once) so it
            # can stop gracefully; bwrap exits when its child does.
            targets = [p for p in descendants(process.pid) if _comm(p) != "bwrap"]
            for pid in targets or [process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # anything the runtime left in its group
        pid_file.unlink(missing_ok=True)
        log.info("sprite %s stopped (exit %s)", sprite_name, process.returncode)

    async def delete(self, sprite_name: str) -> None:
        async with self._lock(sprite_name):
            await self._stop(sprite_name)
            await asyncio.to_thread(shutil.rmtree, self.sprite_dir(sprite_name), True)

    # ------------------------------------------------------------------ checkpoints

    async def checkpoint_create(self, sprite_name: str, comment: str | None) -> Checkpoint:
        async with self._lock(sprite_name):
            workspace = self.workspace_path(sprite_name)
            if not workspace.is_dir():
                raise ProviderError("missing", f"sprite {sprite_name} has not been created")
            return await asyncio.to_thread(
                local_checkpoints.create_checkpoint,
                workspace,
                self._checkpoints_dir(sprite_name),
                comment,
            )

    async def checkpoint_list(self, sprite_name: str) -> list[Checkpoint]:
        return await asyncio.to_thread(
            local_checkpoints.list_checkpoints, self._checkpoints_dir(sprite_name)
        )

    async def checkpoint_restore(self, sprite_name: str, checkpoint_id: str) -> None:
        async with self._lock(sprite_name):
            checkpoints = await self.checkpoint_list(sprite_name)
            if checkpoint_id not in {c.id for c in checkpoints}:
                raise ProviderError("unknown_checkpoint", f"no checkpoint {checkpoint_id!r}")
            await self._stop(sprite_name)
            await asyncio.to_thread(
                local_checkpoints.restore_checkpoint,
                self.workspace_path(sprite_name),
                self._checkpoints_dir(sprite_name),
                checkpoint_id,
            )


def _tail(path: Path, limit: int = 600) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - limit))
            return handle.read().decode(errors="replace").strip().replace("\n", " | ")
    except OSError:
        return "(no log)"
