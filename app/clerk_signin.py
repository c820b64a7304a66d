"""Sign-in with Clerk (``STACKDOCS_AUTH=clerk``): ClerkJS in the page, tokens handed to the bridge.

How it works:

* :func:`clerk_session` (rendered once on the page) runs :meth:`ClerkState.start` on mount. That
  loads ClerkJS from the Frontend API encoded in ``CLERK_PUBLISHABLE_KEY`` (Clerk's own loader
  URL), asks it for the session token and hands the token to the server
  (:meth:`ClerkState.receive_token`), which verifies it with the bridge's verifier (JWKS) and
  signs the tab in, exactly like the local sign-in form does with a local token.
* Not signed in with Clerk yet: ClerkJS mounts its sign-in component into :func:`clerk_sign_in`
  (``#clerk-sign-in``) and the page asks again every few seconds, so completing Clerk's sign-in
  signs the workspace in.
* Signed in: every :data:`REFRESH_SECONDS` (50 s; Clerk session tokens live 60 s) the page asks
  ClerkJS for a fresh token, the server verifies it and sends it as an ``auth`` frame on the
  tab's live bridge session, so the bridge never closes the session for an expired token.

JavaScript reaches the server only through ``rx.call_script`` callbacks (no custom endpoint).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any

import reflex as rx

from app.state import SessionState, bridge

CLERK_JS_MAJOR = "5"
REFRESH_SECONDS = 50.0
SIGN_IN_POLL_SECONDS = 2.0
MOUNT_ID = "clerk-sign-in"
_refreshing: set[str] = set()  # tabs with a refresh loop in this worker


class ClerkKeyError(ValueError):
    pass


def frontend_api(publishable_key: str) -> str:
    """The Frontend API host a publishable key encodes (``pk_live_`` + base64(host + ``$``))."""
    prefix, _, encoded = publishable_key.strip().partition("_live_")
    if not encoded:
        prefix, _, encoded = publishable_key.strip().partition("_test_")
    if prefix != "pk" or not encoded:
        raise ClerkKeyError("CLERK_PUBLISHABLE_KEY must look like pk_live_… or pk_test_…")
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ClerkKeyError("CLERK_PUBLISHABLE_KEY is not a Clerk publishable key") from None
    host = decoded.rstrip("$")
    if not decoded.endswith("$") or not host or "/" in host or " " in host:
        raise ClerkKeyError("CLERK_PUBLISHABLE_KEY does not encode a Frontend API host")
    return host


def clerk_js_url(publishable_key: str) -> str:
    """Where Clerk serves ClerkJS for this instance (its documented script loader URL)."""
    host = frontend_api(publishable_key)
    return f"https://{host}/npm/@clerk/clerk-js@{CLERK_JS_MAJOR}/dist/clerk.browser.js"


def token_script(publishable_key: str) -> str:
    """JavaScript (run by ``rx.call_script``) that resolves to a session token or null.

    The first run loads ClerkJS once per page; when nobody is signed in it mounts Clerk's
    sign-in component into ``#clerk-sign-in`` (and redirects back here afterwards).
    """
    config = json.dumps(
        {"key": publishable_key, "src": clerk_js_url(publishable_key), "mount": MOUNT_ID}
    )
    return f"""(async () => {{
  const cfg = {config};
  if (!window.__stackdocsClerk) {{
    window.__stackdocsClerk = new Promise((resolve, reject) => {{
      const s = document.createElement("script");
      s.src = cfg.src;
      s.async = true;
      s.crossOrigin = "anonymous";
      s.setAttribute("data-clerk-publishable-key", cfg.key);
      s.onload = () => window.Clerk.load().then(() => resolve(window.Clerk), reject);
      s.onerror = () => reject(new Error("ClerkJS did not load from " + cfg.src));
      document.head.appendChild(s);
    }});
  }}
  const clerk = await window.__stackdocsClerk;
  if (clerk.session) return await clerk.session.getToken();
  const el = document.getElementById(cfg.mount);
  if (el && !el.dataset.mounted) {{
    el.dataset.mounted = "1";
    clerk.mountSignIn(el, {{forceRedirectUrl: window.location.href}});
  }}
  return null;
}})()"""


class ClerkState(rx.State):
    clerk_problem: str = ""

    @rx.event
    def start(self):
        """On mount: in Clerk mode, get a token now and keep them coming."""
        settings = bridge().settings
        if settings.auth != "clerk":
            return None
        try:
            script = token_script(settings.clerk_publishable_key or "")
        except ClerkKeyError as exc:
            self.clerk_problem = str(exc)
            return None
        return [rx.call_script(script, callback=ClerkState.receive_token), ClerkState.keep_fresh]

    @rx.event
    async def receive_token(self, token: Any):
        """A token from ClerkJS (or null): verify it, sign the tab in or refresh its session."""
        from app import link
        from app.workspace import WorkspaceState

        if not isinstance(token, str) or not token:
            return None
        try:
            claims = await bridge().verifier.verify(token)
        except Exception as exc:  # AuthError: say why; the next refresh may do better
            self.clerk_problem = f"Sign-in refused: {getattr(exc, 'message', exc)}"
            return None
        self.clerk_problem = ""
        session = await self.get_state(SessionState)
        if session.signed_in and session.user != claims.subject:
            session._forget()  # another Clerk user in this browser: start over as them
        first = not session.signed_in
        session.token = token
        session._accept(claims)
        if first:
            return WorkspaceState.pump
        live = link.get(self.router.session.client_token)
        if live is not None:
            await live.send("auth", {"token": token})
        return None

    @rx.event(background=True)
    async def keep_fresh(self):
        """Ask ClerkJS for a token every 50 s (every 2 s until signed in) while the tab lives."""
        from app.workspace import tab_connected

        tab = self.router.session.client_token
        if tab in _refreshing:
            return
        _refreshing.add(tab)
        try:
            script = token_script(bridge().settings.clerk_publishable_key or "")
            while True:
                async with self:
                    session = await self.get_state(SessionState)
                    signed_in = session.signed_in
                await asyncio.sleep(REFRESH_SECONDS if signed_in else SIGN_IN_POLL_SECONDS)
                if tab_connected(tab) is False:
                    return
                yield rx.call_script(script, callback=ClerkState.receive_token)
        finally:
            _refreshing.discard(tab)


def clerk_session() -> rx.Component:
    """Render once on every page: starts ClerkJS and the token refresh (Clerk mode only)."""
    return rx.box(display="none", on_mount=ClerkState.start, aria_hidden="true")


def clerk_sign_in() -> rx.Component:
    """Where Clerk's sign-in component appears (inside the sign-in card)."""
    return rx.vstack(
        rx.box(id=MOUNT_ID, aria_label="Clerk sign-in", width="100%", min_height="120px"),
        rx.cond(
            ClerkState.clerk_problem != "",
            rx.text(ClerkState.clerk_problem, size="2", color_scheme="red"),
        ),
        width="100%",
    )
