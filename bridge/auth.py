"""Who is calling: JWT verification (one function for both modes) and the local issuer.

Two modes, chosen by ``STACKDOCS_AUTH``:

- ``local`` (default): a built-in issuer. Its RSA key lives at ``<data dir>/auth/issuer.pem``
  (created on first use, mode 0600); :func:`mint_local_token` signs tokens with it and
  :meth:`LocalIssuer.jwks` publishes the public half (served at ``/.well-known/jwks.json``).
- ``clerk``: Clerk session tokens, verified against ``CLERK_JWKS_URL`` through pyjwt's
  :class:`jwt.PyJWKClient` (keys cached; an unknown ``kid`` triggers one refetch).

Both go through :func:`verify_token`: RS256 only, a ``kid`` that the key source knows,
``exp``/``nbf``/``iat`` checked with :data:`LEEWAY_SECONDS` of leeway, ``iss`` (and ``aud`` when
configured) checked, ``sub`` required. Anything else raises :class:`AuthError` with a stable
``code`` and a message a person can act on.

Typical use::

    verifier = TokenVerifier.from_settings(settings)
    claims = await verifier.verify(token)          # never blocks the event loop
    claims.subject, claims.email, claims.expires_at

    token = mint_local_token("alice", email="a@example.com", ttl=3600)   # local mode only
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stackdocs.config import BridgeSettings

LOCAL_ISSUER = "stackdocs-local"
ALGORITHM = "RS256"
LEEWAY_SECONDS = 5  # clock skew allowed on exp/nbf/iat (Clerk's own SDKs use 5 s)
DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 30 * 24 * 3600
MAX_TOKEN_CHARS = 16384
REFRESH_COOLDOWN = 5.0  # seconds between two JWKS refetches caused by unknown kids
# A token subject becomes a user id and, hashed, a Sprite name: keep it printable and short.
MAX_SUBJECT_CHARS = 255


class AuthError(Exception):
    """A token was refused. ``code`` is stable (for clients), ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True, slots=True)
class Claims:
    """The verified facts of a token that the bridge relies on."""

    subject: str
    email: str | None
    expires_at: float
    issuer: str
    raw: dict[str, Any]


class KeySource(Protocol):
    """Finds the public key for a token's ``kid`` (raises :class:`AuthError` when unknown)."""

    def public_key(self, kid: str) -> Any: ...


# ---------------------------------------------------------------------------- verification


def verify_token(
    token: str,
    keys: KeySource,
    *,
    issuer: str,
    audience: str | None = None,
    now: float | None = None,
) -> Claims:
    """Verify ``token`` and return its claims, or raise :class:`AuthError`.

    This is the single verification path of the bridge (local and Clerk). It is synchronous
    and pure apart from ``keys``; :class:`TokenVerifier` runs it off the event loop when the
    key source may fetch over the network.
    """
    if not isinstance(token, str) or not token.strip():
        raise AuthError("missing_token", "no token given")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthError("malformed_token", "token is too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError("malformed_token", f"token is not a JWT: {exc}") from None
    alg = header.get("alg")
    if alg != ALGORITHM:
        # Covers "none" and the HS256-signed-with-the-public-key confusion attack.
        raise AuthError("bad_algorithm", f"token algorithm {alg!r} refused, only RS256 is accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AuthError("unknown_key", "token header has no 'kid'")
    key = keys.public_key(kid)
    options: dict[str, Any] = {"require": ["exp", "iat", "iss", "sub"]}
    if audience is None:
        options["verify_aud"] = False
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            leeway=LEEWAY_SECONDS,
            options=options,
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token_expired", "token has expired") from None
    except jwt.ImmatureSignatureError:
        raise AuthError(
            "token_not_yet_valid", "token is not valid yet (nbf/iat in the future)"
        ) from None
    except jwt.InvalidIssuerError:
        raise AuthError("wrong_issuer", f"token issuer is not {issuer!r}") from None
    except jwt.InvalidAudienceError:
        raise AuthError("wrong_audience", f"token audience is not {audience!r}") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError("missing_claim", f"token has no '{exc.claim}' claim") from None
    except jwt.InvalidSignatureError:
        raise AuthError("bad_signature", "token signature does not verify") from None
    except jwt.DecodeError as exc:
        raise AuthError("malformed_token", f"token cannot be decoded: {exc}") from None
    except jwt.PyJWTError as exc:
        raise AuthError("invalid_token", f"token refused: {exc}") from None
    subject = payload.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise AuthError("missing_claim", "token has no 'sub' claim")
    if len(subject) > MAX_SUBJECT_CHARS or not subject.isprintable():
        raise AuthError("invalid_subject", "token subject is too long or not printable")
    iat = payload.get("iat")
    current = time.time() if now is None else now
    if isinstance(iat, int | float) and iat > current + LEEWAY_SECONDS:
        raise AuthError("token_not_yet_valid", "token is issued in the future (iat)")
    email = payload.get("email")
    return Claims(
        subject=subject,
        email=email if isinstance(email, str) else None,
        expires_at=float(payload["exp"]),
        issuer=str(payload["iss"]),
        raw=payload,
    )


# ---------------------------------------------------------------------------- key sources


class LocalIssuer:
    """The built-in issuer of local mode: one RSA key on disk, a JWKS with its public half."""

    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path
        self._private_key = _load_or_create_key(key_path)
        public_numbers = self._private_key.public_key().public_numbers()
        self._jwk = {
            "kty": "RSA",
            "use": "sig",
            "alg": ALGORITHM,
            "n": _b64url_uint(public_numbers.n),
            "e": _b64url_uint(public_numbers.e),
        }
        self.kid = _jwk_thumbprint(self._jwk)
        self._jwk["kid"] = self.kid

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> LocalIssuer:
        return cls(data_dir / "auth" / "issuer.pem")

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set document (public key only)."""
        return {"keys": [dict(self._jwk)]}

    def public_key(self, kid: str) -> Any:
        if kid != self.kid:
            raise AuthError("unknown_key", "token was signed by a key this issuer does not know")
        return self._private_key.public_key()

    def mint(self, user_id: str, email: str | None = None, ttl: int = DEFAULT_TTL_SECONDS) -> str:
        if not isinstance(user_id, str) or not user_id.strip():
            raise ValueError("user id must be a non-empty string")
        user_id = user_id.strip()
        if len(user_id) > MAX_SUBJECT_CHARS or not user_id.isprintable():
            raise ValueError(f"user id must be printable and at most {MAX_SUBJECT_CHARS} chars")
        if not 1 <= ttl <= MAX_TTL_SECONDS:
            raise ValueError(f"ttl must be between 1 and {MAX_TTL_SECONDS} seconds")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": LOCAL_ISSUER,
            "sub": user_id,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        if email:
            claims["email"] = email
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


class ClerkKeys:
    """Clerk's JWKS through :class:`jwt.PyJWKClient` (cached; refetched on an unknown kid).

    An unknown ``kid`` triggers at most one refetch per ``refresh_cooldown`` seconds, so a key
    rotation is picked up within seconds while a flood of forged kids cannot hammer Clerk.
    """

    def __init__(
        self, jwks_url: str, *, timeout: float = 10, refresh_cooldown: float = REFRESH_COOLDOWN
    ) -> None:
        self._client = jwt.PyJWKClient(
            jwks_url,
            # No per-kid LRU cache: it would keep accepting a key Clerk has retired. The JWKS
            # document itself is cached for five minutes (and refetched on an unknown kid).
            cache_keys=False,
            lifespan=300,
            timeout=timeout,
            cooldown_duration=refresh_cooldown,
        )

    def public_key(self, kid: str) -> Any:
        try:
            return self._client.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError as exc:
            raise AuthError("jwks_unavailable", f"cannot fetch the signing keys: {exc}") from None
        except jwt.PyJWKClientError:
            raise AuthError(
                "unknown_key", "token was signed by a key the issuer does not publish"
            ) from None


class TokenVerifier:
    """The bridge's configured verifier: the right key source, issuer and audience."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str | None = None,
        blocking_keys: bool = False,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        # A remote key source may fetch over HTTP: then verification runs in a thread.
        self._blocking = blocking_keys

    @classmethod
    def from_settings(cls, settings: BridgeSettings) -> TokenVerifier:
        if settings.auth == "clerk":
            assert settings.clerk_jwks_url and settings.clerk_issuer  # checked by config
            return cls(
                ClerkKeys(settings.clerk_jwks_url),
                issuer=settings.clerk_issuer,
                audience=settings.clerk_audience,
                blocking_keys=True,
            )
        return cls(LocalIssuer.for_data_dir(settings.data_dir), issuer=LOCAL_ISSUER)

    def verify_sync(self, token: str) -> Claims:
        return verify_token(token, self.keys, issuer=self.issuer, audience=self.audience)

    async def verify(self, token: str) -> Claims:
        if self._blocking:
            return await asyncio.to_thread(self.verify_sync, token)
        return self.verify_sync(token)

    @property
    def local_issuer(self) -> LocalIssuer | None:
        return self.keys if isinstance(self.keys, LocalIssuer) else None


def mint_local_token(
    user_id: str,
    email: str | None = None,
    ttl: int = DEFAULT_TTL_SECONDS,
    *,
    settings: BridgeSettings | None = None,
) -> str:
    """Sign a token for ``user_id`` with the local issuer of ``settings`` (default: the env).

    Used by ``stackdocs token`` and by the app's local sign-in page. Raises
    :class:`AuthError` (``code="not_local"``) when the bridge is not in local auth mode, and
    ``ValueError`` for a bad user id or ttl.
    """
    settings = settings or BridgeSettings.from_env()
    if settings.auth != "local":
        raise AuthError("not_local", "tokens are minted only with STACKDOCS_AUTH=local")
    return LocalIssuer.for_data_dir(settings.data_dir).mint(user_id, email=email, ttl=ttl)


# ---------------------------------------------------------------------------- key storage


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Write beside, then link into place: two processes starting at once (the CLI and the
        # bridge) both end up with the one key that won, never a half-written file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return key


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: a stable kid derived from the public key itself."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
