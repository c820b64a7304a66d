"""Who is signed in: the token from the bridge's issuer, verified by the bridge.

Local mode (the default): the sign-in form takes a name, the bridge's local issuer signs a
short-lived token for it, and the user (and their Sprite) are created on first use. The token
is kept in the browser's localStorage so a reload stays signed in; it is verified again on
every page load and refreshed before it expires (``auth`` frame on the live session).
"""

from __future__ import annotations

import re
import time
from typing import Any

import reflex as rx

TOKEN_TTL_SECONDS = 15 * 60
REFRESH_BEFORE_SECONDS = 5 * 60
MAX_NAME_CHARS = 64


def bridge() -> Any:
    """The process's started bridge (``bridge.hub``); raises RuntimeError before start-up."""
    from bridge.hub import current_bridge

    return current_bridge()


def valid_name(name: str) -> str | None:
    """Why ``name`` cannot be a user name, or None if it can."""
    if not name:
        return "Type a name to sign in."
    if len(name) > MAX_NAME_CHARS:
        return f"Use at most {MAX_NAME_CHARS} characters."
    if not name.isprintable():
        return "Use printable characters only."
    return None


class SessionState(rx.State):
    token: str = rx.LocalStorage("", name="stackdocs_token")
    # "1" once this browser signed out: `stackdocs demo` then stops signing it in by itself.
    signed_out: str = rx.LocalStorage("", name="stackdocs_signed_out")
    user: str = ""
    email: str = ""
    checked: bool = False  # the stored token has been looked at on this page load
    signing_in: bool = False
    problem: str = ""

    _expires_at: float = 0.0

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.user)

    @rx.var
    def initials(self) -> str:
        parts = [p for p in re.split(r"[\s._@+-]+", self.user) if p]
        letters = "".join(p[0] for p in parts[:2]) or self.user[:2]
        return letters.upper() or "?"

    @rx.var
    def local_auth(self) -> bool:
        try:
            return bridge().settings.auth == "local"
        except RuntimeError:
            return True

    @rx.event
    async def sign_in(self, form: dict[str, Any]):
        from app.workspace import WorkspaceState

        name = str(form.get("user", "")).strip()
        if problem := valid_name(name):
            self.problem = problem
            return None
        self.signing_in = True
        self.problem = ""
        try:
            token = bridge().mint_local_token(name, ttl=TOKEN_TTL_SECONDS)
            claims = await bridge().verifier.verify(token)
        except Exception as exc:  # AuthError, or the bridge not started yet
            self.problem = f"Sign-in failed: {getattr(exc, 'message', exc)}"
            self.signing_in = False
            return None
        self.token = token
        self.signed_out = ""
        self._accept(claims)
        self.signing_in = False
        return WorkspaceState.pump

    @rx.event
    async def sign_out(self):
        from app.workspace import WorkspaceState

        workspace = await self.get_state(WorkspaceState)
        await workspace._disconnect()
        self._forget()
        self.signed_out = "1"
        return rx.redirect("/")

    async def _check(self) -> bool:
        """Verify the stored token on page load (refreshing it if due); False if signed out."""
        self.checked = True
        if not self.token and not self._sign_in_demo_presenter():
            self._forget()
            return False
        try:
            claims = await bridge().verifier.verify(self.token)
        except Exception as exc:
            self._forget()
            if getattr(exc, "code", "") == "token_expired" and self.local_auth:
                self.problem = "Your session expired: sign in again."
            return False
        self._accept(claims)
        return True

    def _sign_in_demo_presenter(self) -> bool:
        """``stackdocs demo`` (STACKDOCS_DEMO_USER): a browser that never signed out is
        signed in as the demo user straight away, so the presenter lands in the workspace."""
        if self.signed_out:
            return False
        try:
            demo_user = bridge().settings.demo_user
            if not demo_user:
                return False
            self.token = bridge().mint_local_token(demo_user, ttl=TOKEN_TTL_SECONDS)
        except Exception:  # the bridge not started yet, or not in local auth mode
            return False
        return True

    def _accept(self, claims: Any) -> None:
        self.user = claims.subject
        self.email = claims.email or ""
        self._expires_at = claims.expires_at

    def _forget(self) -> None:
        self.token = ""
        self.user = self.email = ""
        self._expires_at = 0.0

    def _refresh_due(self) -> bool:
        return bool(self.user) and self._expires_at - time.time() < REFRESH_BEFORE_SECONDS

    def _mint_refresh(self) -> str | None:
        """A fresh token for the signed-in user (local mode); None when this cannot be done."""
        try:
            token = bridge().mint_local_token(self.user, self.email or None, TOKEN_TTL_SECONDS)
        except Exception:
            return None
        self.token = token
        self._expires_at = time.time() + TOKEN_TTL_SECONDS
        return token
