"""Sprite providers behind one interface (``base.SpriteProvider``), chosen by configuration."""

from __future__ import annotations

from bridge.providers.base import (
    Checkpoint,
    ProviderError,
    SpriteEndpoint,
    SpriteProvider,
    sprite_name_for,
)
from stackdocs.config import BridgeSettings

__all__ = [
    "Checkpoint",
    "ProviderError",
    "SpriteEndpoint",
    "SpriteProvider",
    "create_provider",
    "sprite_name_for",
]


def create_provider(settings: BridgeSettings) -> SpriteProvider:
    """The provider ``STACKDOCS_SPRITE_PROVIDER`` names (``local`` unless configured)."""
    if settings.sprite_provider == "sprites":
        try:
            from bridge.providers.sprites import SpritesProvider  # type: ignore[import-not-found]
        except ImportError:
            raise ProviderError(
                "provider_unavailable",
                "STACKDOCS_SPRITE_PROVIDER=sprites: the Sprites.dev provider is not installed yet",
            ) from None
        return SpritesProvider(settings)
    # The local provider, shared safely between the backend's workers (several with Redis).
    from bridge.providers.local_shared import SharedLocalProvider

    return SharedLocalProvider.from_settings(settings)
