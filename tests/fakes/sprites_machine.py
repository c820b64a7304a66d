"""The machine half of the fake Sprites.dev API: one private Linux root per sprite.

A real Sprite is a microVM with a persistent disk. Here a sprite is a directory on the host
(``<state>/sprites/<name>/root``) that becomes ``/`` of every process the sprite runs, through
bubblewrap: the host's ``/usr`` and ``/etc`` are mounted read-only over it (the "image"), and
everything else (``/home/sprite``, ``/opt``, ``/workspace``, ``/tmp``) is the sprite's own disk,
so absolute paths written through the filesystem API are the ones commands see.

Two things differ from a real Sprite, both because all fake sprites share the host's network:

* The image's extra Python packages are the test virtualenv's ``site-packages``, mounted at
  ``/.sprite/image/site-packages`` and put on ``PYTHONPATH``: a ``pip install`` of the pinned
  requirements then finds them already satisfied instead of downloading them.
* An HTTP service cannot have port ``http_port`` to itself, so it is started with ``PORT`` set to
  a free host port and the sprite's URL routes there (real Sprites route to ``http_port``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import site
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BWRAP = shutil.which("bwrap") or "/usr/bin/bwrap"
IMAGE_SITE_PACKAGES = "/.sprite/image/site-packages"
SYSTEM_DIRS = ("usr", "etc")
MERGED_USR_LINKS = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def host_site_packages() -> str:
    """The test virtualenv's site-packages: the fake image's preinstalled Python packages."""
    return next(p for p in site.getsitepackages() if p.endswith("site-packages"))


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class ServiceDef:
    name: str
    cmd: str
    args: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    http_port: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    dir: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cmd": self.cmd,
            "args": self.args,
            "needs": self.needs,
            "http_port": self.http_port,
        }


@dataclass
class ServiceRun:
    """A service's live state: its process while running, its sticky 'stopped' flag."""

    status: str = "stopped"  # stopped | starting | running | stopping | failed
    process: asyncio.subprocess.Process | None = None
    host_port: int | None = None  # where its HTTP port really listens (see module doc)
    started_at: str | None = None
    explicitly_stopped: bool = False
    restart_count: int = 0
    error: str | None = None


class Machine:
    """One sprite's disk and processes."""

    def __init__(self, home: Path, *, image_site_packages: str | None = None) -> None:
        self.home = home
        self.root = home / "root"
        self.checkpoint_dir = home / "checkpoints"
        self.image_site_packages = image_site_packages or host_site_packages()
        self.services: dict[str, ServiceDef] = {}
        self.runs: dict[str, ServiceRun] = {}
        self.execs: set[asyncio.subprocess.Process] = set()
        for sub in ("home/sprite", "tmp", "opt", ".sprite/logs/services"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        for link, target in MERGED_USR_LINKS.items():  # the image's merged-/usr links
            path = self.root / link
            if Path(f"/{link}").is_symlink() and not path.is_symlink():
                path.symlink_to(target)

    # ------------------------------------------------------------------------------ paths

    def host_path(self, sprite_path: str) -> Path:
        """Map an absolute path inside the sprite to the host; refuses escapes."""
        if not sprite_path.startswith("/"):
            sprite_path = "/home/sprite/" + sprite_path
        resolved = Path(os.path.normpath(self.root / sprite_path.lstrip("/")))
        if resolved != self.root and self.root not in resolved.parents:
            raise PermissionError(sprite_path)
        return resolved

    # ------------------------------------------------------------------------------ processes

    def _sandbox_argv(self, argv: list[str], cwd: str | None) -> list[str]:
        cmd = [BWRAP, "--die-with-parent", "--bind", str(self.root), "/"]
        for name in SYSTEM_DIRS:
            cmd += ["--ro-bind", f"/{name}", f"/{name}"]
        for link in MERGED_USR_LINKS:
            if Path(f"/{link}").is_dir() and not Path(f"/{link}").is_symlink():
                cmd += ["--ro-bind", f"/{link}", f"/{link}"]
        cmd += ["--ro-bind", self.image_site_packages, IMAGE_SITE_PACKAGES]
        cmd += ["--dev", "/dev", "--proc", "/proc", "--chdir", cwd or "/home/sprite", "--"]
        return cmd + argv

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        env = {
            "PATH": DEFAULT_PATH,
            "HOME": "/home/sprite",
            "USER": "sprite",
            "LANG": "C.UTF-8",
            "PYTHONPATH": IMAGE_SITE_PACKAGES,
        }
        env.update(extra)
        if "PYTHONPATH" in extra and IMAGE_SITE_PACKAGES not in extra["PYTHONPATH"]:
            env["PYTHONPATH"] = f"{extra['PYTHONPATH']}:{IMAGE_SITE_PACKAGES}"
        return env

    async def spawn(
        self,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        stdout: Any = asyncio.subprocess.PIPE,
        stderr: Any = asyncio.subprocess.PIPE,
        stdin: Any = asyncio.subprocess.PIPE,
    ) -> asyncio.subprocess.Process:
        if cwd:
            self.host_path(cwd).mkdir(parents=True, exist_ok=True)
        return await asyncio.create_subprocess_exec(
            *self._sandbox_argv(argv, cwd),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=self._environment(env or {}),
        )

    # ------------------------------------------------------------------------------ services

    def service_log(self, name: str) -> Path:
        return self.root / ".sprite" / "logs" / "services" / f"{name}.log"

    async def start_service(self, name: str) -> ServiceRun:
        svc = self.services[name]
        run = self.runs.setdefault(name, ServiceRun())
        if run.process is not None and run.process.returncode is None:
            return run
        for need in svc.needs:
            if need in self.services:
                await self.start_service(need)
        env = dict(svc.env)
        if svc.http_port is not None:
            run.host_port = free_port()
            env["PORT"] = str(run.host_port)
        log = self.service_log(name).open("ab")
        try:
            run.process = await self.spawn(
                [svc.cmd, *svc.args],
                env=env,
                cwd=svc.dir,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            log.close()
        run.status = "running"
        run.started_at = utc_now()
        run.explicitly_stopped = False
        run.error = None
        return run

    async def stop_service(self, name: str, *, sticky: bool, grace: float = 5.0) -> None:
        run = self.runs.get(name)
        if run is None:
            return
        run.explicitly_stopped = sticky or run.explicitly_stopped
        process, run.process = run.process, None
        if process is not None and process.returncode is None:
            run.status = "stopping"
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        run.status = "stopped"
        run.host_port = None

    async def boot(self) -> None:
        """A cold boot: every defined service that was not stopped on purpose starts."""
        for name in list(self.services):
            run = self.runs.get(name)
            if run is None or not run.explicitly_stopped:
                await self.start_service(name)

    async def halt(self) -> None:
        """A pause that drops process state (a cold sprite): every process ends."""
        for name in list(self.runs):
            await self.stop_service(name, sticky=False, grace=3.0)
        for process in list(self.execs):
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    def service_state(self, name: str) -> dict[str, Any]:
        run = self.runs.get(name) or ServiceRun()
        if run.process is not None and run.process.returncode is not None:
            run.status = "failed"
            run.error = f"exited with code {run.process.returncode}"
        state: dict[str, Any] = {"name": name, "status": run.status}
        if run.process is not None:
            state["pid"] = run.process.pid
        if run.started_at:
            state["started_at"] = run.started_at
        if run.error:
            state["error"] = run.error
        state["restart_count"] = run.restart_count
        return state

    def http_service(self) -> tuple[str, ServiceDef] | None:
        for name, svc in self.services.items():
            if svc.http_port is not None:
                return name, svc
        return None

    # ------------------------------------------------------------------------------ checkpoints

    def _user_entries(self) -> list[Path]:
        """The sprite's own disk: not the image's mount points and links."""
        image = {".sprite", "dev", "proc", *SYSTEM_DIRS, *MERGED_USR_LINKS}
        return [p for p in self.root.iterdir() if p.name not in image]

    def snapshot(self, checkpoint_id: str) -> None:
        target = self.checkpoint_dir / checkpoint_id
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for entry in self._user_entries():
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, target / entry.name, symlinks=True)
            else:
                shutil.copy2(entry, target / entry.name, follow_symlinks=False)

    def has_snapshot(self, checkpoint_id: str) -> bool:
        return (self.checkpoint_dir / checkpoint_id).is_dir()

    def restore(self, checkpoint_id: str) -> None:
        source = self.checkpoint_dir / checkpoint_id
        for entry in self._user_entries():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for entry in source.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, self.root / entry.name, symlinks=True)
            else:
                shutil.copy2(entry, self.root / entry.name, follow_symlinks=False)

    def destroy(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


async def wait_for_port(
    port: int, process: asyncio.subprocess.Process | None, within: float
) -> bool:
    """True once 127.0.0.1:port accepts; False if the process exits or time runs out."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process is not None and process.returncode is not None:
            return False
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False
