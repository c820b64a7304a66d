"""The Sprite's services wired together, and the routing of client frames to them.

:class:`SpriteRuntime` owns the storage, the ingest pipeline, the missions in flight and the
hub of connected clients. The socket layer (``sprite.server``) authenticates connections and
hands each parsed frame to :meth:`SpriteRuntime.handle`; everything that takes longer than a
database query runs in a background task, so one client's request never stalls the socket loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sprite.clients import Client, Hub
from sprite.ingest import Ingest
from sprite.missions import MissionContext, MissionRunner
from sprite.storage import Storage, new_id
from sprite.workspace import Workspace
from stackdocs.config import SpriteSettings
from stackdocs.protocol import (
    MAX_FRAME_BYTES,
    PAYLOADS,
    ArtifactRequestPayload,
    DocumentRequestPayload,
    ExtractionRequestPayload,
    Frame,
    MissionCancelPayload,
    MissionPayload,
    StackCreatePayload,
    encode,
    error_frame,
)

log = logging.getLogger("sprite.runtime")

INTERRUPTED = "the Sprite stopped while this mission was running"
# An artifact_request answer never exceeds this (the frame limit, with room for the envelope).
MAX_ARTIFACT_FRAME_DATA = MAX_FRAME_BYTES - 64 * 1024


@dataclass
class RunningMission:
    kind: str  # "shell" | "agent"
    task: asyncio.Task[None] | None = None
    final_event: str | None = None  # "complete" | "error" once the runner reported one
    final_content: str = ""
    interrupted: bool = False  # the Sprite is stopping (not a user's cancel)
    ctx: MissionContext = field(init=False)  # built after, as its emit needs this object


class SpriteRuntime:
    def __init__(
        self,
        workspace: Workspace,
        storage: Storage,
        settings: SpriteSettings,
        runner_factory: Callable[[SpriteSettings], MissionRunner] | None = None,
    ) -> None:
        self.workspace = workspace
        self.storage = storage
        self.settings = settings
        self.hub = Hub()
        self.missions: dict[str, RunningMission] = {}
        self._runner_factory = runner_factory
        self._runner: MissionRunner | None = None
        self._shut_down = False
        self.ingest = Ingest(workspace, storage, settings, self.emit)
        self._handlers: dict[str, Callable[[Client, Frame], Awaitable[None]]] = {
            "ping": self._on_ping,
            "pong": self._on_pong,
            "state_request": self._on_state_request,
            "mission": self._on_mission,
            "mission_cancel": self._on_mission_cancel,
            "file_upload": self.ingest.on_file_upload,
            "file_upload_start": self.ingest.on_upload_start,
            "file_upload_chunk": self.ingest.on_upload_chunk,
            "file_upload_end": self.ingest.on_upload_end,
            "document_request": self._on_document_request,
            "artifact_request": self._on_artifact_request,
            "stack_create": self._on_stack_create,
            "extraction_request": self._on_extraction_request,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        root: Path,
        settings: SpriteSettings,
        runner_factory: Callable[[SpriteSettings], MissionRunner] | None = None,
    ) -> SpriteRuntime:
        """Create/open the workspace and reconcile what a crash may have left behind."""
        workspace = Workspace(root)
        await asyncio.to_thread(workspace.create)
        storage = await Storage.open(workspace.database)
        runtime = cls(workspace, storage, settings, runner_factory)
        await runtime._reconcile()
        return runtime

    async def _reconcile(self) -> None:
        removed = await asyncio.to_thread(self.workspace.remove_temp_files)
        if removed:
            log.info("removed %d half-written files: %s", len(removed), ", ".join(removed[:10]))
        interrupted = await self.storage.interrupt_running_missions(INTERRUPTED)
        for mission_id in interrupted:
            await self.storage.add_mission_event(
                mission_id,
                {
                    "event_type": "error",
                    "content": f"Interrupted: {INTERRUPTED}.",
                    "mission_id": mission_id,
                    "meta": {"status": "interrupted"},
                },
            )
        await self.ingest.reconcile()

    def start(self) -> None:
        """Start background services (call once the event loop serves clients)."""
        self.ingest.start()

    def runner(self) -> MissionRunner:
        """The agent runner, created on first use: the agent SDK is heavy to import, and a
        Sprite must answer its first ping quickly."""
        if self._runner is None:
            factory = self._runner_factory
            if factory is None:
                from sprite.agents import create_runner

                factory = create_runner
            self._runner = factory(self.settings)
        return self._runner

    async def shutdown(self) -> None:
        """Graceful stop: running missions become ``interrupted``, work in flight is finished
        or rolled back atomically, the runner is closed, the database closed last."""
        if self._shut_down:
            return
        self._shut_down = True
        for running in list(self.missions.values()):
            running.interrupted = True
            if running.kind == "shell" and running.task is not None:
                running.task.cancel()  # the shell kills its process group and records it
            else:
                running.ctx.cancelled.set()  # runners stop cooperatively
        tasks = [r.task for r in self.missions.values() if r.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=5)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)
        await self.ingest.stop()
        await self.storage.interrupt_running_missions(INTERRUPTED)
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.close()
        await self.storage.close()

    # -- frames in ---------------------------------------------------------------------------

    async def handle(self, client: Client, frame: Frame) -> None:
        handler = self._handlers.get(frame.type)
        if handler is None:
            where = "the bridge" if frame.type.startswith("checkpoint") else "nobody here"
            client.send(
                error_frame(
                    "unsupported",
                    f"'{frame.type}' is not handled by the Sprite (handled by {where})",
                    id=frame.id,
                )
            )
            return
        await handler(client, frame)

    async def client_gone(self, client: Client) -> None:
        await self.ingest.client_gone(client)

    # -- frames out --------------------------------------------------------------------------

    async def emit(self, msg_type: str, payload: dict[str, Any], *, id: str | None = None) -> None:
        """Broadcast a frame to every client (callers persist what it reports first)."""
        self.hub.broadcast(encode(msg_type, payload, id=id))

    def _mission_emitter(
        self, mission_id: str, running: RunningMission, request_id: str | None
    ) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
        first = [request_id]

        async def emit(msg_type: str, payload: dict[str, Any]) -> None:
            payload = dict(payload)
            payload.setdefault("mission_id", mission_id)
            model = PAYLOADS.get(msg_type)
            if model is None:
                raise ValueError(f"unknown frame type {msg_type!r}")
            payload = model.model_validate(payload).model_dump(mode="json", exclude_none=True)
            if msg_type == "agent_event":
                await self.storage.add_mission_event(payload["mission_id"], payload)
                if payload["event_type"] in ("complete", "error"):
                    # The mission's row is final before any client hears it is over.
                    running.final_event = payload["event_type"]
                    running.final_content = payload.get("content", "")
                    status = (payload.get("meta") or {}).get("status")
                    if status not in ("cancelled", "interrupted"):
                        status = "completed" if running.final_event == "complete" else "failed"
                    error = None
                    if status != "completed":
                        error = running.final_content[:2000] or status
                    await self.storage.finish_mission(mission_id, status, error)
            elif msg_type == "canvas_update":
                await self.storage.upsert_artifact(
                    artifact_id=payload["artifact_id"],
                    artifact_type=payload["artifact_type"],
                    title=payload.get("title", ""),
                    mission_id=payload.get("mission_id"),
                    data=payload.get("data"),
                    file_path=payload.pop("file_path", None),
                )
            frame = encode(msg_type, payload, id=first[0])
            first[0] = None  # the request's id goes on the first frame only
            if len(frame) > MAX_FRAME_BYTES and msg_type == "canvas_update":
                frame = encode(msg_type, {**payload, "data": None, "truncated": True})
            self.hub.broadcast(frame)

        return emit

    # -- handlers ----------------------------------------------------------------------------

    async def _on_ping(self, client: Client, frame: Frame) -> None:
        client.send(encode("pong", {}, id=frame.id))

    async def _on_pong(self, client: Client, frame: Frame) -> None:
        return None

    async def _on_state_request(self, client: Client, frame: Frame) -> None:
        client.send(encode("state", await self.storage.state(), id=frame.id))

    async def _on_mission(self, client: Client, frame: Frame) -> None:
        request = cast(MissionPayload, frame.payload)
        text, requested = request.text, request.mission_id
        parent_id: str | None = None
        mission_id = new_id()
        if requested:
            if await self.storage.get_mission(requested) is not None:
                parent_id = requested  # a follow-up in that mission's thread
            else:
                mission_id = requested  # the client chose the id of a new mission
        kind = "shell" if text.startswith("!") else "agent"
        mission = await self.storage.create_mission(mission_id, text, kind, parent_id)
        resume = None
        if parent_id is not None:
            resume = await self.storage.thread_session_id(mission["thread_id"])
        running = RunningMission(kind)
        running.ctx = MissionContext(
            mission_id=mission_id,
            text=text,
            workspace=self.workspace.root,
            storage=self.storage,
            settings=self.settings,
            emit=self._mission_emitter(mission_id, running, frame.id),
            cancelled=asyncio.Event(),
            resume_session_id=resume,
        )
        self.missions[mission_id] = running
        running.task = asyncio.create_task(self._run_mission(running), name=mission_id)

    async def _run_mission(self, running: RunningMission) -> None:
        """Run one mission; make sure it ends with exactly one final event and status."""
        ctx = running.ctx
        failure: str | None = None
        try:
            if running.kind == "shell":
                from sprite.shell import run_shell_mission

                await run_shell_mission(ctx, self.workspace)
            else:
                await self.runner().run(ctx)
        except asyncio.CancelledError:
            running.interrupted = True  # the Sprite is stopping
        except Exception as exc:
            log.exception("mission %s failed", ctx.mission_id)
            failure = f"{type(exc).__name__}: {exc}"
        try:
            if running.final_event is not None:
                return  # the runner ended it; its final event already set the status
            if running.interrupted:
                await ctx.emit(
                    "agent_event",
                    {
                        "event_type": "error",
                        "content": f"Interrupted: {INTERRUPTED}.",
                        "meta": {"status": "interrupted"},
                    },
                )
            elif ctx.cancelled.is_set():
                await ctx.emit(
                    "agent_event",
                    {
                        "event_type": "error",
                        "content": "Mission cancelled.",
                        "meta": {"status": "cancelled"},
                    },
                )
            elif failure is not None:
                await ctx.emit("agent_event", {"event_type": "error", "content": failure})
            else:
                await self.storage.finish_mission(ctx.mission_id, "completed")
        except Exception:
            log.exception("could not record the end of mission %s", ctx.mission_id)
        finally:
            self.missions.pop(ctx.mission_id, None)

    async def _on_mission_cancel(self, client: Client, frame: Frame) -> None:
        mission_id = cast(MissionCancelPayload, frame.payload).mission_id
        running = self.missions.get(mission_id)
        if running is None or running.final_event is not None:
            mission = await self.storage.get_mission(mission_id)
            detail = "unknown mission" if mission is None else f"mission is {mission['status']}"
            client.send(error_frame("not_running", f"cannot cancel: {detail}", id=frame.id))
            return
        running.ctx.cancelled.set()

    async def _on_document_request(self, client: Client, frame: Frame) -> None:
        document_id = cast(DocumentRequestPayload, frame.payload).document_id
        document = await self.storage.get_document(document_id)
        if document is None:
            client.send(error_frame("not_found", f"no document {document_id}", id=frame.id))
            return
        pages = await self.storage.get_pages(document_id)
        payload = {
            "document_id": document_id,
            "filename": document["filename"],
            "status": document["status"],
            "engine": document.get("engine"),
            "error": document.get("error"),
            "pages": [{"page": p["page"], "text": p["text"]} for p in pages],
        }
        reply = encode("document_content", payload, id=frame.id)
        if len(reply) > MAX_FRAME_BYTES:
            client.send(
                error_frame(
                    "too_large",
                    f"document text is {len(reply)} bytes, over the frame limit; read"
                    f" {document.get('text_path')} in the workspace",
                    id=frame.id,
                )
            )
            return
        client.send(reply)

    async def _on_artifact_request(self, client: Client, frame: Frame) -> None:
        artifact_id = cast(ArtifactRequestPayload, frame.payload).artifact_id
        artifact = await self.storage.get_artifact(artifact_id)
        if artifact is None:
            client.send(error_frame("not_found", f"no artifact {artifact_id}", id=frame.id))
            return
        data = artifact["data"]
        truncated = False
        if artifact["artifact_type"] == "terminal" and artifact.get("file_path"):
            from sprite.shell import full_terminal_data

            data, truncated = await full_terminal_data(
                self.workspace, artifact, MAX_ARTIFACT_FRAME_DATA
            )
        payload = {
            "artifact_id": artifact_id,
            "artifact_type": artifact["artifact_type"],
            "title": artifact["title"],
            "data": data,
            "mission_id": artifact["mission_id"],
            "truncated": truncated,
        }
        reply = encode("canvas_update", payload, id=frame.id)
        if len(reply) > MAX_FRAME_BYTES:
            reply = encode(
                "canvas_update", {**payload, "data": None, "truncated": True}, id=frame.id
            )
        client.send(reply)

    async def _on_stack_create(self, client: Client, frame: Frame) -> None:
        stack_request = cast(StackCreatePayload, frame.payload)
        name = stack_request.name.strip()
        if not name:
            client.send(error_frame("invalid_payload", "stack name is empty", id=frame.id))
            return
        try:
            stack = await self.storage.create_stack(
                name,
                stack_request.document_ids,
                getattr(frame.payload, "description", None),
            )
        except LookupError as exc:
            client.send(error_frame("not_found", str(exc), id=frame.id))
            return
        await self.emit("stack_update", {"stack": stack}, id=frame.id)

    async def _on_extraction_request(self, client: Client, frame: Frame) -> None:
        handler = getattr(self.runner(), "handle_extraction_request", None)
        if handler is None:
            client.send(
                error_frame(
                    "not_available",
                    "field extraction is done by the agent crew, which is not installed yet",
                    id=frame.id,
                )
            )
            return
        document_id = cast(ExtractionRequestPayload, frame.payload).document_id
        payload = await handler(self.storage, document_id)
        client.send(encode("extraction", payload, id=frame.id))
