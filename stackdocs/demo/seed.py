"""Building the demo workspace through the real product, then checkpointing it.

Nothing is written by hand: the seeder serves the bridge's own API (``bridge.routes.build_api``,
the same ``/ws`` relay, provider and Sprite runtime as ``stackdocs run``) on a private loopback
port, signs in as ``demo`` with a token from the local issuer, and behaves like any programmatic
client of SPEC.md: it uploads the generated documents in chunks, waits for the Sprite's OCR, sends
the seed missions one after the other and waits for each to finish, checks the result, and asks
the bridge for a checkpoint — the seeded state that ``stackdocs demo --reset`` restores.

Every step looks at the workspace's ``state`` first and does only what is missing, so an
interrupted seed resumes without duplicating a document, a stack or a mission.

Without a model, the Sprite started here gets ``STACKDOCS_DEMO_EXTRACTOR=1`` (through a provider
wrapper: the bridge's own environment code is unchanged), so its missions are run by the
deterministic demo extractor; with ``--live`` it gets the model proxy like any Sprite and the
agents run the same missions.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.providers.base import (
    Checkpoint,
    EnvironmentFactory,
    RuntimeStatus,
    SpriteEndpoint,
    SpriteProvider,
)
from stackdocs.config import BridgeSettings
from stackdocs.demo.documents import GeneratedDocument, generate_documents
from stackdocs.demo.facts import INVOICES
from stackdocs.demo.missions import SEED_MISSIONS, STACK_NAME, STACK_TABLE_NAME, SeedMission
from stackdocs.protocol import FrameError, encode, parse_frame

DEMO_USER = "demo"
SEED_VERSION = 1
CHUNK_BYTES = 256 * 1024
ARTIFACT_TYPES = ("table", "json", "chart", "markdown", "terminal")
INGEST_TIMEOUT_SECONDS = 300.0
MISSION_TIMEOUT_SECONDS = {False: 300.0, True: 1800.0}  # deterministic / live (a real model)
SERVER_START_SECONDS = 120.0

Say = Callable[[str], None]


class DemoError(Exception):
    """The demo cannot be prepared; ``str()`` is one line for the presenter."""


def checkpoint_comment(live: bool) -> str:
    """The seed checkpoint's comment: shown in the app's checkpoint list, and how a later
    ``stackdocs demo`` recognises the seed (version and who ran the missions)."""
    by = "agents" if live else "deterministic extractor"
    return f"Demo seed v{SEED_VERSION} ({by})"


def is_seed_checkpoint(checkpoint: Checkpoint) -> bool:
    return (checkpoint.comment or "").startswith(f"Demo seed v{SEED_VERSION} (")


def seeded_live(checkpoint: Checkpoint) -> bool:
    return (checkpoint.comment or "").endswith("(agents)")


# ----------------------------------------------------------------------------- provider wrapper


class SeedingProvider(SpriteProvider):
    """A provider that adds variables to the environment of the Sprites it starts.

    Used only by the seeder, to switch on the demo extractor in the Sprite it drives; every
    other call goes to the real provider unchanged.
    """

    def __init__(self, inner: SpriteProvider, extra_env: dict[str, str]) -> None:
        self.inner = inner
        self.extra_env = dict(extra_env)
        self.name = inner.name

    def __getattr__(self, name: str) -> Any:  # sandboxed, workspace_path, ...
        return getattr(self.inner, name)

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    def warnings(self) -> list[str]:
        return self.inner.warnings()

    async def create(self, sprite_name: str) -> None:
        await self.inner.create(sprite_name)

    async def wake(self, sprite_name: str, environment: EnvironmentFactory) -> SpriteEndpoint:
        async def with_extra() -> dict[str, str]:
            return {**await environment(), **self.extra_env}

        return await self.inner.wake(sprite_name, with_extra)

    async def sleep(self, sprite_name: str) -> None:
        await self.inner.sleep(sprite_name)

    async def status(self, sprite_name: str) -> RuntimeStatus:
        return await self.inner.status(sprite_name)

    async def checkpoint_create(self, sprite_name: str, comment: str | None) -> Checkpoint:
        return await self.inner.checkpoint_create(sprite_name, comment)

    async def checkpoint_list(self, sprite_name: str) -> list[Checkpoint]:
        return await self.inner.checkpoint_list(sprite_name)

    async def checkpoint_restore(self, sprite_name: str, checkpoint_id: str) -> None:
        await self.inner.checkpoint_restore(sprite_name, checkpoint_id)

    async def delete(self, sprite_name: str) -> None:
        await self.inner.delete(sprite_name)


# ----------------------------------------------------------------------------- a /ws client


class WorkspaceClient:
    """A programmatic client of ``/ws``: send frames, wait for the ones that answer them."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self.frames: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self._closed: BaseException | None = None
        self._reader = asyncio.create_task(self._read(), name="demo-seed-reader")

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                frame = parse_frame(raw)
                if isinstance(frame, FrameError):
                    continue
                async with self._arrived:
                    self.frames.append(
                        {
                            "type": frame.type,
                            "id": frame.id,
                            "payload": frame.payload.model_dump(mode="json"),
                        }
                    )
                    self._arrived.notify_all()
        except Exception as exc:
            self._closed = exc
        finally:
            if self._closed is None:
                self._closed = ConnectionError("the bridge closed the connection")
            async with self._arrived:
                self._arrived.notify_all()

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader
        with contextlib.suppress(Exception):
            await self._ws.close()

    async def send(self, msg_type: str, payload: dict[str, Any], id: str | None = None) -> None:
        await self._ws.send(encode(msg_type, payload, id=id))

    async def wait(
        self, match: Callable[[dict[str, Any]], bool], within: float, what: str
    ) -> dict[str, Any]:
        """The first frame (received so far or later) for which ``match`` is true."""
        seen = 0
        try:
            async with asyncio.timeout(within):
                async with self._arrived:
                    while True:
                        for frame in self.frames[seen:]:
                            if match(frame):
                                return frame
                        seen = len(self.frames)
                        if self._closed is not None:
                            raise DemoError(f"lost the workspace while waiting for {what}")
                        await self._arrived.wait()
        except TimeoutError:
            raise DemoError(f"timed out after {within:g} s waiting for {what}") from None

    async def request(
        self, msg_type: str, payload: dict[str, Any], answer: str, within: float = 60
    ) -> dict[str, Any]:
        """Send a frame and wait for its answer of type ``answer`` (or an error about it)."""
        frame_id = f"demo-{uuid.uuid4().hex[:12]}"
        await self.send(msg_type, payload, id=frame_id)
        reply = await self.wait(
            lambda f: f["id"] == frame_id and f["type"] in (answer, "error"),
            within,
            f"the answer to {msg_type}",
        )
        if reply["type"] == "error":
            raise DemoError(f"{msg_type} refused: {reply['payload'].get('message')}")
        return reply["payload"]

    async def state(self) -> dict[str, Any]:
        return await self.request("state_request", {}, "state")


# ----------------------------------------------------------------------------- the seed


@dataclass
class SeedReport:
    documents: int = 0
    uploaded: int = 0
    missions_run: list[str] = field(default_factory=list)
    cited_cells: int = 0
    flagged_cells: int = 0
    checkpoint: Checkpoint | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def serve_seeding_bridge(
    settings: BridgeSettings, *, live: bool
) -> AsyncIterator[tuple[str, Any]]:
    """The bridge's API on a private loopback port (not the demo's own port, which must stay
    closed until the app is up). Yields the ``/ws`` URL and the started bridge."""
    import uvicorn

    from bridge.hub import Bridge
    from bridge.providers import create_provider
    from bridge.routes import build_api

    port = _free_port()
    seeding = replace(settings, port=port, public_url=f"http://127.0.0.1:{port}")
    extra = {} if live else {"STACKDOCS_DEMO_EXTRACTOR": "1"}

    def bridge() -> Bridge:
        return Bridge(seeding, provider=SeedingProvider(create_provider(seeding), extra))

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # Ctrl-C belongs to `stackdocs demo`: it cancels the seed, whose cleanup stops
            # this server (and the Sprite); uvicorn must not swallow it.
            yield

    api = build_api(seeding, bridge_factory=bridge)
    server = Server(
        uvicorn.Config(
            api, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws_max_size=2**25
        )
    )
    task = asyncio.create_task(server.serve(), name="demo-seed-bridge")
    try:
        async with asyncio.timeout(SERVER_START_SECONDS):
            while not server.started:
                if task.done():
                    task.result()
                    raise DemoError("the seeding bridge stopped while starting")
                await asyncio.sleep(0.02)
        yield f"ws://127.0.0.1:{port}/ws", api.state.slot.get()
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 60)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed_workspace(settings: BridgeSettings, *, live: bool, say: Say) -> SeedReport:
    """Build the demo workspace of user ``demo`` and checkpoint it."""
    import websockets

    report = SeedReport()
    clock = time.monotonic()
    documents = await asyncio.to_thread(generate_documents)
    report.documents = len(documents)
    report.timings["generate"] = time.monotonic() - clock

    async with serve_seeding_bridge(settings, live=live) as (ws_url, bridge):
        token = bridge.mint_local_token(DEMO_USER, ttl=3 * 3600)
        async with websockets.connect(ws_url, max_size=2**25, open_timeout=30) as ws:
            client = WorkspaceClient(ws)
            try:
                await client.send("auth", {"token": token})
                await client.wait(
                    lambda f: f["type"] == "sprite_status" and f["payload"]["status"] == "ready",
                    SERVER_START_SECONDS,
                    "the demo workspace to start",
                )
                report.timings["start"] = time.monotonic() - clock

                clock = time.monotonic()
                report.uploaded = await _ingest(client, documents, say)
                report.timings["ingest"] = time.monotonic() - clock

                clock = time.monotonic()
                for mission in SEED_MISSIONS:
                    if await _run_mission(client, mission, live=live, say=say):
                        report.missions_run.append(mission.key)
                report.timings["missions"] = time.monotonic() - clock

                state = await client.state()
                _check_result(state, report, live=live)

                clock = time.monotonic()
                reply = await client.request(
                    "checkpoint_create",
                    {"comment": checkpoint_comment(live)},
                    "checkpoints",
                    within=300,
                )
                items = [Checkpoint(**_checkpoint_fields(i)) for i in reply["items"]]
                report.checkpoint = next(c for c in items if is_seed_checkpoint(c))
                report.timings["checkpoint"] = time.monotonic() - clock
            finally:
                await client.close()
    return report


def _checkpoint_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(item["id"]),
        "created_at": str(item.get("created_at") or ""),
        "comment": item.get("comment"),
        "size_bytes": item.get("size_bytes"),
    }


async def _ingest(client: WorkspaceClient, documents: list[GeneratedDocument], say: Say) -> int:
    """Upload the documents the workspace does not have yet; wait until all are read."""
    state = await client.state()
    present = {doc["filename"]: doc for doc in state["documents"] if doc["status"] != "failed"}
    waiting: dict[str, str] = {}  # document id -> filename
    for doc in state["documents"]:
        if doc["status"] == "processing" and doc["filename"] in {d.filename for d in documents}:
            waiting[doc["id"]] = doc["filename"]
    uploaded = 0
    for document in documents:
        if document.filename in present:
            continue
        document_id = await _upload(client, document)
        waiting[document_id] = document.filename
        uploaded += 1
    if uploaded:
        say(f"uploaded {uploaded} documents; reading them (local OCR for the scan)…")
    for document_id, filename in waiting.items():
        event = await client.wait(
            lambda f, d=document_id: (
                f["type"] == "document_event"
                and f["payload"]["document_id"] == d
                and f["payload"]["status"] in ("ocr_complete", "completed", "failed")
            ),
            INGEST_TIMEOUT_SECONDS,
            f"the text of {filename}",
        )
        if event["payload"]["status"] == "failed":
            raise DemoError(f"{filename} could not be read: {event['payload'].get('error')}")
    return uploaded


async def _upload(client: WorkspaceClient, document: GeneratedDocument) -> str:
    """A chunked upload (what the app's file input does); returns the new document's id."""
    upload_id = uuid.uuid4().hex
    await client.request(
        "file_upload_start",
        {
            "upload_id": upload_id,
            "filename": document.filename,
            "mime_type": document.mime_type,
            "size": len(document.data),
            "sha256": hashlib.sha256(document.data).hexdigest(),
        },
        "upload_progress",
    )
    for seq, offset in enumerate(range(0, len(document.data), CHUNK_BYTES)):
        chunk = document.data[offset : offset + CHUNK_BYTES]
        await client.request(
            "file_upload_chunk",
            {"upload_id": upload_id, "seq": seq, "data": base64.b64encode(chunk).decode()},
            "upload_progress",
        )
    accepted = await client.request(
        "file_upload_end", {"upload_id": upload_id}, "document_event", within=120
    )
    return str(accepted["document_id"])


async def _run_mission(
    client: WorkspaceClient, mission: SeedMission, *, live: bool, say: Say
) -> bool:
    """Send the mission unless it already completed; wait for its end. True if it ran."""
    state = await client.state()
    if any(m["text"] == mission.text and m["status"] == "completed" for m in state["missions"]):
        return False
    mission_id = str(uuid.uuid4())
    started = time.monotonic()
    await client.send("mission", {"text": mission.text, "mission_id": mission_id})
    end = await client.wait(
        lambda f: (
            f["type"] == "agent_event"
            and f["payload"].get("mission_id") == mission_id
            and f["payload"].get("event_type") in ("complete", "error")
        ),
        MISSION_TIMEOUT_SECONDS[live],
        f"the mission “{mission.key}”",
    )
    if end["payload"]["event_type"] == "error":
        raise DemoError(f"the seed mission “{mission.key}” failed: {end['payload']['content']}")
    say(f"mission “{mission.key}” done in {time.monotonic() - started:.1f} s")
    return True


def _check_result(state: dict[str, Any], report: SeedReport, *, live: bool) -> None:
    """Every artifact type on the canvas, the stack filled with cited values."""
    problems = []
    types = {a["artifact_type"] for a in state["artifacts"]}
    missing = [t for t in ARTIFACT_TYPES if t not in types]
    if missing:
        problems.append(f"no {', '.join(missing)} artifact on the canvas")
    stacks = [s for s in state["stacks"] if s["name"] == STACK_NAME]
    if not stacks:
        problems.append(f"no stack “{STACK_NAME}”")
    else:
        tables = [t for t in stacks[0]["tables"] if t["name"] == STACK_TABLE_NAME] or stacks[0][
            "tables"
        ]
        rows = tables[0]["row_count"] if tables else 0
        if rows != len(INVOICES):
            problems.append(f"the stack table has {rows} rows, not {len(INVOICES)}")
    for artifact in state["artifacts"]:
        if artifact["artifact_type"] != "table" or not artifact.get("data"):
            continue
        for row in artifact["data"].get("rows", []):
            for cell in row if isinstance(row, list) else row.values():
                if isinstance(cell, dict) and "source" in cell:
                    report.cited_cells += 1
                    report.flagged_cells += bool(cell.get("flagged"))
    if report.flagged_cells:
        problems.append(f"{report.flagged_cells} cited values are flagged for review")
    if problems and not live:
        # The deterministic seed is fully specified: anything short of it is a bug.
        raise DemoError("the seeded workspace is incomplete: " + "; ".join(problems))
    report.warnings.extend(problems)


def describe_state(state: dict[str, Any]) -> str:
    """A one-line inventory (tests and progress lines)."""
    types = sorted({a["artifact_type"] for a in state["artifacts"]})
    return json.dumps(
        {
            "documents": len(state["documents"]),
            "stacks": [s["name"] for s in state["stacks"]],
            "missions": len(state["missions"]),
            "artifacts": types,
        }
    )
