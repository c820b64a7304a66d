"""The process-wide bridge: settings, token verifier, platform DB, Sprite provider, sessions.

One :class:`Bridge` lives in the Reflex backend process. It is created and started by the
lifespan task that ``bridge.routes.install`` registers (or by ``build_api``'s own lifespan when
the routes run without Reflex), and stopped with it. Other code reaches it with
:func:`current_bridge`::

    from bridge.hub import current_bridge

    bridge = current_bridge()                  # RuntimeError until the bridge has started
    session = await bridge.connect(token)      # a signed-in ClientSession (bridge.session)
    token = bridge.mint_local_token("alice")   # local auth mode only (the sign-in page)

Users are created on first sign-in (id = the token's ``sub``), their Sprite provisioned
(``pending`` → ``provisioning`` → ``active``); a ``suspended`` or ``deleted`` account is refused
with a clear message. Each start of a Sprite gets a fresh per-sprite proxy token — the only
credential a Sprite ever holds — whose SHA-256 is kept in the platform DB so ``/proxy/*`` can
tell which user a request is for.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from typing import Any

import httpx

from bridge.auth import AuthError, Claims, TokenVerifier
from bridge.db import PlatformDB
from bridge.lifecycle import SpriteLifecycle
from bridge.providers import ProviderError, SpriteProvider, create_provider, sprite_name_for
from bridge.session import (
    CLOSE_FORBIDDEN,
    CLOSE_GOING_AWAY,
    OUTBOX_FRAMES,
    SLOW_CLIENT_SECONDS,
    ClientSession,
)
from stackdocs import __version__
from stackdocs.config import BridgeSettings
from stackdocs.protocol import error_frame

log = logging.getLogger("bridge")

PROXY_TOKEN_PREFIX = "sdp_"
_current: Bridge | None = None


def current_bridge() -> Bridge:
    """The started bridge of this process (raises ``RuntimeError`` before start-up)."""
    if _current is None:
        raise RuntimeError("the bridge has not started (it starts with the Reflex backend)")
    return _current


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Bridge:
    def __init__(
        self,
        settings: BridgeSettings,
        *,
        provider: SpriteProvider | None = None,
        verifier: TokenVerifier | None = None,
        db: PlatformDB | None = None,
        session_outbox_frames: int = OUTBOX_FRAMES,
        slow_client_seconds: float = SLOW_CLIENT_SECONDS,
    ) -> None:
        self.settings = settings
        self._session_options = {
            "outbox_frames": session_outbox_frames,
            "slow_client_seconds": slow_client_seconds,
        }
        self.verifier = verifier or TokenVerifier.from_settings(settings)
        self.provider = provider or create_provider(settings)
        self.db = db or PlatformDB(settings.database_url)
        self.http: httpx.AsyncClient | None = None  # the proxy's upstream client
        self.started = False
        self._sprites: dict[str, SpriteLifecycle] = {}
        self._sessions: set[ClientSession] = set()
        self._user_locks: dict[str, asyncio.Lock] = {}
        self._proxy_tokens: dict[str, str] = {}  # sha256(token) -> user id

    # ------------------------------------------------------------------ start / stop

    async def start(self) -> None:
        global _current
        await self.db.migrate()
        await self.provider.start()
        self.http = httpx.AsyncClient(
            # A Sprite gives up on a model request after its model timeout; so does the proxy.
            timeout=httpx.Timeout(
                connect=10, read=self.settings.model_timeout_seconds + 5, write=600, pool=30
            ),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        self.started = True
        _current = self
        for warning in self.warnings():
            log.warning("%s", warning)
        log.info(
            "bridge ready: auth=%s provider=%s", self.settings.auth, self.settings.sprite_provider
        )

    async def stop(self) -> None:
        global _current
        if _current is self:
            _current = None
        self.started = False
        await asyncio.gather(
            *(s.close(CLOSE_GOING_AWAY, "server stopping") for s in list(self._sessions)),
            return_exceptions=True,
        )
        await asyncio.gather(
            *(sprite.shutdown() for sprite in self._sprites.values()), return_exceptions=True
        )
        await self.provider.close()
        if self.http is not None:
            await self.http.aclose()
        await self.db.close()

    def warnings(self) -> list[str]:
        return self.provider.warnings()

    def health(self) -> dict[str, Any]:
        settings = self.settings
        sandboxed = getattr(self.provider, "sandboxed", None)
        return {
            "status": "ok" if self.started else "starting",
            "version": __version__,
            "provider": settings.sprite_provider,
            "auth": settings.auth,
            "ocr": settings.ocr,
            "model_configured": settings.model_configured,
            "sandbox": (None if sandboxed is None else ("bubblewrap" if sandboxed else "DISABLED")),
            "warnings": self.warnings(),
            "sessions": len(self._sessions),
            "sprites_awake": sum(
                1 for s in self._sprites.values() if s.status != "asleep" or s.stopping
            ),
        }

    # ------------------------------------------------------------------ sessions

    def open_session(self) -> ClientSession:
        """A new, unauthenticated session: its first frame must be ``auth``."""
        if not self.started:
            raise RuntimeError("the bridge is not running")
        session = ClientSession(self, **self._session_options)
        self._sessions.add(session)
        return session

    async def connect(self, token: str) -> ClientSession:
        """A signed-in session for ``token``; raises :class:`AuthError` if refused."""
        session = self.open_session()
        try:
            await session.authenticate(token)
        except BaseException:
            await session.close()
            self._sessions.discard(session)
            raise
        return session

    def sessions_of(self, user_id: str) -> list[ClientSession]:
        return [s for s in self._sessions if s.user_id == user_id]

    def forget_session(self, session: ClientSession) -> None:
        self._sessions.discard(session)

    def mint_local_token(self, user_id: str, email: str | None = None, ttl: int = 3600) -> str:
        """A token from the local issuer (sign-in page); ``AuthError`` in Clerk mode."""
        issuer = self.verifier.local_issuer
        if issuer is None:
            raise AuthError("not_local", "tokens are minted only with STACKDOCS_AUTH=local")
        return issuer.mint(user_id, email=email, ttl=ttl)

    # ------------------------------------------------------------------ users

    async def sign_in(self, claims: Claims) -> SpriteLifecycle:
        """The user's Sprite (user created and Sprite provisioned on first sign-in)."""
        user_id = claims.subject
        async with self._user_locks.setdefault(user_id, asyncio.Lock()):
            record, created = await self.db.sign_in(user_id, claims.email)
            if created:
                log.info("new user %s", user_id)
            if record.sprite_status == "suspended":
                raise AuthError(
                    "account_suspended",
                    "this account is suspended: contact the administrator to restore access",
                )
            if record.sprite_status == "deleted":
                raise AuthError("account_deleted", "this account has been deleted")
            sprite = self._sprites.get(user_id)
            if sprite is not None:
                return sprite
            name = record.sprite_name or sprite_name_for(user_id)
            if record.sprite_status != "active" or record.sprite_name is None:
                await self.db.update_sprite(user_id, status="provisioning", sprite_name=name)
                try:
                    await self.provider.create(name)
                except ProviderError:
                    await self.db.update_sprite(user_id, status="pending")
                    raise
                await self.db.update_sprite(user_id, status="active")
            else:
                await self.provider.create(name)  # idempotent: repairs a missing workspace
            sprite = SpriteLifecycle(
                user_id=user_id,
                sprite_name=name,
                provider=self.provider,
                environment=lambda: self._sprite_environment(user_id),
                idle_seconds=self.settings.sprite_idle_seconds,
            )
            self._sprites[user_id] = sprite
            return sprite

    def sprite_of(self, user_id: str) -> SpriteLifecycle | None:
        return self._sprites.get(user_id)

    async def suspend_user(self, user_id: str) -> None:
        """Refuse the user from now on: close their sessions, revoke, put the Sprite to sleep."""
        await self.db.update_sprite(user_id, status="suspended")
        await self._evict_user(user_id, "account_suspended", "this account has been suspended")
        sprite = self._sprites.get(user_id)
        if sprite is not None:
            await sprite.sleep()

    async def delete_user_sprite(self, user_id: str) -> None:
        """Delete the user's Sprite and everything in it; the account is marked deleted."""
        await self._evict_user(user_id, "account_deleted", "this account has been deleted")
        sprite = self._sprites.pop(user_id, None)
        record = await self.db.get_user(user_id)
        name = sprite.sprite_name if sprite else (record.sprite_name if record else None)
        if sprite is not None:
            await sprite.shutdown()
        if name:
            await self.provider.delete(name)
        await self.db.update_sprite(user_id, status="deleted")

    async def _evict_user(self, user_id: str, code: str, message: str) -> None:
        await self.revoke_proxy_token(user_id)
        for session in [s for s in self._sessions if s.user_id == user_id]:
            session.notify(error_frame(code, message))
            await session.close(CLOSE_FORBIDDEN, code)

    # ------------------------------------------------------------------ proxy tokens

    async def _sprite_environment(self, user_id: str) -> dict[str, str]:
        """The environment of a Sprite start: proxy URLs and a fresh proxy token, no key."""
        settings = self.settings
        token = await self.issue_proxy_token(user_id)
        env = {
            "MISTRAL_BASE_URL": f"{settings.public_url}/proxy/mistral",
            "STACKDOCS_PROXY_TOKEN": token,
            "STACKDOCS_OCR": settings.ocr,
            "STACKDOCS_MAX_UPLOAD_MB": f"{settings.max_upload_mb:g}",
            "STACKDOCS_SHELL_TIMEOUT": f"{settings.shell_timeout_seconds:g}",
            "STACKDOCS_MODEL_TIMEOUT": f"{settings.model_timeout_seconds:g}",
        }
        if settings.model_configured:
            env["ANTHROPIC_BASE_URL"] = f"{settings.public_url}/proxy/anthropic"
        if settings.model:
            env["STACKDOCS_MODEL"] = settings.model
        return env

    async def issue_proxy_token(self, user_id: str) -> str:
        """A new proxy token for the user's Sprite; the previous one stops working."""
        token = PROXY_TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = token_hash(token)
        await self.db.set_proxy_token_hash(user_id, digest)
        self._drop_cached_tokens(user_id)
        self._proxy_tokens[digest] = user_id
        return token

    async def revoke_proxy_token(self, user_id: str) -> None:
        await self.db.set_proxy_token_hash(user_id, None)
        self._drop_cached_tokens(user_id)

    def _drop_cached_tokens(self, user_id: str) -> None:
        for digest in [d for d, u in self._proxy_tokens.items() if u == user_id]:
            del self._proxy_tokens[digest]

    async def user_for_proxy_token(self, token: str) -> str | None:
        """The user whose Sprite holds ``token``, or None (unknown, revoked, suspended)."""
        if not token.startswith(PROXY_TOKEN_PREFIX) or len(token) > 256:
            return None
        digest = token_hash(token)
        user_id = self._proxy_tokens.get(digest)
        if user_id is None:
            user_id = await self.db.user_for_proxy_token_hash(digest)
            if user_id is not None:
                self._proxy_tokens[digest] = user_id
        return user_id
