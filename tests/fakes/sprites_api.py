"""A local fake of the Sprites.dev API (``/v1/...``), built from its public documentation.

It speaks the wire format the official SDKs speak (see ``../shared/notes/sprites-dev-api.md``):

* every request, WebSocket upgrades included, needs ``Authorization: Bearer <org token>``;
  otherwise 401 ``{"error": "authentication failed"}``;
* sprites: ``POST /v1/sprites`` (201; 409 on a duplicate name; 400 ``{"errors": [...]}`` on a
  bad name), ``GET`` one or a page (``prefix``, ``max_results``, ``continuation_token``),
  ``PUT`` partial update, ``DELETE`` (204). A missing sprite answers 404
  ``{"error": "sprite not found"}`` or, as observed in real traffic, 500
  ``{"error": "failed to retrieve sprite"}`` (switch with ``/_fake/config``);
* exec over WebSocket with the binary stream framing (first byte 0 stdin, 1 stdout, 2 stderr,
  3 exit + one code byte, 4 stdin EOF) and the JSON text frame ``session_info``;
* filesystem ``read`` / ``write`` / ``list`` / ``delete``; services (``PUT`` starts the service
  and streams NDJSON ``started`` then ``complete`` or ``exit``); network policy (POST → 204);
  checkpoints (create / list with ``Current`` and ``v0`` / restore, NDJSON streams, an unknown
  id answers 200 with an ``error`` event); TCP ``proxy`` over WebSocket;
* each sprite's URL (its own port here) routes HTTP and WebSocket traffic to the service with
  ``http_port``, waking the sprite and starting that service first; with ``url_settings.auth``
  ``sprite`` the caller must present the org token as Bearer;
* a sprite pauses after ``--idle-seconds`` without traffic: its processes end (a cold sprite)
  and open URL connections drop, as on the real service.

Processes really run, sandboxed by bubblewrap in a per-sprite root (see ``sprites_machine``).
Tests steer it through ``/_fake/*`` (inject an error response, force a pause, read the request
log); those routes are not part of the API.

Run: ``python -m tests.fakes.sprites_api --port P --state DIR --token T``; tests use
:class:`FakeSprites`, which starts it as a child process and stops its whole process group.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.fakes.sprites_machine import Machine, ServiceDef, free_port, utc_now, wait_for_port

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ORG = "fake-org"
STDIN, STDOUT, STDERR, EXIT, STDIN_EOF = 0, 1, 2, 3, 4


# ----------------------------------------------------------------------------- state


@dataclass
class Injection:
    """A scripted failure: the next ``count`` matching requests get this answer instead."""

    method: str
    path: str
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    count: int = 1
    kind: str = "http"  # http | exec_no_exit

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.method in ("*", method) and path.startswith(self.path)


@dataclass
class Sprite:
    name: str
    machine: Machine
    url_port: int
    id: str = field(default_factory=lambda: f"sprite-{uuid.uuid4()}")
    status: str = "cold"
    url_auth: str = "sprite"
    labels: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=utc_now)
    updated_at: str = field(default_factory=utc_now)
    policy: dict[str, Any] = field(default_factory=lambda: {"rules": [{"include": "defaults"}]})
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    last_activity: float = field(default_factory=time.monotonic)
    active_execs: int = 0
    url_sockets: set[WebSocket] = field(default_factory=set)
    url_server: uvicorn.Server | None = None
    url_task: asyncio.Task | None = None
    wake_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.url_port}"

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "organization": ORG,
            "status": self.status,
            "url": self.url,
            "url_settings": {"auth": self.url_auth},
            "labels": self.labels,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the main one (several share a loop)."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


class FakeSpritesState:
    def __init__(self, state_dir: Path, token: str, idle_seconds: float) -> None:
        self.state_dir = state_dir
        self.token = token
        self.idle_seconds = idle_seconds
        self.sprites: dict[str, Sprite] = {}
        self.injections: list[Injection] = []
        self.missing_status = 404
        self.log: list[dict[str, Any]] = []
        self.checkpoint_counter: dict[str, itertools.count] = {}

    # ---- helpers used by every route

    def authorized(self, headers: Any) -> bool:
        return headers.get("authorization", "") == f"Bearer {self.token}"

    def record(self, method: str, path: str, query: str, authorized: bool) -> None:
        self.log.append({"method": method, "path": path, "query": query, "authorized": authorized})

    def take_injection(self, method: str, path: str, kind: str = "http") -> Injection | None:
        for inj in self.injections:
            if inj.kind == kind and inj.matches(method, path):
                inj.count -= 1
                return inj
        return None

    def missing(self) -> JSONResponse:
        if self.missing_status == 500:
            return JSONResponse({"error": "failed to retrieve sprite"}, status_code=500)
        return JSONResponse({"error": "sprite not found"}, status_code=404)

    async def wake(self, sprite: Sprite) -> None:
        async with sprite.wake_lock:
            sprite.touch()
            if sprite.status != "running":
                sprite.status = "running"
                await sprite.machine.boot()

    async def pause(self, sprite: Sprite) -> None:
        async with sprite.wake_lock:
            if sprite.status == "cold":
                return
            sprite.status = "cold"
            for ws in list(sprite.url_sockets):
                with contextlib.suppress(Exception):
                    await ws.close(code=1001, reason="sprite paused")
            await sprite.machine.halt()

    async def idle_monitor(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            now = time.monotonic()
            for sprite in list(self.sprites.values()):
                if (
                    sprite.status == "running"
                    and sprite.active_execs == 0
                    and now - sprite.last_activity > self.idle_seconds
                ):
                    await self.pause(sprite)

    async def start_url_server(self, sprite: Sprite) -> None:
        config = uvicorn.Config(
            url_app(self, sprite),
            host="127.0.0.1",
            port=sprite.url_port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
        sprite.url_server = QuietServer(config)
        sprite.url_task = asyncio.create_task(sprite.url_server.serve())
        while not sprite.url_server.started:
            if sprite.url_task.done():
                sprite.url_task.result()
            await asyncio.sleep(0.01)

    async def stop_url_server(self, sprite: Sprite) -> None:
        if sprite.url_server is not None and sprite.url_task is not None:
            sprite.url_server.should_exit = True
            for ws in list(sprite.url_sockets):
                with contextlib.suppress(Exception):
                    await ws.close(code=1001)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sprite.url_task, 5)

    async def shutdown(self) -> None:
        for sprite in list(self.sprites.values()):
            await sprite.machine.halt()
            await self.stop_url_server(sprite)


def _ndjson(events: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        async for event in events:
            yield (json.dumps(event) + "\n").encode()

    return StreamingResponse(body(), media_type="application/x-ndjson")


def _event(kind: str, text: str) -> dict[str, Any]:
    key = "error" if kind == "error" else "data"
    return {"type": kind, key: text, "time": utc_now()}


# ----------------------------------------------------------------------------- the API app


def api_app(state: FakeSpritesState) -> Any:
    def sprite_or_none(request: Request) -> Sprite | None:
        return state.sprites.get(request.path_params["name"])

    async def create(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"errors": ["invalid JSON body"]}, status_code=400)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not NAME_RE.match(name):
            return JSONResponse({"errors": ["invalid sprite name format"]}, status_code=400)
        if name in state.sprites:
            return JSONResponse(
                {"error": "sprite already exists", "message": f"a sprite named {name} exists"},
                status_code=409,
            )
        machine = Machine(state.state_dir / "sprites" / name)
        sprite = Sprite(name=name, machine=machine, url_port=free_port())
        settings = body.get("url_settings") or {}
        sprite.url_auth = settings.get("auth", "sprite")
        sprite.labels = list(body.get("labels") or [])
        machine.snapshot("v0")
        sprite.checkpoints.append(
            {"id": "v0", "create_time": utc_now(), "comment": "", "is_auto": True}
        )
        state.checkpoint_counter[name] = itertools.count(1)
        state.sprites[name] = sprite
        await state.start_url_server(sprite)
        return JSONResponse(sprite.as_json(), status_code=201)

    async def list_sprites(request: Request) -> Response:
        prefix = request.query_params.get("prefix", "")
        max_results = min(int(request.query_params.get("max_results", "50")), 50)
        start = int(request.query_params.get("continuation_token") or 0)
        names = sorted(n for n in state.sprites if n.startswith(prefix))
        page = names[start : start + max_results]
        more = start + max_results < len(names)
        return JSONResponse(
            {
                "sprites": [state.sprites[n].as_json() for n in page],
                "has_more": more,
                "next_continuation_token": str(start + max_results) if more else None,
            }
        )

    async def one_sprite(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        if request.method == "GET":
            return JSONResponse(sprite.as_json())
        if request.method == "PUT":
            body = await request.json()
            if "url_settings" in body:
                sprite.url_auth = (body["url_settings"] or {}).get("auth", sprite.url_auth)
            if "labels" in body:
                sprite.labels = list(body["labels"] or [])
            sprite.updated_at = utc_now()
            return JSONResponse(sprite.as_json())
        del state.sprites[sprite.name]
        await sprite.machine.halt()
        await state.stop_url_server(sprite)
        await asyncio.to_thread(sprite.machine.destroy)
        return Response(status_code=204)

    # ---- filesystem

    def fs_error(code: str, path: str, status: int) -> JSONResponse:
        messages = {"ENOENT": "no such file or directory", "EISDIR": "is a directory"}
        return JSONResponse(
            {"error": messages.get(code, code), "code": code, "path": path}, status_code=status
        )

    def fs_path(request: Request) -> str:
        path = request.query_params.get("path", "")
        working = request.query_params.get("workingDir", "/home/sprite")
        return path if path.startswith("/") else f"{working.rstrip('/')}/{path}"

    async def fs_read(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        sprite.touch()
        path = fs_path(request)
        host = sprite.machine.host_path(path)
        if host.is_dir():
            return fs_error("EISDIR", path, 400)
        if not host.is_file():
            return fs_error("ENOENT", path, 404)

        async def chunks() -> AsyncIterator[bytes]:
            with host.open("rb") as fh:
                while chunk := await asyncio.to_thread(fh.read, 256 * 1024):
                    yield chunk

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def fs_write(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        sprite.touch()
        path = fs_path(request)
        host = sprite.machine.host_path(path)
        if request.query_params.get("mkdirParents", "false") == "true":
            host.parent.mkdir(parents=True, exist_ok=True)
        elif not host.parent.is_dir():
            return fs_error("ENOENT", path, 404)
        size = 0
        with host.open("wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                fh.write(chunk)
        host.chmod(int(request.query_params.get("mode", "0644"), 8))
        return JSONResponse(
            {"path": path, "size": size, "mode": request.query_params.get("mode", "0644")}
        )

    def entry_json(path: str, host: Path) -> dict[str, Any]:
        st = host.lstat()
        is_dir = host.is_dir()
        return {
            "name": host.name,
            "path": path,
            "type": "directory" if is_dir else "file",
            "size": st.st_size,
            "mode": f"{st.st_mode & 0o777:04o}",
            "modTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)),
            "isDir": is_dir,
        }

    async def fs_list(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        sprite.touch()
        path = fs_path(request)
        host = sprite.machine.host_path(path)
        if not host.exists():
            return fs_error("ENOENT", path, 404)
        if host.is_dir():
            entries = [
                entry_json(f"{path.rstrip('/')}/{child.name}", child)
                for child in sorted(host.iterdir())
            ]
        else:
            entries = [entry_json(path, host)]
        return JSONResponse({"path": path, "entries": entries, "count": len(entries)})

    async def fs_delete(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        path = fs_path(request)
        host = sprite.machine.host_path(path)
        if not host.exists():
            return fs_error("ENOENT", path, 404)
        if host.is_dir():
            if request.query_params.get("recursive") == "true":
                await asyncio.to_thread(__import__("shutil").rmtree, host)
            else:
                try:
                    host.rmdir()
                except OSError:
                    return fs_error("ENOTEMPTY", path, 400)
        else:
            host.unlink()
        return JSONResponse({"deleted": [path]})

    # ---- services

    def service_json(sprite: Sprite, name: str) -> dict[str, Any]:
        svc = sprite.machine.services[name]
        return {**svc.as_json(), "state": sprite.machine.service_state(name)}

    async def watch_start(sprite: Sprite, name: str, duration: float) -> AsyncIterator[dict]:
        run = await sprite.machine.start_service(name)
        yield {"type": "started", "timestamp": int(time.time() * 1000)}
        process = run.process
        if run.host_port is not None:
            ready = await wait_for_port(run.host_port, process, max(duration, 30.0))
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), min(duration, 1.0))
            ready = process.returncode is None
        if not ready and process is not None and process.returncode is not None:
            yield {
                "type": "exit",
                "exit_code": process.returncode,
                "timestamp": int(time.time() * 1000),
            }
            return
        log = f"/.sprite/logs/services/{name}.log"
        yield {
            "type": "complete",
            "log_files": {"combined": log, "stdout": log, "stderr": log},
            "timestamp": int(time.time() * 1000),
        }

    def duration_of(request: Request) -> float:
        raw = request.query_params.get("duration", "5s").rstrip("s")
        try:
            return float(raw)
        except ValueError:
            return 5.0

    async def services(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        return JSONResponse([service_json(sprite, n) for n in sprite.machine.services])

    async def one_service(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        name = request.path_params["svc"]
        machine = sprite.machine
        if request.method == "GET":
            if name not in machine.services:
                return JSONResponse({"error": "service not found"}, status_code=404)
            return JSONResponse(service_json(sprite, name))
        if request.method == "DELETE":
            if name not in machine.services:
                return JSONResponse({"error": "service not found"}, status_code=404)
            await machine.stop_service(name, sticky=True)
            del machine.services[name]
            machine.runs.pop(name, None)
            return Response(status_code=204)
        body = await request.json()
        if not isinstance(body, dict) or not body.get("cmd"):
            return JSONResponse({"error": "cmd is required"}, status_code=400)
        http_port = body.get("http_port")
        if http_port is not None:
            for other, svc in machine.services.items():
                if other != name and svc.http_port is not None:
                    return JSONResponse(
                        {"error": "another service already has an HTTP port configured"},
                        status_code=409,
                    )
        await machine.stop_service(name, sticky=False)
        machine.services[name] = ServiceDef(
            name=name,
            cmd=body["cmd"],
            args=list(body.get("args") or []),
            needs=list(body.get("needs") or []),
            http_port=http_port,
            env=dict(body.get("env") or {}),
            dir=body.get("dir"),
        )
        await state.wake(sprite)
        return _ndjson(watch_start(sprite, name, duration_of(request)))

    async def service_action(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        name, action = request.path_params["svc"], request.path_params["action"]
        if name not in sprite.machine.services:
            return JSONResponse({"error": "service not found"}, status_code=404)
        if action == "stop":
            await sprite.machine.stop_service(name, sticky=True)

            async def stopped() -> AsyncIterator[dict]:
                yield {"type": "stopped", "timestamp": int(time.time() * 1000)}

            return _ndjson(stopped())
        if action == "start":
            await state.wake(sprite)
            return _ndjson(watch_start(sprite, name, duration_of(request)))
        return JSONResponse({"error": f"unknown action {action}"}, status_code=404)

    # ---- network policy

    async def policy(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        if request.method == "GET":
            return JSONResponse(sprite.policy)
        body = await request.json()
        rules = body.get("rules") if isinstance(body, dict) else None
        if not isinstance(rules, list) or not all(
            isinstance(r, dict)
            and (("domain" in r and r.get("action") in ("allow", "deny")) or "include" in r)
            for r in rules
        ):
            return JSONResponse({"error": "invalid policy"}, status_code=400)
        sprite.policy = {"rules": rules}
        return Response(status_code=204)

    # ---- checkpoints

    async def checkpoint_create(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        try:
            body = await request.json()
        except ValueError:
            body = {}
        comment = (body or {}).get("comment", "")
        checkpoint_id = f"v{next(state.checkpoint_counter[sprite.name])}"

        async def events() -> AsyncIterator[dict]:
            yield _event("info", "Creating checkpoint...")
            await asyncio.to_thread(sprite.machine.snapshot, checkpoint_id)
            sprite.checkpoints.append(
                {
                    "id": checkpoint_id,
                    "create_time": utc_now(),
                    "comment": comment,
                    "is_auto": False,
                }
            )
            yield _event("info", f"Checkpoint {checkpoint_id} created")
            yield _event("complete", f"Checkpoint {checkpoint_id} created successfully")

        sprite.touch()
        return _ndjson(events())

    async def checkpoint_list(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        current = {"id": "Current", "create_time": utc_now(), "comment": "", "is_auto": False}
        return JSONResponse([current, *reversed(sprite.checkpoints)])

    async def checkpoint_get(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        for cp in sprite.checkpoints:
            if cp["id"] == request.path_params["cid"]:
                return JSONResponse(cp)
        return JSONResponse({"error": "checkpoint not found"}, status_code=404)

    async def checkpoint_restore(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        checkpoint_id = request.path_params["cid"]

        async def events() -> AsyncIterator[dict]:
            if not sprite.machine.has_snapshot(checkpoint_id):
                yield _event("error", f"checkpoint {checkpoint_id} not found")
                return
            yield _event("info", f"Restoring checkpoint {checkpoint_id}...")
            await state.pause(sprite)  # a restore restarts the environment and ends sessions
            await asyncio.to_thread(sprite.machine.restore, checkpoint_id)
            await state.wake(sprite)
            yield _event("complete", f"Checkpoint {checkpoint_id} restored")

        return _ndjson(events())

    # ---- exec

    async def exec_list(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        return JSONResponse({"sessions": [], "count": 0})

    async def exec_ws(ws: WebSocket) -> None:
        denied = await ws_gate(ws)
        if denied:
            return
        sprite = state.sprites[ws.path_params["name"]]
        params = ws.query_params
        argv = params.getlist("cmd") + params.getlist("arg")
        if not argv:
            await ws.send_denial_response(JSONResponse({"error": "cmd is required"}, 400))
            return
        env = dict(e.split("=", 1) for e in params.getlist("env") if "=" in e)
        no_exit = state.take_injection("GET", ws.url.path, kind="exec_no_exit")
        await state.wake(sprite)
        sprite.active_execs += 1
        try:
            await ws.accept()
            await run_exec(ws, sprite, argv, env, params.get("dir"), drop_exit=bool(no_exit))
        finally:
            sprite.active_execs -= 1
            sprite.touch()

    async def run_exec(
        ws: WebSocket,
        sprite: Sprite,
        argv: list[str],
        env: dict[str, str],
        cwd: str | None,
        *,
        drop_exit: bool,
    ) -> None:
        session_id = uuid.uuid4().hex[:12]
        await ws.send_text(
            json.dumps(
                {"type": "session_info", "session_id": session_id, "command": argv, "tty": False}
            )
        )
        try:
            process = await sprite.machine.spawn(argv, env=env, cwd=cwd)
        except OSError as exc:
            await ws.send_bytes(bytes([STDERR]) + str(exc).encode())
            await ws.send_bytes(bytes([EXIT, 127]))
            return
        sprite.machine.execs.add(process)

        async def pump(reader: asyncio.StreamReader, stream: int) -> None:
            while chunk := await reader.read(64 * 1024):
                sprite.touch()
                await ws.send_bytes(bytes([stream]) + chunk)

        async def feed() -> None:
            try:
                while True:
                    message = await ws.receive()
                    if message["type"] == "websocket.disconnect":
                        return
                    data = message.get("bytes")
                    if data:
                        if data[0] == STDIN and process.stdin is not None:
                            process.stdin.write(data[1:])
                            await process.stdin.drain()
                        elif data[0] == STDIN_EOF and process.stdin is not None:
                            process.stdin.close()
                    elif message.get("text"):
                        control = json.loads(message["text"])
                        if control.get("type") == "signal" and process.returncode is None:
                            process.send_signal(getattr(signal, control.get("signal", "SIGTERM")))
            except (WebSocketDisconnect, RuntimeError, ConnectionError):
                return

        feeder = asyncio.create_task(feed())
        try:
            await asyncio.gather(pump(process.stdout, STDOUT), pump(process.stderr, STDERR))
            code = await process.wait()
        finally:
            sprite.machine.execs.discard(process)
        if drop_exit:
            feeder.cancel()
            await ws.close(code=1011, reason="connection lost")
            return
        await ws.send_bytes(bytes([EXIT, code & 0xFF]))
        # The real server holds the socket a few seconds after the exit frame; clients close.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(feeder, 2.0)
        feeder.cancel()
        with contextlib.suppress(Exception):
            await ws.close()

    async def ws_gate(ws: WebSocket) -> bool:
        """Auth and existence checks before a WebSocket upgrade; True when it was refused."""
        ok = state.authorized(ws.headers)
        state.record("WS", ws.url.path, ws.url.query, ok)
        if not ok:
            await ws.send_denial_response(
                JSONResponse({"error": "authentication failed"}, status_code=401)
            )
            return True
        if ws.path_params["name"] not in state.sprites:
            await ws.send_denial_response(state.missing())
            return True
        inj = state.take_injection("GET", ws.url.path)
        if inj is not None:
            await ws.send_denial_response(
                JSONResponse(inj.body, status_code=inj.status, headers=inj.headers)
            )
            return True
        return False

    # ---- TCP proxy

    async def proxy_ws(ws: WebSocket) -> None:
        if await ws_gate(ws):
            return
        sprite = state.sprites[ws.path_params["name"]]
        await state.wake(sprite)
        await ws.accept()
        target = json.loads(await ws.receive_text())
        port = int(target.get("port", 0))
        http = sprite.machine.http_service()
        if http is not None and http[1].http_port == port:
            run = sprite.machine.runs.get(http[0])
            port = run.host_port if run and run.host_port else port
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as exc:
            await ws.send_text(json.dumps({"status": "error", "error": str(exc)}))
            await ws.close()
            return
        await ws.send_text(json.dumps({"status": "connected", "target": f"localhost:{port}"}))

        async def upstream() -> None:
            while chunk := await reader.read(64 * 1024):
                sprite.touch()
                await ws.send_bytes(chunk)
            await ws.close()

        async def downstream() -> None:
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    data = await ws.receive_bytes()
                    sprite.touch()
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(upstream(), downstream(), return_exceptions=True)

    # ---- fake controls (not part of the API)

    async def fake_health(_request: Request) -> Response:
        return JSONResponse({"ok": True, "sprites": len(state.sprites)})

    async def fake_config(request: Request) -> Response:
        body = await request.json()
        if "missing_status" in body:
            state.missing_status = int(body["missing_status"])
        if "idle_seconds" in body:
            state.idle_seconds = float(body["idle_seconds"])
        return JSONResponse(
            {"missing_status": state.missing_status, "idle_seconds": state.idle_seconds}
        )

    async def fake_inject(request: Request) -> Response:
        body = await request.json()
        state.injections.append(Injection(**body))
        return JSONResponse({"ok": True})

    async def fake_pause(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        await state.pause(sprite)
        return JSONResponse(sprite.as_json())

    async def fake_inspect(request: Request) -> Response:
        sprite = sprite_or_none(request)
        if sprite is None:
            return state.missing()
        machine = sprite.machine
        return JSONResponse(
            {
                **sprite.as_json(),
                "root": str(machine.root),
                "policy": sprite.policy,
                "services": {n: machine.service_state(n) for n in machine.services},
                "service_env": {n: s.env for n, s in machine.services.items()},
                "url_connections": len(sprite.url_sockets),
            }
        )

    async def fake_log(_request: Request) -> Response:
        return JSONResponse(state.log)

    base = "/v1/sprites/{name}"
    routes = [
        Route("/_fake/health", fake_health),
        Route("/_fake/config", fake_config, methods=["POST"]),
        Route("/_fake/inject", fake_inject, methods=["POST"]),
        Route("/_fake/log", fake_log),
        Route("/_fake/sprites/{name}/pause", fake_pause, methods=["POST"]),
        Route("/_fake/sprites/{name}", fake_inspect),
        Route("/v1/sprites", create, methods=["POST"]),
        Route("/v1/sprites", list_sprites, methods=["GET"]),
        Route(base, one_sprite, methods=["GET", "PUT", "DELETE"]),
        Route(f"{base}/fs/read", fs_read, methods=["GET"]),
        Route(f"{base}/fs/write", fs_write, methods=["PUT"]),
        Route(f"{base}/fs/list", fs_list, methods=["GET"]),
        Route(f"{base}/fs/delete", fs_delete, methods=["DELETE"]),
        Route(f"{base}/services", services, methods=["GET"]),
        Route(f"{base}/services/{{svc}}", one_service, methods=["GET", "PUT", "DELETE"]),
        Route(f"{base}/services/{{svc}}/{{action}}", service_action, methods=["POST"]),
        Route(f"{base}/policy/network", policy, methods=["GET", "POST"]),
        Route(f"{base}/checkpoint", checkpoint_create, methods=["POST"]),
        Route(f"{base}/checkpoints", checkpoint_list, methods=["GET"]),
        Route(f"{base}/checkpoints/{{cid}}", checkpoint_get, methods=["GET"]),
        Route(f"{base}/checkpoints/{{cid}}/restore", checkpoint_restore, methods=["POST"]),
        Route(f"{base}/exec", exec_list, methods=["GET"]),
        WebSocketRoute(f"{base}/exec", exec_ws),
        WebSocketRoute(f"{base}/proxy", proxy_ws),
    ]
    inner = Starlette(routes=routes)

    async def app(scope: dict, receive: Any, send: Any) -> None:
        """Every HTTP request passes the org-token check and the scripted failures first."""
        if scope["type"] == "http" and not scope["path"].startswith("/_fake/"):
            request = Request(scope, receive)
            ok = state.authorized(request.headers)
            state.record(request.method, scope["path"], request.url.query, ok)
            refusal: Response | None = None
            if not ok:
                refusal = JSONResponse({"error": "authentication failed"}, status_code=401)
            elif (inj := state.take_injection(request.method, scope["path"])) is not None:
                refusal = JSONResponse(inj.body, status_code=inj.status, headers=inj.headers)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await inner(scope, receive, send)

    return app


# ----------------------------------------------------------------------------- a sprite's URL


HOP_HEADERS = {
    "host",
    "authorization",
    "connection",
    "upgrade",
    "content-length",
    "transfer-encoding",
    "keep-alive",
}


def url_app(state: FakeSpritesState, sprite: Sprite) -> Any:
    """The sprite's public URL: auth, wake, start the HTTP service, then forward."""

    async def target_port() -> int | None:
        await state.wake(sprite)
        http = sprite.machine.http_service()
        if http is None:
            return 8080
        name, _svc = http
        run = sprite.machine.runs.get(name)
        if run is None or run.process is None or run.process.returncode is not None:
            run = await sprite.machine.start_service(name)
        if run.host_port is None or not await wait_for_port(run.host_port, run.process, 60):
            return None
        return run.host_port

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await websocket_route(WebSocket(scope, receive, send))
        elif scope["type"] == "http":
            await http_route(Request(scope, receive))(scope, receive, send)

    def allowed(headers: Any) -> bool:
        return sprite.url_auth == "public" or state.authorized(headers)

    async def websocket_route(ws: WebSocket) -> None:
        state.record("URL-WS", ws.url.path, ws.url.query, allowed(ws.headers))
        if not allowed(ws.headers):
            await ws.send_denial_response(
                JSONResponse({"error": "authentication failed"}, status_code=401)
            )
            return
        port = await target_port()
        if port is None:
            await ws.send_denial_response(
                JSONResponse({"error": "service did not start"}, status_code=502)
            )
            return
        upstream_url = f"ws://127.0.0.1:{port}{ws.url.path}"
        if ws.url.query:
            upstream_url += f"?{ws.url.query}"
        try:
            upstream = await websockets.connect(upstream_url, max_size=None, open_timeout=30)
        except (OSError, websockets.WebSocketException) as exc:
            await ws.send_denial_response(JSONResponse({"error": str(exc)}, status_code=502))
            return
        await ws.accept()
        sprite.url_sockets.add(ws)

        async def to_service() -> None:
            try:
                while True:
                    message = await ws.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    sprite.touch()
                    if message.get("text") is not None:
                        await upstream.send(message["text"])
                    elif message.get("bytes") is not None:
                        await upstream.send(message["bytes"])
            finally:
                await upstream.close()

        async def to_client() -> None:
            try:
                async for message in upstream:
                    sprite.touch()
                    if isinstance(message, str):
                        await ws.send_text(message)
                    else:
                        await ws.send_bytes(message)
            finally:
                with contextlib.suppress(Exception):
                    await ws.close(code=upstream.close_code or 1000)

        try:
            await asyncio.gather(to_service(), to_client(), return_exceptions=True)
        finally:
            sprite.url_sockets.discard(ws)

    def http_route(request: Request) -> Any:
        async def respond(scope: dict, receive: Any, send: Any) -> None:
            state.record("URL", request.url.path, request.url.query, allowed(request.headers))
            if not allowed(request.headers):
                response: Response = JSONResponse(
                    {"error": "authentication failed"}, status_code=401
                )
            else:
                port = await target_port()
                if port is None:
                    response = JSONResponse({"error": "service did not start"}, status_code=502)
                else:
                    headers = {k: v for k, v in request.headers.items() if k not in HOP_HEADERS}
                    async with httpx.AsyncClient(timeout=60) as client:
                        upstream = await client.request(
                            request.method,
                            f"http://127.0.0.1:{port}{request.url.path}",
                            params=request.query_params,
                            headers=headers,
                            content=await request.body(),
                        )
                    sprite.touch()
                    response = Response(
                        upstream.content,
                        status_code=upstream.status_code,
                        headers={
                            k: v
                            for k, v in upstream.headers.items()
                            if k.lower() not in HOP_HEADERS | {"content-encoding"}
                        },
                    )
            await response(scope, receive, send)

        return respond

    return app


# ----------------------------------------------------------------------------- running it


async def serve(port: int, state_dir: Path, token: str, idle_seconds: float) -> None:
    state = FakeSpritesState(state_dir, token, idle_seconds)
    config = uvicorn.Config(
        api_app(state),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    monitor = asyncio.create_task(state.idle_monitor())
    try:
        await server.serve()
    finally:
        monitor.cancel()
        await state.shutdown()


class FakeSprites:
    """The fake Sprites API as a child process (its sprites' processes in its group)."""

    def __init__(self, state_dir: Path, *, token: str | None = None, idle_seconds: float = 3600):
        self.state_dir = state_dir
        self.token = token or f"fake-org/{uuid.uuid4().hex}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.idle_seconds = idle_seconds
        self.proc: subprocess.Popen | None = None
        self.log_path = state_dir / "fake-sprites.log"

    def start(self, timeout: float = 30) -> FakeSprites:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        root = Path(__file__).resolve().parents[2]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.fakes.sprites_api",
                    "--port",
                    str(self.port),
                    "--state",
                    str(self.state_dir),
                    "--token",
                    self.token,
                    "--idle-seconds",
                    str(self.idle_seconds),
                ],
                cwd=root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fake sprites exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/_fake/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError("fake sprites did not start")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> FakeSprites:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ---- test controls

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/_fake/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def inject(
        self,
        method: str,
        path: str,
        status: int = 500,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        count: int = 1,
        kind: str = "http",
    ) -> None:
        self.control(
            "POST",
            "inject",
            json={
                "method": method,
                "path": path,
                "status": status,
                "body": body,
                "headers": headers or {},
                "count": count,
                "kind": kind,
            },
        )

    def configure(self, **settings: Any) -> dict[str, Any]:
        return self.control("POST", "config", json=settings)

    def pause(self, name: str) -> dict[str, Any]:
        return self.control("POST", f"sprites/{name}/pause")

    def inspect(self, name: str) -> dict[str, Any]:
        return self.control("GET", f"sprites/{name}")

    def requests(self) -> list[dict[str, Any]]:
        return self.control("GET", "log")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.state, args.token, args.idle_seconds))


if __name__ == "__main__":
    main()
