"""The shared envelope: good frames parse to typed payloads, bad frames to typed errors."""

import json

import pytest

from stackdocs import protocol
from stackdocs.protocol import Frame, FrameError, MissionPayload, parse_frame


def frame(type_: str, payload: object = None, **extra: object) -> str:
    body: dict = {"type": type_, "timestamp": 1764000000000, **extra}
    if payload is not None:
        body["payload"] = payload
    return json.dumps(body)


def test_mission_frame_parses_to_typed_payload():
    parsed = parse_frame(frame("mission", {"text": "!ls", "mission_id": "m1"}, id="c-1"))
    assert isinstance(parsed, Frame)
    assert isinstance(parsed.payload, MissionPayload)
    assert parsed.payload.text == "!ls"
    assert parsed.id == "c-1"
    assert parsed.timestamp == 1764000000000


def test_encode_then_parse_round_trips_every_known_type():
    samples = {
        "auth": {"token": "t"},
        "ping": {},
        "mission": {"text": "hi"},
        "file_upload": {"filename": "a.pdf", "mime_type": "application/pdf", "data": "AA=="},
        "agent_event": {"event_type": "text", "content": "x", "mission_id": "m"},
        "canvas_update": {
            "artifact_id": "a",
            "artifact_type": "table",
            "title": "T",
            "data": {"columns": [], "rows": []},
            "mission_id": "m",
        },
        "document_event": {"document_id": "d", "filename": "f", "status": "ocr_complete"},
        "state_request": {},
        "state": {"documents": [], "stacks": [], "missions": [], "artifacts": []},
        "error": {"code": "c", "message": "m"},
    }
    for type_, payload in samples.items():
        parsed = parse_frame(protocol.encode(type_, payload, id="7"))
        assert isinstance(parsed, Frame), (type_, parsed)
        assert parsed.type == type_
        assert parse_frame(parsed.encode()) == parsed


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        ("[1, 2]", "not_an_object"),
        ('"text"', "not_an_object"),
        ('{"payload": {}}', "bad_envelope"),
        ('{"type": 3}', "bad_envelope"),
        ('{"type": "mission", "payload": [1]}', "bad_envelope"),
        ('{"type": "teleport", "payload": {}}', "unknown_type"),
        ('{"type": "mission", "payload": {}}', "invalid_payload"),
        ('{"type": "mission", "payload": {"text": ""}}', "invalid_payload"),
        (
            '{"type": "agent_event", "payload": {"event_type": "dance", "mission_id": "m"}}',
            "invalid_payload",
        ),
        (
            '{"type": "document_event", "payload": {"document_id": "d", "filename": "f",'
            ' "status": "lost"}}',
            "invalid_payload",
        ),
    ],
)
def test_bad_frames_give_typed_errors_not_exceptions(raw, code):
    parsed = parse_frame(raw)
    assert isinstance(parsed, FrameError)
    assert parsed.code == code
    assert parsed.message
    error = json.loads(parsed.encode())
    assert error["type"] == "error"
    assert error["payload"]["code"] == code


def test_oversized_frame_is_refused_before_parsing():
    parsed = parse_frame("x" * 101, max_bytes=100)
    assert isinstance(parsed, FrameError) and parsed.code == "too_large"


def test_error_keeps_the_correlation_id():
    parsed = parse_frame('{"type": "teleport", "id": "abc"}')
    assert isinstance(parsed, FrameError)
    assert json.loads(parsed.encode())["id"] == "abc"


def test_missing_timestamp_and_payload_are_filled_in():
    parsed = parse_frame('{"type": "ping"}')
    assert isinstance(parsed, Frame)
    assert parsed.timestamp > 1_700_000_000_000


def test_unknown_payload_keys_are_kept_for_forward_compatibility():
    parsed = parse_frame(frame("mission", {"text": "hi", "priority": "high"}))
    assert isinstance(parsed, Frame)
    assert parsed.payload.model_dump()["priority"] == "high"


def test_client_types_are_a_subset_of_known_types():
    assert protocol.CLIENT_TYPES <= set(protocol.PAYLOADS)
    assert "agent_event" not in protocol.CLIENT_TYPES
