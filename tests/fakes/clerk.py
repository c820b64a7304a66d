"""A local fake of Clerk: the Frontend API's JWKS and session tokens with Clerk's claim shape.

Clerk signs short-lived (60 s) RS256 session tokens whose claims are ``iss`` (the Frontend API
URL), ``sub`` (``user_…``), ``sid`` (``sess_…``), ``azp`` (the page's origin), ``iat``, ``nbf``,
``exp`` and ``v``; its public keys are published at ``{frontend api}/.well-known/jwks.json``
with a ``kid`` per key, and a key rotation publishes a new ``kid`` that tokens start carrying.

:class:`FakeClerk` serves that JWKS on 127.0.0.1 (a real HTTP server, in a thread) and mints
tokens the way Clerk does, so the bridge verifies them through its real ``PyJWKClient`` path.
``rotate()`` switches to a new signing key (optionally dropping the old one from the JWKS).

It also serves a stand-in of ClerkJS at the loader path Clerk uses
(``/npm/@clerk/clerk-js@5/dist/clerk.browser.js``) with the calls the sign-in page makes
(``Clerk.load``, ``mountSignIn``, ``session.getToken``), backed by
``POST /v1/client/sign_ins`` and ``POST /v1/client/sessions/{sid}/tokens``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.processes import free_port

SESSION_TOKEN_TTL = 60
CLERK_JS_PATH = "/npm/@clerk/clerk-js@5/dist/clerk.browser.js"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def new(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid=f"ins_{uuid.uuid4().hex[:24]}", private=key)

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }


def publishable_key(frontend_api_host: str, live: bool = False) -> str:
    """Clerk's publishable key format: ``pk_test_`` + base64(frontend API host + ``$``)."""
    encoded = base64.b64encode(f"{frontend_api_host}$".encode()).decode()
    return f"pk_{'live' if live else 'test'}_{encoded}"


FAKE_CLERK_JS = r"""
// A stand-in for ClerkJS with the few calls Stackdocs makes. Not Clerk's code.
(function () {
  const script = document.currentScript;
  const api = new URL(script.src).origin;
  const KEY = "fake_clerk_sid";
  async function post(path, body) {
    const r = await fetch(api + path, {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify(body || {}),
    });
    if (!r.ok) throw new Error("fake clerk: " + r.status);
    return r.json();
  }
  const listeners = [];
  const clerk = {
    publishableKey: script.getAttribute("data-clerk-publishable-key"),
    loaded: false, user: null, session: null,
    async load() {
      const sid = localStorage.getItem(KEY);
      if (sid) this._setSession(sid, localStorage.getItem(KEY + "_user"));
      this.loaded = true;
    },
    _setSession(sid, userId) {
      this.session = {id: sid, getToken: async () => (await post(
        "/v1/client/sessions/" + sid + "/tokens", {origin: location.origin})).jwt};
      this.user = {id: userId};
      listeners.forEach((fn) => fn({session: this.session, user: this.user}));
    },
    addListener(fn) { listeners.push(fn); },
    mountSignIn(el, props) {
      el.innerHTML = '<form aria-label="Clerk sign in"><label>Email address' +
        '<input name="identifier" type="email"></label>' +
        '<button type="submit">Continue</button></form>';
      el.querySelector("form").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const identifier = el.querySelector("input").value;
        const created = await post("/v1/client/sign_ins", {identifier});
        localStorage.setItem(KEY, created.session_id);
        localStorage.setItem(KEY + "_user", created.user_id);
        this._setSession(created.session_id, created.user_id);
        const target = props && (props.forceRedirectUrl || props.afterSignInUrl);
        if (target) window.location.assign(target);
      });
    },
  };
  window.Clerk = clerk;
})();
"""


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (browsers in tests ignore certificate errors)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "clerk-cert.pem", directory / "clerk-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class FakeClerk:
    """``tls_dir`` given: the Frontend API (ClerkJS, client endpoints, and so ``iss``) is also
    served over HTTPS, as Clerk's is, with a self-signed certificate; the JWKS stays on plain
    HTTP for the bridge."""

    def __init__(self, tls_dir: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tls_dir = tls_dir
        self.tls_port = free_port() if tls_dir else None
        self.keys: list[SigningKey] = [SigningKey.new()]
        self.jwks_requests = 0
        self.sessions: dict[str, str] = {}  # sid -> user id
        self.users: dict[str, str] = {}  # identifier -> user id
        self._servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    # ------------------------------------------------------------------ Clerk's shape

    @property
    def frontend_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}" if self.tls_port else self.url

    @property
    def issuer(self) -> str:
        """The Frontend API URL: the ``iss`` of every session token."""
        return self.frontend_url

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    @property
    def publishable_key(self) -> str:
        return publishable_key(f"127.0.0.1:{self.tls_port or self.port}")

    @property
    def signing_key(self) -> SigningKey:
        return self.keys[-1]

    def rotate(self, *, keep_old: bool = True) -> SigningKey:
        """A key rotation: new tokens carry a new ``kid``; the old key may leave the JWKS."""
        key = SigningKey.new()
        self.keys = [*self.keys, key] if keep_old else [key]
        return key

    def mint(
        self,
        user_id: str | None = None,
        *,
        session_id: str | None = None,
        azp: str = "https://app.example.com",
        ttl: int = SESSION_TOKEN_TTL,
        issued_at: float | None = None,
        key: SigningKey | None = None,
        **extra: Any,
    ) -> str:
        now = int(issued_at if issued_at is not None else time.time())
        claims = {
            "iss": self.issuer,
            "sub": user_id or f"user_{uuid.uuid4().hex[:24]}",
            "sid": session_id or f"sess_{uuid.uuid4().hex[:24]}",
            "azp": azp,
            "iat": now,
            "nbf": now - 10,
            "exp": now + ttl,
            "v": 2,
            "fva": [0, -1],
            **extra,
        }
        signer = key or self.signing_key
        return jwt.encode(claims, signer.private, algorithm="RS256", headers={"kid": signer.kid})

    # ------------------------------------------------------------------ server

    def _app(self) -> Starlette:
        async def jwks(_request: Request) -> JSONResponse:
            self.jwks_requests += 1
            return JSONResponse({"keys": [k.jwk() for k in self.keys]})

        async def clerk_js(_request: Request) -> Response:
            return Response(
                FAKE_CLERK_JS,
                media_type="application/javascript",
                headers={"access-control-allow-origin": "*"},
            )

        async def sign_in(request: Request) -> JSONResponse:
            body = await request.json()
            identifier = str(body.get("identifier", "")).strip().lower()
            if "@" not in identifier:
                return JSONResponse(
                    {"errors": [{"code": "form_identifier_invalid"}]}, 422, headers=_cors()
                )
            user_id = self.users.setdefault(identifier, f"user_{uuid.uuid4().hex[:24]}")
            session_id = f"sess_{uuid.uuid4().hex[:24]}"
            self.sessions[session_id] = user_id
            return JSONResponse({"session_id": session_id, "user_id": user_id}, headers=_cors())

        async def session_token(request: Request) -> JSONResponse:
            session_id = request.path_params["sid"]
            user_id = self.sessions.get(session_id)
            if user_id is None:
                return JSONResponse(
                    {"errors": [{"code": "session_not_found"}]}, 404, headers=_cors()
                )
            body = await request.json()
            token = self.mint(
                user_id, session_id=session_id, azp=str(body.get("origin") or "http://localhost")
            )
            return JSONResponse({"object": "token", "jwt": token}, headers=_cors())

        async def preflight(_request: Request) -> Response:
            return Response(status_code=204, headers=_cors())

        return Starlette(
            routes=[
                Route("/.well-known/jwks.json", jwks),
                Route(CLERK_JS_PATH, clerk_js),
                Route("/v1/client/sign_ins", sign_in, methods=["POST"]),
                Route("/v1/client/sign_ins", preflight, methods=["OPTIONS"]),
                Route("/v1/client/sessions/{sid}/tokens", session_token, methods=["POST"]),
                Route("/v1/client/sessions/{sid}/tokens", preflight, methods=["OPTIONS"]),
            ]
        )

    def start(self) -> FakeClerk:
        app = self._app()
        configs = [
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
            )
        ]
        if self.tls_dir is not None and self.tls_port is not None:
            cert, key = self_signed_certificate(self.tls_dir)
            configs.append(
                uvicorn.Config(
                    app,
                    host="127.0.0.1",
                    port=self.tls_port,
                    log_level="warning",
                    lifespan="off",
                    ssl_certfile=str(cert),
                    ssl_keyfile=str(key),
                )
            )
        for config in configs:
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            self._servers.append((server, thread))
            deadline = time.monotonic() + 10
            while not server.started:
                if time.monotonic() > deadline:
                    raise TimeoutError("fake Clerk did not start")
                time.sleep(0.01)
        return self

    def stop(self) -> None:
        for server, _thread in self._servers:
            server.should_exit = True
        for _server, thread in self._servers:
            thread.join(timeout=10)

    def __enter__(self) -> FakeClerk:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _cors() -> dict[str, str]:
    return {
        "access-control-allow-origin": "*",
        "access-control-allow-headers": "content-type",
        "access-control-allow-methods": "POST, OPTIONS",
    }


def decode_unverified(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
