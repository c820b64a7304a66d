"""The local provider made safe for several bridge workers on one machine.

With ``REDIS_URL`` set, Reflex runs several backend worker processes, and one user's browser
tabs and ``/ws`` sockets may land on different workers. Each worker has its own provider
object, so the plain :class:`~bridge.providers.local.LocalProvider` would start one runtime per
worker on the *same* workspace (two writers of one ``agent.db``). This subclass shares the
runtime between workers through the sprite's folder:

* ``runtime.json`` (0600) records the running runtime (pid, port, token). ``wake`` adopts it
  when it is alive and accepting connections, and starts a new one only otherwise;
* ``holds/<worker pid>`` records which workers use it. ``sleep`` drops this worker's hold and
  stops the runtime only when no other live worker holds it (an idle tab on worker A must not
  cut off worker B's busy one);
* every decision is taken under an ``flock`` of ``<sprite dir>/.runtime.lock``, so two workers
  waking the same Sprite at once start it once.

A worker that dies leaves a hold with a dead pid, which counts for nothing. The runtime's
environment (and so its proxy token) is the one the starting worker built; adopting workers do
not call the environment factory, so the token stays valid for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import time
from pathlib import Path

from bridge.locks import async_file_lock
from bridge.providers import local_checkpoints
from bridge.providers.base import (
    EnvironmentFactory,
    ProviderError,
    RuntimeStatus,
    SpriteEndpoint,
)
from bridge.providers.local import STOP_GRACE_SECONDS, LocalProvider, _comm, descendants

log = logging.getLogger("bridge.providers.local")


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class SharedLocalProvider(LocalProvider):
    name = "local"

    # ------------------------------------------------------------------ shared state on disk

    def _state_path(self, sprite_name: str) -> Path:
        return self.sprite_dir(sprite_name) / "runtime.json"

    def _holds_dir(self, sprite_name: str) -> Path:
        return self.sprite_dir(sprite_name) / "holds"

    def _machine_lock(self, sprite_name: str) -> contextlib.AbstractAsyncContextManager[None]:
        return async_file_lock(self.sprite_dir(sprite_name) / ".runtime.lock")

    def _read_state(self, sprite_name: str) -> dict | None:
        try:
            state = json.loads(self._state_path(sprite_name).read_text())
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) and {"pid", "port", "token"} <= set(state) else None

    def _write_state(self, sprite_name: str, pid: int, endpoint: SpriteEndpoint, port: int) -> None:
        path = self._state_path(sprite_name)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {"pid": pid, "port": port, "token": endpoint.token, "url": endpoint.url}, handle
            )
        tmp.replace(path)

    def _hold(self, sprite_name: str) -> None:
        holds = self._holds_dir(sprite_name)
        holds.mkdir(parents=True, exist_ok=True)
        (holds / str(os.getpid())).touch()

    def _release(self, sprite_name: str) -> None:
        (self._holds_dir(sprite_name) / str(os.getpid())).unlink(missing_ok=True)

    def _other_holders(self, sprite_name: str) -> list[int]:
        holds = self._holds_dir(sprite_name)
        if not holds.is_dir():
            return []
        others = []
        for entry in holds.iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if pid == os.getpid():
                continue
            if _alive(pid):
                others.append(pid)
            else:
                entry.unlink(missing_ok=True)  # a worker that died
        return others

    # ------------------------------------------------------------------ start / reap

    def _reap_leftovers(self) -> None:
        """Only runtimes nobody holds are leftovers: another worker's are in use."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if not folder.is_dir() or self._other_holders(folder.name):
                continue
            state = self._read_state(folder.name)
            if state is not None and _alive(int(state["pid"])):
                self._kill_foreign(int(state["pid"]))
            self._state_path(folder.name).unlink(missing_ok=True)
        super()._reap_leftovers()

    async def close(self) -> None:
        names = [p.parent.name for p in self.root.glob(f"*/holds/{os.getpid()}")]
        await asyncio.gather(
            *(self.sleep(name) for name in {*names, *self._running}), return_exceptions=True
        )

    # ------------------------------------------------------------------ wake / sleep

    async def status(self, sprite_name: str) -> RuntimeStatus:
        state = await asyncio.to_thread(self._read_state, sprite_name)
        if state is not None and _alive(int(state["pid"])):
            return "running"
        return await super().status(sprite_name)

    async def wake(self, sprite_name: str, environment: EnvironmentFactory) -> SpriteEndpoint:
        async with self._lock(sprite_name), self._machine_lock(sprite_name):
            state = self._read_state(sprite_name)
            if (
                state is not None
                and _alive(int(state["pid"]))
                and await self._accepts(int(state["port"]))
            ):
                self._hold(sprite_name)
                return SpriteEndpoint(url=state["url"], token=state["token"])
            # Nothing usable: clear away what is left (ours or another worker's) and start.
            if sprite_name in self._running:
                await self._stop(sprite_name)
            elif state is not None and _alive(int(state["pid"])):
                await asyncio.to_thread(self._kill_foreign, int(state["pid"]))
            self._state_path(sprite_name).unlink(missing_ok=True)
            if not self.workspace_path(sprite_name).is_dir():
                raise ProviderError("missing", f"sprite {sprite_name} has not been created")
            endpoint = await self._spawn(sprite_name, await environment())
            runtime = self._running[sprite_name]
            self._write_state(sprite_name, runtime.process.pid, endpoint, runtime.port)
            self._hold(sprite_name)
            return endpoint

    async def sleep(self, sprite_name: str) -> None:
        async with self._lock(sprite_name), self._machine_lock(sprite_name):
            self._release(sprite_name)
            if self._other_holders(sprite_name):
                log.info("sprite %s: still used by another worker, not stopped", sprite_name)
                return
            await self._stop_shared(sprite_name)

    async def _stop_shared(self, sprite_name: str) -> None:
        """Stop the runtime whichever worker started it (callers hold both locks)."""
        state = self._read_state(sprite_name)
        if sprite_name in self._running:
            await self._stop(sprite_name)
        elif state is not None and _alive(int(state["pid"])):
            await asyncio.to_thread(self._kill_foreign, int(state["pid"]))
        self._state_path(sprite_name).unlink(missing_ok=True)

    @staticmethod
    def _kill_foreign(pid: int) -> None:
        """Stop a runtime another worker started: SIGTERM the runtime, then the group."""
        targets = [p for p in descendants(pid) if _comm(p) != "bwrap"] or [pid]
        for target in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)

    # ------------------------------------------------------------------ restore, delete

    async def checkpoint_restore(self, sprite_name: str, checkpoint_id: str) -> None:
        async with self._lock(sprite_name), self._machine_lock(sprite_name):
            checkpoints = await self.checkpoint_list(sprite_name)
            if checkpoint_id not in {c.id for c in checkpoints}:
                raise ProviderError("unknown_checkpoint", f"no checkpoint {checkpoint_id!r}")
            await self._stop_shared(sprite_name)  # every worker's sessions reconnect after
            await asyncio.to_thread(
                local_checkpoints.restore_checkpoint,
                self.workspace_path(sprite_name),
                self._checkpoints_dir(sprite_name),
                checkpoint_id,
            )

    async def delete(self, sprite_name: str) -> None:
        async with self._lock(sprite_name), self._machine_lock(sprite_name):
            await self._stop_shared(sprite_name)
        await asyncio.to_thread(shutil.rmtree, self.sprite_dir(sprite_name), True)
