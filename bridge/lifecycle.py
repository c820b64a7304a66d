"""One user's Sprite as the bridge sees it: awake or asleep, who is attached, idle sleep.

- :meth:`SpriteLifecycle.endpoint` wakes the Sprite when needed (one wake at a time, however many
  sessions ask) and tells every attached session ``sprite_status`` waking → ready.
- When the last session leaves, a timer of ``STACKDOCS_SPRITE_IDLE_SECONDS`` starts. When it fires
  and still nobody is attached, the bridge asks the Sprite itself (``state_request``) whether a
  mission is running or a document is still being processed: if so it waits another period,
  otherwise it puts the Sprite to sleep. The Sprite is the source of truth, so missions started
  by a client that has since gone, or running across a bridge restart, are seen too.
- Checkpoint operations run under the same lock as wake and sleep. A restore stops the Sprite
  first; the attached sessions see their connection drop, wake it again once the restore is done,
  and send ``state_reload`` to their clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING

import websockets

from bridge.providers.base import Checkpoint, ProviderError, SpriteEndpoint, SpriteProvider
from stackdocs.protocol import encode

if TYPE_CHECKING:
    from bridge.session import ClientSession

log = logging.getLogger("bridge.lifecycle")

BUSY_CHECK_TIMEOUT_SECONDS = 10.0
BUSY_DOCUMENT_STATUSES = ("processing", "ocr_complete")


class SpriteLifecycle:
    def __init__(
        self,
        *,
        user_id: str,
        sprite_name: str,
        provider: SpriteProvider,
        environment,
        idle_seconds: float,
    ) -> None:
        self.user_id = user_id
        self.sprite_name = sprite_name
        self._provider = provider
        self._environment = environment  # async () -> dict: the Sprite's env, fresh tokens
        self._idle_seconds = idle_seconds
        self.status = "asleep"
        self.detail: str | None = None
        self.stopping = False  # asleep for clients, but the runtime is still shutting down
        self.sessions: set[ClientSession] = set()
        self._endpoint: SpriteEndpoint | None = None
        self._lock = asyncio.Lock()
        self._idle_task: asyncio.Task[None] | None = None
        self._going_to_sleep = False

    # ------------------------------------------------------------------ sessions

    def status_frame(self) -> str:
        payload = {"status": self.status}
        if self.detail:
            payload["detail"] = self.detail
        return encode("sprite_status", payload)

    def _set_status(self, status: str, detail: str | None = None) -> None:
        if status == self.status and detail == self.detail:
            return
        self.status, self.detail = status, detail
        frame = self.status_frame()
        for session in list(self.sessions):
            session.notify(frame)

    def attach(self, session: ClientSession) -> None:
        self.sessions.add(session)
        if self._idle_task is not None and not self._going_to_sleep:
            self._idle_task.cancel()
            self._idle_task = None

    def detach(self, session: ClientSession) -> None:
        self.sessions.discard(session)
        if not self.sessions and (self._idle_task is None or self._idle_task.done()):
            self._idle_task = asyncio.create_task(
                self._sleep_when_idle(), name=f"idle:{self.sprite_name}"
            )

    # ------------------------------------------------------------------ wake

    async def endpoint(self, *, replacing: SpriteEndpoint | None = None) -> SpriteEndpoint:
        """The Sprite's endpoint, waking it if needed. ``replacing``: an endpoint that stopped
        working (the provider then checks the runtime and restarts it if it died)."""
        current = self._endpoint
        if self.status == "ready" and current is not None and current is not replacing:
            return current
        async with self._lock:
            current = self._endpoint
            if self.status == "ready" and current is not None and current is not replacing:
                return current
            return await self._wake_locked()

    async def _wake_locked(self) -> SpriteEndpoint:
        if await self._provider.status(self.sprite_name) != "running":
            self._set_status("waking")
        try:
            endpoint = await self._provider.wake(self.sprite_name, self._environment)
        except ProviderError as exc:
            self._endpoint = None
            self._set_status("error", exc.message)
            raise
        self._endpoint = endpoint
        self._set_status("ready")
        return endpoint

    # ------------------------------------------------------------------ sleep

    async def _sleep_when_idle(self) -> None:
        while True:
            await asyncio.sleep(self._idle_seconds)
            if self.sessions or self._endpoint is None:
                return
            if await self._is_busy(self._endpoint):
                log.info("sprite %s idle but busy: staying awake", self.sprite_name)
                continue
            if self.sessions:
                return
            self._going_to_sleep = True
            try:
                async with self._lock:
                    if self.sessions:
                        return
                    await self._put_to_sleep_locked()
            finally:
                self._going_to_sleep = False
            return

    async def _put_to_sleep_locked(self) -> None:
        self._endpoint = None
        self._set_status("asleep")  # first: a session arriving now must not be told "ready"
        self.stopping = True
        try:
            await self._provider.sleep(self.sprite_name)
        finally:
            self.stopping = False
        log.info("sprite %s asleep", self.sprite_name)

    async def sleep(self) -> None:
        """Put the Sprite to sleep now (attached sessions will wake it again on demand)."""
        async with self._lock:
            await self._put_to_sleep_locked()

    async def _is_busy(self, endpoint: SpriteEndpoint) -> bool:
        """Ask the Sprite whether a mission runs or a document is being processed."""
        try:
            async with asyncio.timeout(BUSY_CHECK_TIMEOUT_SECONDS):
                async with websockets.connect(
                    endpoint.url,
                    additional_headers=endpoint.headers or None,
                    max_size=None,
                    compression=None,
                ) as ws:
                    await ws.send(encode("auth", {"token": endpoint.token}))
                    await ws.send(encode("state_request", {}, id="bridge-idle-check"))
                    async for raw in ws:
                        frame = json.loads(raw)
                        if frame.get("type") != "state":
                            continue
                        state = frame.get("payload") or {}
                        missions = state.get("missions") or []
                        documents = state.get("documents") or []
                        return any(m.get("status") == "running" for m in missions) or any(
                            d.get("status") in BUSY_DOCUMENT_STATUSES for d in documents
                        )
        except Exception as exc:  # unreachable or confused Sprite: nothing to keep awake
            log.info("idle check of %s failed (%s): putting it to sleep", self.sprite_name, exc)
        return False

    # ------------------------------------------------------------------ checkpoints, delete

    async def checkpoint_list(self) -> list[Checkpoint]:
        return await self._provider.checkpoint_list(self.sprite_name)

    async def checkpoint_create(self, comment: str | None) -> Checkpoint:
        async with self._lock:
            return await self._provider.checkpoint_create(self.sprite_name, comment)

    async def checkpoint_restore(self, checkpoint_id: str) -> None:
        async with self._lock:
            known = {c.id for c in await self._provider.checkpoint_list(self.sprite_name)}
            if checkpoint_id not in known:
                raise ProviderError("unknown_checkpoint", f"no checkpoint {checkpoint_id!r}")
            # Stopped first, whatever the provider: every attached session sees its connection
            # drop and, once this lock is released, wakes the restored state and redraws.
            await self._put_to_sleep_locked()
            await self._provider.checkpoint_restore(self.sprite_name, checkpoint_id)
        log.info("sprite %s restored to %s", self.sprite_name, checkpoint_id)

    async def shutdown(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
            with contextlib.suppress(BaseException):
                await self._idle_task
