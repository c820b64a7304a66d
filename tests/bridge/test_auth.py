"""Token verification: one function for local and Clerk mode, and the whole attack list."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bridge.auth import (
    LEEWAY_SECONDS,
    LOCAL_ISSUER,
    AuthError,
    ClerkKeys,
    LocalIssuer,
    TokenVerifier,
    mint_local_token,
    verify_token,
)
from stackdocs.config import BridgeSettings
from tests.support.processes import PROJECT_ROOT, STACKDOCS_BIN

CLERK_ISSUER = "https://clerk.example.test"


@pytest.fixture
def issuer(tmp_path: Path) -> LocalIssuer:
    return LocalIssuer.for_data_dir(tmp_path)


def _claims(**overrides):
    now = int(time.time())
    claims = {"iss": LOCAL_ISSUER, "sub": "alice", "iat": now, "nbf": now, "exp": now + 600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(issuer: LocalIssuer, claims: dict, **headers) -> str:
    return jwt.encode(
        claims, issuer._private_key, algorithm="RS256", headers={"kid": issuer.kid, **headers}
    )


def _verify(issuer: LocalIssuer, token: str):
    return verify_token(token, issuer, issuer=LOCAL_ISSUER)


def _refused(issuer: LocalIssuer, token: str) -> AuthError:
    with pytest.raises(AuthError) as info:
        _verify(issuer, token)
    assert info.value.message  # a clear, non-empty reason
    return info.value


def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_minted_token_verifies(issuer: LocalIssuer) -> None:
    claims = _verify(issuer, issuer.mint("alice", email="a@example.com", ttl=60))
    assert claims.subject == "alice"
    assert claims.email == "a@example.com"
    assert claims.expires_at - time.time() <= 60


def test_the_key_persists_and_is_private(tmp_path: Path) -> None:
    first = LocalIssuer.for_data_dir(tmp_path)
    token = first.mint("bob")
    second = LocalIssuer.for_data_dir(tmp_path)
    assert second.kid == first.kid
    assert _verify(second, token).subject == "bob"
    assert (first.key_path.stat().st_mode & 0o077) == 0
    public = second.jwks()["keys"][0]
    assert public["kid"] == first.kid and "d" not in public and "p" not in public


def test_expired_token_is_refused(issuer: LocalIssuer) -> None:
    past = int(time.time()) - 3600
    token = _sign(issuer, _claims(iat=past, nbf=past, exp=past + 60))
    assert _refused(issuer, token).code == "token_expired"


def test_expiry_within_the_small_leeway_is_accepted(issuer: LocalIssuer) -> None:
    now = int(time.time())
    token = _sign(issuer, _claims(iat=now - 100, nbf=now - 100, exp=now - LEEWAY_SECONDS + 2))
    assert _verify(issuer, token).subject == "alice"


def test_not_yet_valid_token_is_refused(issuer: LocalIssuer) -> None:
    future = int(time.time()) + 3600
    assert _refused(issuer, _sign(issuer, _claims(nbf=future))).code == "token_not_yet_valid"
    assert _refused(issuer, _sign(issuer, _claims(iat=future))).code == "token_not_yet_valid"


def test_wrong_issuer_is_refused(issuer: LocalIssuer) -> None:
    token = _sign(issuer, _claims(iss="https://evil.example"))
    assert _refused(issuer, token).code == "wrong_issuer"


def test_wrong_or_missing_audience_is_refused_when_one_is_configured(
    issuer: LocalIssuer,
) -> None:
    good = _sign(issuer, _claims(aud="stackdocs"))
    assert verify_token(good, issuer, issuer=LOCAL_ISSUER, audience="stackdocs").subject
    for token in (_sign(issuer, _claims(aud="other-app")), _sign(issuer, _claims())):
        with pytest.raises(AuthError) as info:
            verify_token(token, issuer, issuer=LOCAL_ISSUER, audience="stackdocs")
        assert info.value.code in ("wrong_audience", "missing_claim")


def test_alg_none_is_refused(issuer: LocalIssuer) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": issuer.kid}
    token = f"{_b64(header)}.{_b64(_claims())}."
    assert _refused(issuer, token).code == "bad_algorithm"


def test_hs256_signed_with_the_public_key_is_refused(issuer: LocalIssuer) -> None:
    public_pem = issuer._private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.kid}
    signing_input = f"{_b64(header)}.{_b64(_claims())}".encode()
    import hashlib
    import hmac

    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    token = f"{signing_input.decode()}.{_b64(signature)}"
    assert _refused(issuer, token).code == "bad_algorithm"


def test_tampered_payload_is_refused(issuer: LocalIssuer) -> None:
    header, _payload, signature = issuer.mint("alice").split(".")
    forged = _b64(_claims(sub="bob"))
    assert _refused(issuer, f"{header}.{forged}.{signature}").code == "bad_signature"


def test_tampered_signature_is_refused(issuer: LocalIssuer) -> None:
    header, payload, signature = issuer.mint("alice").split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[10] ^= 0xFF
    assert _refused(issuer, f"{header}.{payload}.{_b64(bytes(raw))}").code == "bad_signature"


def test_token_from_another_key_is_refused_as_unknown_kid(
    issuer: LocalIssuer, tmp_path: Path
) -> None:
    other = LocalIssuer.for_data_dir(tmp_path / "elsewhere")
    assert _refused(issuer, other.mint("alice")).code == "unknown_key"
    # Another key claiming *our* kid does not verify either.
    forged = jwt.encode(
        _claims(), other._private_key, algorithm="RS256", headers={"kid": issuer.kid}
    )
    assert _refused(issuer, forged).code == "bad_signature"
    no_kid = jwt.encode(_claims(), issuer._private_key, algorithm="RS256")
    assert _refused(issuer, no_kid).code == "unknown_key"


def test_missing_sub_is_refused(issuer: LocalIssuer) -> None:
    assert _refused(issuer, _sign(issuer, _claims(sub=None))).code == "missing_claim"
    assert _refused(issuer, _sign(issuer, _claims(sub=""))).code in ("missing_claim",)
    assert _refused(issuer, _sign(issuer, _claims(exp=None))).code == "missing_claim"


@pytest.mark.parametrize(
    "token",
    ["", "   ", "not-a-jwt", "a.b", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.%%%.sig", "x" * 20000],
)
def test_malformed_tokens_are_refused(issuer: LocalIssuer, token: str) -> None:
    assert _refused(issuer, token).code in ("malformed_token", "missing_token", "bad_algorithm")


def test_mint_refuses_bad_input(issuer: LocalIssuer) -> None:
    for bad in ("", "  ", "a\nb", "x" * 300):
        with pytest.raises(ValueError):
            issuer.mint(bad)
    with pytest.raises(ValueError):
        issuer.mint("alice", ttl=0)


# ---------------------------------------------------------------------------- Clerk mode


class _Jwks:
    """A JWKS document served over real HTTP, whose keys the test rotates."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps({"keys": [outer.jwk(k) for k in outer.keys]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self, kid: str) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
        return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}

    def sign(self, kid: str, **claims) -> str:
        body = _claims(iss=CLERK_ISSUER, **claims)
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def clerk() -> _Jwks:
    server = _Jwks()
    server.add_key("k1")
    yield server
    server.server.shutdown()


def _clerk_verifier(clerk: _Jwks, tmp_path: Path, audience: str | None = None) -> TokenVerifier:
    env = {
        "STACKDOCS_DATA_DIR": str(tmp_path),
        "STACKDOCS_AUTH": "clerk",
        "CLERK_JWKS_URL": clerk.url,
        "CLERK_ISSUER": CLERK_ISSUER,
    }
    if audience:
        env["CLERK_AUDIENCE"] = audience
    return TokenVerifier.from_settings(BridgeSettings.from_env(env))


async def test_clerk_tokens_verify_with_cached_keys(clerk: _Jwks, tmp_path: Path) -> None:
    verifier = _clerk_verifier(clerk, tmp_path)
    assert isinstance(verifier.keys, ClerkKeys)
    for _ in range(3):
        assert (await verifier.verify(clerk.sign("k1", sub="user_2abc"))).subject == "user_2abc"
    assert clerk.fetches == 1  # cached
    assert verifier.local_issuer is None


async def test_clerk_refreshes_on_an_unknown_kid_after_rotation(clerk: _Jwks) -> None:
    verifier = TokenVerifier(
        ClerkKeys(clerk.url, refresh_cooldown=0), issuer=CLERK_ISSUER, blocking_keys=True
    )
    await verifier.verify(clerk.sign("k1", sub="u1"))
    clerk.add_key("k2")
    assert (await verifier.verify(clerk.sign("k2", sub="u2"))).subject == "u2"
    assert clerk.fetches == 2


async def test_a_flood_of_unknown_kids_refetches_at_most_once_per_cooldown(
    clerk: _Jwks, tmp_path: Path
) -> None:
    verifier = _clerk_verifier(clerk, tmp_path)
    await verifier.verify(clerk.sign("k1", sub="u1"))
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(20):
        token = jwt.encode(_claims(iss=CLERK_ISSUER), rogue, "RS256", headers={"kid": f"x{n}"})
        with pytest.raises(AuthError) as info:
            await verifier.verify(token)
        assert info.value.code == "unknown_key"
    assert clerk.fetches <= 2


async def test_clerk_refuses_the_attack_list(clerk: _Jwks, tmp_path: Path) -> None:
    verifier = _clerk_verifier(clerk, tmp_path, audience="stackdocs")
    good = clerk.sign("k1", sub="u", aud="stackdocs")
    assert (await verifier.verify(good)).subject == "u"
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    past = int(time.time()) - 3600
    cases = {
        "unknown_key": jwt.encode(
            _claims(iss=CLERK_ISSUER, aud="stackdocs"), rogue, "RS256", headers={"kid": "nope"}
        ),
        "bad_signature": jwt.encode(
            _claims(iss=CLERK_ISSUER, aud="stackdocs"), rogue, "RS256", headers={"kid": "k1"}
        ),
        "wrong_audience": clerk.sign("k1", sub="u", aud="another-app"),
        "wrong_issuer": jwt.encode(
            _claims(iss="https://evil", aud="stackdocs"), clerk.keys["k1"], "RS256",
            headers={"kid": "k1"},
        ),
        "token_expired": clerk.sign("k1", aud="stackdocs", iat=past, nbf=past, exp=past + 60),
        "missing_claim": clerk.sign("k1", sub=None, aud="stackdocs"),
    }  # fmt: skip
    for expected, token in cases.items():
        with pytest.raises(AuthError) as info:
            await verifier.verify(token)
        assert info.value.code == expected, (expected, info.value)


# ---------------------------------------------------------------------------- the CLI


def test_stackdocs_token_prints_a_verifiable_jwt_on_the_last_line(tmp_path: Path) -> None:
    env = {"STACKDOCS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [str(STACKDOCS_BIN), "token", "--user", "carol", "--email", "c@x.org", "--ttl", "120"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    claims = _verify(LocalIssuer.for_data_dir(tmp_path), token)
    assert (claims.subject, claims.email) == ("carol", "c@x.org")
    assert 100 < claims.expires_at - time.time() <= 120


def test_stackdocs_token_refuses_clerk_mode_and_bad_input(tmp_path: Path) -> None:
    base = {"STACKDOCS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    clerk_env = {
        **base,
        "STACKDOCS_AUTH": "clerk",
        "CLERK_JWKS_URL": "http://127.0.0.1:9/jwks",
        "CLERK_ISSUER": "x",
    }
    for env, args in ((clerk_env, ["--user", "a"]), (base, ["--user", " "]),
                      (base, ["--user", "a", "--ttl", "0"])):  # fmt: skip
        result = subprocess.run(
            [str(STACKDOCS_BIN), "token", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.strip()


def test_mint_local_token_refuses_clerk_mode(tmp_path: Path) -> None:
    settings = BridgeSettings.from_env(
        {
            "STACKDOCS_DATA_DIR": str(tmp_path),
            "STACKDOCS_AUTH": "clerk",
            "CLERK_JWKS_URL": "http://127.0.0.1:9/jwks",
            "CLERK_ISSUER": "x",
        }
    )
    with pytest.raises(AuthError):
        mint_local_token("alice", settings=settings)
