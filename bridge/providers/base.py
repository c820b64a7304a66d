"""The one interface every Sprite provider implements (local sandboxed process, Sprites.dev).

The bridge never assumes a local process: it asks a provider to make a user's Sprite exist
(:meth:`SpriteProvider.create`), to make it reachable (:meth:`~SpriteProvider.wake`, which returns a
:class:`SpriteEndpoint` — a WebSocket URL, handshake headers and the Sprite's own token to send in
the first ``auth`` frame), to let it go (:meth:`~SpriteProvider.sleep`), and to checkpoint it.

Credentials flow one way: the bridge builds the Sprite's environment (proxy URLs, a per-sprite
proxy token — never an API key) and hands it to :meth:`~SpriteProvider.wake` as a callable, which
the provider calls only when it actually (re)starts the runtime, so the tokens rotate with every
start. A Sprites.dev provider applies the same environment to its service definition.

Names are DNS labels (``[a-z0-9-]``, at most 50 chars) so that every provider accepts them.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

RuntimeStatus = Literal["missing", "asleep", "running"]
# Called by a provider when it (re)starts a Sprite; returns the Sprite's environment.
EnvironmentFactory = Callable[[], Awaitable[dict[str, str]]]


class ProviderError(Exception):
    """A provider operation failed. ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True, slots=True)
class SpriteEndpoint:
    """How the bridge reaches a running Sprite runtime over the SPEC WebSocket protocol."""

    url: str  # ws:// or wss://
    token: str = field(repr=False)  # the Sprite's own token, sent in the first `auth` frame
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # e.g. an org token


@dataclass(frozen=True, slots=True)
class Checkpoint:
    id: str
    created_at: str  # ISO 8601, UTC
    comment: str | None = None
    size_bytes: int | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "comment": self.comment,
            "size_bytes": self.size_bytes,
        }


def sprite_name_for(user_id: str) -> str:
    """A stable DNS-label name for a user's Sprite: readable prefix + hash of the full id."""
    slug = re.sub(r"[^a-z0-9]+", "-", user_id.lower()).strip("-")[:24].strip("-") or "user"
    digest = hashlib.sha256(user_id.encode()).hexdigest()[:12]
    return f"sd-{slug}-{digest}"


class SpriteProvider(ABC):
    """Lifecycle of users' Sprites. All methods are coroutines that never block the loop."""

    name: str = "abstract"

    async def start(self) -> None:  # noqa: B027 (optional hook)
        """Called once when the bridge starts (probe the sandbox, reap leftovers, ...)."""

    async def close(self) -> None:  # noqa: B027 (optional hook)
        """Called once when the bridge stops: let every Sprite go."""

    def warnings(self) -> list[str]:
        """Problems an operator must see (logged at start, shown by ``/health``)."""
        return []

    @abstractmethod
    async def create(self, sprite_name: str) -> None:
        """Provision the Sprite (storage, definition). Idempotent."""

    @abstractmethod
    async def wake(self, sprite_name: str, environment: EnvironmentFactory) -> SpriteEndpoint:
        """Make the Sprite reachable and return its endpoint.

        If it is already running and answering, return its current endpoint without calling
        ``environment``. Otherwise (asleep, crashed, unreachable) start it with the environment
        ``await environment()`` returns, wait until it accepts connections, and return the new
        endpoint. Raises :class:`ProviderError` when it cannot be started.
        """

    @abstractmethod
    async def sleep(self, sprite_name: str) -> None:
        """Stop the Sprite's runtime (its storage stays). Idempotent."""

    @abstractmethod
    async def status(self, sprite_name: str) -> RuntimeStatus: ...

    @abstractmethod
    async def checkpoint_create(self, sprite_name: str, comment: str | None) -> Checkpoint: ...

    @abstractmethod
    async def checkpoint_list(self, sprite_name: str) -> list[Checkpoint]:
        """Checkpoints, newest first."""

    @abstractmethod
    async def checkpoint_restore(self, sprite_name: str, checkpoint_id: str) -> None:
        """Replace the Sprite's state with the checkpoint's. The Sprite may be left asleep
        (the bridge wakes it again). The previous state is kept until the restore succeeded;
        an unknown id raises :class:`ProviderError` (``unknown_checkpoint``) and changes nothing.
        """

    @abstractmethod
    async def delete(self, sprite_name: str) -> None:
        """Stop the Sprite and delete its storage and checkpoints. Idempotent."""
