"""The bridge's HTTP and WebSocket routes, built in one place and handed to Reflex.

Reflex mounts its own API under this Starlette app, so these routes match first. Never add a
route at ``/``: it would hide the compiled frontend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stackdocs import __version__
from stackdocs.config import BridgeSettings

if TYPE_CHECKING:
    import reflex as rx


def build_api(settings: BridgeSettings) -> Starlette:
    async def health(_request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "provider": settings.sprite_provider,
                "auth": settings.auth,
                "ocr": settings.ocr,
                "model_configured": settings.model_configured,
            }
        )

    return Starlette(routes=[Route("/health", health, methods=["GET"])])


def install(app: rx.App, settings: BridgeSettings | None = None) -> None:
    """Mount the bridge on the Reflex app: its routes, and (later) its lifespan tasks."""
    settings = settings or BridgeSettings.from_env()
    app.api_transformer = build_api(settings)
