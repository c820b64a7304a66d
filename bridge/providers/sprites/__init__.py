"""The Sprites.dev provider (``STACKDOCS_SPRITE_PROVIDER=sprites``); see ``provider.py``."""

from bridge.providers.sprites.provider import SpritesProvider

__all__ = ["SpritesProvider"]
