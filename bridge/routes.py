"""The bridge's HTTP and WebSocket routes, built in one place and handed to Reflex.

- ``GET /health``: liveness and configuration, with the sandbox state and any warning an
  operator must see (e.g. Sprites running without bubblewrap).
- ``WS /ws``: the relay (``bridge/relay.py`` around ``bridge/session.py``).
- ``/proxy/anthropic/{path}``, ``/proxy/mistral/{path}``: the key-injecting proxy.
- ``GET /.well-known/jwks.json``: the local issuer's public key (local auth mode only).

Reflex mounts its own API under this Starlette app, so these routes match first. Never add a
route at ``/``: it would hide the compiled frontend.

Mounted apps get no lifespan events, so :func:`install` registers the bridge's start-up and
shutdown with ``app.register_lifespan_task``; :func:`build_api` alone (tests, benches: serve it
with uvicorn) runs the same through Starlette's own lifespan.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from bridge.hub import Bridge
from bridge.proxy import proxy_endpoint
from bridge.relay import websocket_endpoint
from stackdocs import __version__
from stackdocs.config import BridgeSettings

if TYPE_CHECKING:
    import reflex as rx

PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]  # the allow-list narrows them


class _BridgeSlot:
    """Holds the bridge once the lifespan has created it (nothing is created at import)."""

    def __init__(self) -> None:
        self.bridge: Bridge | None = None

    def get(self) -> Bridge:
        if self.bridge is None:
            raise RuntimeError("the bridge has not started")
        return self.bridge


def build_api(
    settings: BridgeSettings, *, bridge_factory: Callable[[], Bridge] | None = None
) -> Starlette:
    """The bridge's Starlette app. ``bridge_factory`` builds the Bridge at start-up (tests
    pass one to choose a provider); by default ``Bridge(settings)``."""
    slot = _BridgeSlot()
    factory = bridge_factory or (lambda: Bridge(settings))

    async def health(_request: Request) -> JSONResponse:
        if slot.bridge is not None:
            return JSONResponse(slot.bridge.health())
        return JSONResponse(
            {
                "status": "starting",
                "version": __version__,
                "provider": settings.sprite_provider,
                "auth": settings.auth,
                "ocr": settings.ocr,
                "model_configured": settings.model_configured,
                "warnings": [],
            }
        )

    async def jwks(_request: Request) -> JSONResponse:
        issuer = slot.bridge.verifier.local_issuer if slot.bridge else None
        if issuer is None:
            return JSONResponse({"error": "no local issuer (STACKDOCS_AUTH is not local)"}, 404)
        return JSONResponse(issuer.jwks(), headers={"cache-control": "public, max-age=300"})

    @contextlib.asynccontextmanager
    async def run_bridge() -> AsyncIterator[None]:
        bridge = factory()
        await bridge.start()
        slot.bridge = bridge
        try:
            yield
        finally:
            slot.bridge = None
            await bridge.stop()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with run_bridge():
            yield

    routes = [
        Route("/health", health, methods=["GET"]),
        WebSocketRoute("/ws", websocket_endpoint(slot.get)),
        Route(
            "/proxy/anthropic/{path:path}",
            proxy_endpoint("anthropic", slot.get),
            methods=PROXY_METHODS,
        ),
        Route(
            "/proxy/mistral/{path:path}", proxy_endpoint("mistral", slot.get), methods=PROXY_METHODS
        ),
    ]
    if settings.auth == "local":
        routes.append(Route("/.well-known/jwks.json", jwks, methods=["GET"]))
    api = Starlette(routes=routes, lifespan=lifespan)
    api.state.run_bridge = run_bridge
    api.state.slot = slot
    return api


def install(app: rx.App, settings: BridgeSettings | None = None) -> None:
    """Mount the bridge on the Reflex app: its routes, and its start-up/shutdown."""
    settings = settings or BridgeSettings.from_env()
    api = build_api(settings)
    app.api_transformer = api
    app.register_lifespan_task(api.state.run_bridge)
