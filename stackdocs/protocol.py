"""The WebSocket envelope and message types shared by app, bridge and sprite.

Every frame on every socket is one JSON object ``{"type", "payload", "timestamp", "id"?}``
(SPEC.md). This module is pure: it turns text into typed frames and typed frames into text,
with no sockets and no awaits, so the I/O layers stay thin and this stays testable.

Parsing never raises: :func:`parse_frame` returns either a :class:`Frame` or a
:class:`FrameError` carrying a stable ``code`` the sender can act on. A bad frame from one
client therefore becomes an ``error`` frame back to that client, never an exception in an
event loop.

To add a message type: define its payload model, add it to :data:`PAYLOADS` and, if clients may
send it, to :data:`CLIENT_TYPES`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# A frame larger than this is refused before JSON parsing. Chunked uploads keep frames well below
# it (see UPLOAD_CHUNK_BYTES); a single-frame upload of a larger file must use the chunked form.
MAX_FRAME_BYTES = 16 * 1024 * 1024
UPLOAD_CHUNK_BYTES = 512 * 1024

ArtifactType = str  # open set: the canvas registry decides what it can draw (see app/canvas)
KNOWN_ARTIFACT_TYPES = ("table", "markdown", "json", "terminal", "chart")
DocumentStatus = Literal["processing", "ocr_complete", "completed", "failed"]
AgentEventType = Literal["text", "tool", "complete", "error"]
SpriteStatus = Literal["asleep", "waking", "ready", "error"]


def now_ms() -> int:
    return int(time.time() * 1000)


class Payload(BaseModel):
    """Base of all payloads: unknown keys are kept (forward compatible), not rejected."""

    model_config = ConfigDict(extra="allow")


class Empty(Payload):
    pass


class AuthPayload(Payload):
    token: str = Field(min_length=1, max_length=16384)


class MissionPayload(Payload):
    text: str = Field(min_length=1, max_length=200_000)
    mission_id: str | None = Field(default=None, max_length=128)


class MissionCancelPayload(Payload):
    mission_id: str = Field(min_length=1, max_length=128)


class FileUploadPayload(Payload):
    """Whole file in one frame (small files)."""

    filename: str = Field(max_length=4096)
    mime_type: str = Field(default="application/octet-stream", max_length=255)
    data: str  # base64
    upload_id: str | None = Field(default=None, max_length=128)


class UploadStartPayload(Payload):
    """Chunked upload, step 1: announce the file, its size and its SHA-256."""

    upload_id: str = Field(min_length=1, max_length=128)
    filename: str = Field(max_length=4096)
    mime_type: str = Field(default="application/octet-stream", max_length=255)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class UploadChunkPayload(Payload):
    """Chunked upload, step 2 (repeated): ``seq`` counts from 0, ``data`` is base64."""

    upload_id: str = Field(min_length=1, max_length=128)
    seq: int = Field(ge=0)
    data: str


class UploadEndPayload(Payload):
    upload_id: str = Field(min_length=1, max_length=128)


class UploadProgressPayload(Payload):
    """Sprite → client: bytes received so far (drives the progress bar, paces senders)."""

    upload_id: str
    received: int
    size: int | None = None


class AgentEventPayload(Payload):
    event_type: AgentEventType
    content: str = ""
    mission_id: str
    meta: dict[str, Any] | None = None


class CanvasUpdatePayload(Payload):
    artifact_id: str
    artifact_type: ArtifactType
    title: str = ""
    data: Any = None
    mission_id: str | None = None


class DocumentEventPayload(Payload):
    document_id: str
    filename: str
    status: DocumentStatus
    error: str | None = None


class StatePayload(Payload):
    """Everything the UI needs to redraw itself; the Sprite is the source of truth."""

    documents: list[dict[str, Any]] = Field(default_factory=list)
    stacks: list[dict[str, Any]] = Field(default_factory=list)
    missions: list[dict[str, Any]] = Field(default_factory=list)
    artifacts: list[dict[str, Any]] = Field(default_factory=list)


class ErrorPayload(Payload):
    code: str
    message: str


class SpriteStatusPayload(Payload):
    """Bridge → client: the state of the user's Sprite (asleep / waking / ready / error)."""

    status: SpriteStatus
    detail: str | None = None


class DocumentRequestPayload(Payload):
    document_id: str = Field(min_length=1, max_length=128)


class DocumentPage(Payload):
    page: int  # 1-based
    text: str


class DocumentContentPayload(Payload):
    document_id: str
    filename: str
    status: DocumentStatus
    engine: str | None = None
    pages: list[DocumentPage] = Field(default_factory=list)


class ArtifactRequestPayload(Payload):
    artifact_id: str = Field(min_length=1, max_length=128)


class StackCreatePayload(Payload):
    name: str = Field(min_length=1, max_length=255)
    document_ids: list[str] = Field(default_factory=list, max_length=10_000)


class StackUpdatePayload(Payload):
    stack: dict[str, Any]


class ExtractionRequestPayload(Payload):
    document_id: str = Field(min_length=1, max_length=128)


class ExtractionPayload(Payload):
    document_id: str
    fields: list[dict[str, Any]] = Field(default_factory=list)


class CheckpointCreatePayload(Payload):
    comment: str | None = Field(default=None, max_length=500)


class CheckpointRestorePayload(Payload):
    checkpoint_id: str = Field(min_length=1, max_length=128)


class CheckpointsPayload(Payload):
    items: list[dict[str, Any]] = Field(default_factory=list)


# type -> payload model. Types not listed here are refused with code "unknown_type".
PAYLOADS: dict[str, type[Payload]] = {
    "auth": AuthPayload,
    "ping": Empty,
    "pong": Empty,
    "mission": MissionPayload,
    "mission_cancel": MissionCancelPayload,
    "file_upload": FileUploadPayload,
    "file_upload_start": UploadStartPayload,
    "file_upload_chunk": UploadChunkPayload,
    "file_upload_end": UploadEndPayload,
    "upload_progress": UploadProgressPayload,
    "agent_event": AgentEventPayload,
    "canvas_update": CanvasUpdatePayload,
    "document_event": DocumentEventPayload,
    "state_request": Empty,
    "state": StatePayload,
    "error": ErrorPayload,
    "sprite_status": SpriteStatusPayload,
    "document_request": DocumentRequestPayload,
    "document_content": DocumentContentPayload,
    "artifact_request": ArtifactRequestPayload,
    "stack_create": StackCreatePayload,
    "stack_update": StackUpdatePayload,
    "extraction_request": ExtractionRequestPayload,
    "extraction": ExtractionPayload,
    "checkpoint_list": Empty,
    "checkpoint_create": CheckpointCreatePayload,
    "checkpoint_restore": CheckpointRestorePayload,
    "checkpoints": CheckpointsPayload,
    "state_reload": Empty,
}

# What a client (browser or programmatic) may send. Everything else is Sprite/bridge → client.
CLIENT_TYPES: frozenset[str] = frozenset(
    {
        "auth",
        "ping",
        "pong",
        "mission",
        "mission_cancel",
        "file_upload",
        "file_upload_start",
        "file_upload_chunk",
        "file_upload_end",
        "state_request",
        "document_request",
        "artifact_request",
        "stack_create",
        "extraction_request",
        "checkpoint_list",
        "checkpoint_create",
        "checkpoint_restore",
    }
)

# Handled by the bridge itself, never forwarded to a Sprite.
BRIDGE_TYPES: frozenset[str] = frozenset(
    {"auth", "checkpoint_list", "checkpoint_create", "checkpoint_restore"}
)


@dataclass(frozen=True, slots=True)
class Frame:
    type: str
    payload: Payload
    timestamp: int
    id: str | None = None

    def encode(self) -> str:
        return encode(self.type, self.payload, id=self.id, timestamp=self.timestamp)


@dataclass(frozen=True, slots=True)
class FrameError:
    """Why a frame was refused. ``code`` is stable; ``message`` is for humans."""

    code: Literal[
        "too_large",
        "malformed_json",
        "not_an_object",
        "bad_envelope",
        "unknown_type",
        "invalid_payload",
    ]
    message: str
    id: str | None = None

    def encode(self) -> str:
        return error_frame(self.code, self.message, id=self.id)


def parse_frame(raw: str | bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> Frame | FrameError:
    """Parse and validate one frame. Never raises."""
    if len(raw) > max_bytes:
        return FrameError("too_large", f"frame of {len(raw)} bytes exceeds {max_bytes}")
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return FrameError("malformed_json", f"frame is not valid JSON: {exc}")
    if not isinstance(obj, dict):
        return FrameError("not_an_object", "frame must be a JSON object")
    frame_id = obj.get("id")
    if frame_id is not None and not isinstance(frame_id, str | int):
        return FrameError("bad_envelope", "'id' must be a string")
    frame_id = None if frame_id is None else str(frame_id)[:128]
    msg_type = obj.get("type")
    if not isinstance(msg_type, str) or not msg_type:
        return FrameError("bad_envelope", "'type' must be a non-empty string", frame_id)
    payload = obj.get("payload", {})
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        return FrameError("bad_envelope", "'payload' must be a JSON object", frame_id)
    timestamp = obj.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        timestamp = now_ms()
    model = PAYLOADS.get(msg_type)
    if model is None:
        return FrameError("unknown_type", f"unknown message type {msg_type[:64]!r}", frame_id)
    try:
        parsed = model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
        return FrameError(
            "invalid_payload", f"{msg_type}: {where}: {first.get('msg', 'invalid')}", frame_id
        )
    return Frame(msg_type, parsed, timestamp, frame_id)


def encode(
    msg_type: str,
    payload: Payload | dict[str, Any] | None = None,
    *,
    id: str | None = None,
    timestamp: int | None = None,
) -> str:
    """Serialise one frame. ``payload`` may be a model or a plain dict (already valid)."""
    if isinstance(payload, BaseModel):
        body: Any = payload.model_dump(mode="json", exclude_none=False)
    else:
        body = payload or {}
    envelope: dict[str, Any] = {
        "type": msg_type,
        "payload": body,
        "timestamp": now_ms() if timestamp is None else timestamp,
    }
    if id is not None:
        envelope["id"] = id
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, default=str)


def error_frame(code: str, message: str, *, id: str | None = None) -> str:
    return encode("error", {"code": code, "message": message}, id=id)
