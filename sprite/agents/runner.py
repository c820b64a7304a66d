"""The crew's mission runner: one live Claude Agent SDK client per mission thread.

A thread is a mission and its follow-ups. Its first mission starts a CLI (``ClaudeSDKClient``)
with the crew; follow-ups in the thread reuse that live client — no new CLI per turn — or, when
it was closed (idle, Sprite restart), start one that resumes the thread's SDK session from disk.
Idle clients are closed after ``idle_seconds``, the least recently used first when more than
``max_live`` are open, and all of them on :meth:`CrewRunner.close`.

Per turn: the mission text goes to the client, the SDK's messages are translated into
``agent_event``s (text coalesced), the mission's draft is committed when the turn succeeds and
dropped when it fails or is cancelled, and the turn ends with exactly one ``complete`` or
``error`` event (on cancel the runtime reports it). Cancel interrupts the CLI, then kills it if
it does not stop in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from claude_agent_sdk import ClaudeSDKClient, ResultMessage

from sprite.agents import crew, store
from sprite.agents.commit import commit_mission_work
from sprite.agents.events import EventTranslator, TextCoalescer
from sprite.agents.scope import MissionScope
from sprite.agents.tools import build_server
from sprite.agents.tools.canvas import canvas_tools
from sprite.agents.tools.documents import document_tools
from sprite.agents.tools.extraction import extraction_tools
from sprite.agents.tools.stacks import stack_tools
from sprite.missions import MissionContext
from stackdocs.config import SpriteSettings

log = logging.getLogger("sprite.agents")

IDLE_SECONDS = 300.0
MAX_LIVE_SESSIONS = 3
INTERRUPT_SECONDS = 5.0  # for the CLI to acknowledge an interrupt
STOP_SECONDS = 10.0  # for the interrupted turn to end before the CLI is killed
CONTEXT_DOCUMENTS = 20  # documents listed in the prompt (more: the agents list them)
_END = object()

ERROR_HINTS = {
    "rate_limit": "The model endpoint is rate-limiting requests; try again in a minute.",
    "server_error": "The model endpoint failed; check the upstream server the bridge uses"
    " (ANTHROPIC_UPSTREAM_URL).",
    "authentication_failed": "The bridge refused this workspace's proxy token, or the upstream"
    " refused the bridge's ANTHROPIC_API_KEY.",
    "billing_error": "The upstream account cannot be billed (check ANTHROPIC_API_KEY's account).",
    "invalid_request": "The model endpoint refused the request (is STACKDOCS_MODEL a model it"
    " serves?).",
    "model_not_found": "Set STACKDOCS_MODEL on the bridge to a model that the upstream"
    " (ANTHROPIC_UPSTREAM_URL) serves.",
}


def _is_timeout(text: str) -> bool:
    lowered = text.lower()
    return "timed out" in lowered or "timeout" in lowered


@dataclass
class LiveSession:
    thread_id: str
    scope: MissionScope
    client: ClaudeSDKClient
    session_id: str | None = None
    busy: bool = False
    last_used: float = field(default_factory=time.monotonic)
    cli_pid: int | None = None  # to kill a CLI that no longer answers


def _cli_pid(client: ClaudeSDKClient) -> int | None:
    """The CLI's process id (the SDK does not expose it; read defensively)."""
    process = getattr(getattr(client, "_transport", None), "_process", None)
    pid = getattr(process, "pid", None)
    return pid if isinstance(pid, int) else None


class ExtractionReads:
    """What works without a model: answering ``extraction_request`` from the saved rows."""

    async def handle_extraction_request(self, storage: Any, document_id: str) -> dict[str, Any]:
        payload = await store.extraction_payload(storage, document_id)
        if await storage.get_document(document_id) is None:
            payload["error"] = f"no document {document_id}"
        return payload


class CrewRunner(ExtractionReads):
    def __init__(
        self,
        settings: SpriteSettings,
        *,
        idle_seconds: float = IDLE_SECONDS,
        max_live: int = MAX_LIVE_SESSIONS,
        text_interval: float = 0.05,
    ) -> None:
        self.settings = settings
        self.idle_seconds = idle_seconds
        self.max_live = max_live
        self.text_interval = text_interval
        self.sessions: dict[str, LiveSession] = {}
        self._thread_locks: dict[str, asyncio.Lock] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False
        self.clients_started = 0  # CLIs started so far (a bench and test figure)

    # -- sessions ----------------------------------------------------------------------------

    async def _start_session(
        self, ctx: MissionContext, thread_id: str, resume: str | None
    ) -> LiveSession:
        await asyncio.to_thread(crew.prepare_dirs, ctx.workspace)
        scope = MissionScope(
            storage=ctx.storage,
            workspace=ctx.workspace,
            model=self.settings.model or "default",
            session_id=resume,
        )
        server = build_server(
            [
                *document_tools(scope),
                *extraction_tools(scope),
                *canvas_tools(scope),
                *stack_tools(scope),
            ]
        )
        options = crew.session_options(
            self.settings,
            ctx.workspace,
            server,
            resume=resume,
            stderr=lambda line: log.debug("cli: %s", line.rstrip()),
        )
        await self._make_room()
        client = ClaudeSDKClient(options)
        await client.connect()
        self.clients_started += 1
        live = LiveSession(thread_id, scope, client, session_id=resume, cli_pid=_cli_pid(client))
        self.sessions[thread_id] = live
        self._ensure_reaper()
        return live

    async def _make_room(self) -> None:
        idle = sorted((s for s in self.sessions.values() if not s.busy), key=lambda s: s.last_used)
        while len(self.sessions) >= self.max_live and idle:
            await self._discard(idle.pop(0))

    async def _discard(self, live: LiveSession) -> None:
        if self.sessions.get(live.thread_id) is live:
            del self.sessions[live.thread_id]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(live.client.disconnect(), 30)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap_idle(), name="agents-idle-reaper")

    async def _reap_idle(self) -> None:
        while self.sessions:
            await asyncio.sleep(max(0.05, min(self.idle_seconds / 2, 30.0)))
            now = time.monotonic()
            for live in list(self.sessions.values()):
                if not live.busy and now - live.last_used >= self.idle_seconds:
                    log.info("closing idle agent session of thread %s", live.thread_id)
                    await self._discard(live)

    async def close(self) -> None:
        """Stop every CLI (the Sprite is going to sleep or shutting down)."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(BaseException):
                await self._reaper
        for live in list(self.sessions.values()):
            await self._discard(live)

    # -- missions ----------------------------------------------------------------------------

    async def run(self, ctx: MissionContext) -> None:
        mission = await ctx.storage.get_mission(ctx.mission_id)
        thread_id = mission["thread_id"] if mission else ctx.mission_id
        lock = self._thread_locks.setdefault(thread_id, asyncio.Lock())
        async with lock:  # one turn at a time per thread: the SDK session is sequential
            if ctx.cancelled.is_set():
                return
            live = self.sessions.get(thread_id)
            if live is not None and ctx.resume_session_id not in (None, live.session_id):
                await self._discard(live)  # the thread moved on (e.g. a restored checkpoint)
                live = None
            if live is None:
                live = await self._open_session(ctx, thread_id)
                if live is None:
                    return
            live.busy = True
            try:
                await self._turn(live, ctx)
            finally:
                live.busy = False
                live.last_used = time.monotonic()
                live.scope.unbind()
                if self._closed:
                    await self._discard(live)

    async def _open_session(self, ctx: MissionContext, thread_id: str) -> LiveSession | None:
        """Start the thread's CLI, resuming its SDK session; if that session is gone (e.g. the
        workspace was restored from an older checkpoint), say so and start a fresh one."""
        resume = ctx.resume_session_id
        try:
            return await self._start_session(ctx, thread_id, resume)
        except Exception as exc:
            if resume is None or "No conversation found" not in str(exc):
                log.exception("could not start the agents for mission %s", ctx.mission_id)
                await self._error(ctx, f"The agents could not start: {exc}", kind="runtime")
                return None
        log.warning("session %s of thread %s is gone; starting a new one", resume, thread_id)
        await ctx.emit(
            "agent_event",
            {
                "event_type": "text",
                "content": "(The earlier conversation of this thread could not be found, so"
                " the agents start afresh; saved extractions are unaffected.)\n\n",
                "meta": {"agent": "system", "notice": "session_not_found"},
            },
        )
        try:
            return await self._start_session(ctx, thread_id, None)
        except Exception as exc:
            log.exception("could not start the agents for mission %s", ctx.mission_id)
            await self._error(ctx, f"The agents could not start: {exc}", kind="runtime")
            return None

    def _prompt(self, ctx: MissionContext, filenames: dict[str, str]) -> str:
        if not filenames:
            return f"{ctx.text}\n\n[Workspace: no documents yet.]"
        shown = list(filenames.items())[:CONTEXT_DOCUMENTS]
        listed = "; ".join(f"{name} (id={doc_id})" for doc_id, name in shown)
        more = f" and {len(filenames) - len(shown)} more" if len(filenames) > len(shown) else ""
        return f"{ctx.text}\n\n[Workspace documents: {listed}{more}.]"

    async def _turn(self, live: LiveSession, ctx: MissionContext) -> None:
        scope = live.scope
        scope.bind(ctx.mission_id, ctx.emit)
        scope.session_id = live.session_id
        filenames = await scope.refresh_filenames()
        translator = EventTranslator(filenames=scope.filenames)
        coalescer = TextCoalescer(self.text_interval)
        started = time.monotonic()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        try:
            await live.client.query(self._prompt(ctx, filenames))
        except Exception as exc:
            await self._discard(live)
            await self._error(ctx, f"The agents stopped unexpectedly: {exc}", kind="runtime")
            return
        pump = asyncio.create_task(self._pump(live.client, queue), name=f"pump-{ctx.mission_id}")
        cancelled = asyncio.create_task(ctx.cancelled.wait())
        getter: asyncio.Task[Any] | None = None

        async def flush() -> None:
            text = coalescer.take()
            if text:
                await ctx.emit(
                    "agent_event",
                    {"event_type": "text", "content": text, "meta": {"agent": "commander"}},
                )

        try:
            while True:
                if getter is None:
                    getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait(
                    {getter, cancelled},
                    timeout=coalescer.due_in(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if getter not in done:
                    if cancelled in done:
                        await flush()
                        await self._stop_turn(live, pump)
                        return
                    await flush()  # the coalescing interval is up
                    continue
                item, getter = getter.result(), None
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                known = translator.session_id
                for out in translator.translate(item):
                    if out.kind == "text":
                        coalescer.add(out.text)
                        if coalescer.due_in() == 0:
                            await flush()
                    else:
                        await flush()
                        await ctx.emit("agent_event", out.event or {})
                if translator.session_id and translator.session_id != known:
                    await self._remember_session(live, ctx, translator.session_id)
                if isinstance(item, ResultMessage):
                    break
            await flush()
            await self._conclude(live, ctx, translator, started)
        except Exception as exc:
            log.exception("agent session of mission %s failed", ctx.mission_id)
            with contextlib.suppress(Exception):
                await flush()
            lost = "" if scope.draft.is_empty() else " Nothing from this mission was saved."
            scope.draft.clear()
            await self._discard(live)
            await self._error(ctx, f"The agents stopped unexpectedly: {exc}.{lost}", kind="runtime")
        finally:
            for task in (getter, cancelled):
                if task is not None and not task.done():
                    task.cancel()
            if not pump.done():
                pump.cancel()
                with contextlib.suppress(BaseException):
                    await pump

    @staticmethod
    async def _pump(client: ClaudeSDKClient, queue: asyncio.Queue[Any]) -> None:
        """Move the SDK's messages of one turn into ``queue`` (then ``_END``, or the error)."""
        try:
            async for message in client.receive_response():
                queue.put_nowait(message)
            queue.put_nowait(_END)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            queue.put_nowait(exc)

    async def _remember_session(
        self, live: LiveSession, ctx: MissionContext, session_id: str
    ) -> None:
        live.session_id = session_id
        live.scope.session_id = session_id
        await ctx.storage.set_mission_session(ctx.mission_id, session_id)

    async def _stop_turn(self, live: LiveSession, pump: asyncio.Task[None]) -> None:
        """Cancel: interrupt the CLI and let the turn end; kill the CLI if it does not."""
        live.scope.draft.clear()
        try:
            await asyncio.wait_for(live.client.interrupt(), INTERRUPT_SECONDS)
            await asyncio.wait_for(asyncio.shield(pump), STOP_SECONDS)
        except Exception:
            log.warning("agents of thread %s did not stop; killing the CLI", live.thread_id)
            if live.cli_pid is not None:
                # The SDK's own shutdown is graceful (stdin EOF, then SIGTERM, ~10 s): a CLI
                # that ignored the interrupt gets SIGKILL at once.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(live.cli_pid, signal.SIGKILL)
            await self._discard(live)

    async def _conclude(
        self,
        live: LiveSession,
        ctx: MissionContext,
        translator: EventTranslator,
        started: float,
    ) -> None:
        result = translator.result
        scope = live.scope
        if result is None or result.is_error or translator.model_error:
            lost = "" if scope.draft.is_empty() else " Nothing from this mission was saved."
            scope.draft.clear()
            if translator.model_error:
                detail = translator.model_error
                hint = ERROR_HINTS.get(translator.model_error_kind or "", "")
                if _is_timeout(detail):
                    limit = self.settings.model_timeout_seconds
                    hint = f"The model did not answer within {limit:g} s (STACKDOCS_MODEL_TIMEOUT)."
                message = f"The model request failed: {detail}." + (f" {hint}" if hint else "")
                await self._error(
                    ctx,
                    message + lost,
                    kind="model",
                    extra={
                        "error": translator.model_error_kind,
                        "status": getattr(result, "api_error_status", None),
                    },
                )
            elif result is None:
                await self._error(ctx, "The agents ended without a result." + lost, kind="runtime")
            else:
                reasons = "; ".join(result.errors or []) or result.subtype
                await self._error(
                    ctx,
                    f"The mission did not finish: {reasons}.{lost}",
                    kind="agents",
                    extra={"subtype": result.subtype},
                )
            return
        saved = None
        if not scope.draft.is_empty():
            saved = (await commit_mission_work(scope)).describe()
        meta: dict[str, Any] = {
            "status": "completed",
            "session_id": translator.session_id,
            "duration_ms": int((time.monotonic() - started) * 1000),
            "num_turns": result.num_turns,
            "tools": translator.tools_started,
        }
        if result.total_cost_usd is not None:
            meta["cost_usd"] = round(result.total_cost_usd, 6)
        if saved:
            meta["saved"] = saved
        await ctx.emit(
            "agent_event",
            {"event_type": "complete", "content": f"{saved}." if saved else "", "meta": meta},
        )

    @staticmethod
    async def _error(
        ctx: MissionContext, message: str, *, kind: str, extra: dict[str, Any] | None = None
    ) -> None:
        meta = {"kind": kind, **{k: v for k, v in (extra or {}).items() if v is not None}}
        await ctx.emit("agent_event", {"event_type": "error", "content": message, "meta": meta})
