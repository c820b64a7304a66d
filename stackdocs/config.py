"""The one place that reads the environment.

Every variable of SPEC.md (and the few we add) is read and validated here, once, at start-up.
A bad value raises :class:`ConfigError` naming the variable and what is allowed; the CLI prints
that single line and exits, so a misconfigured deployment never half-starts.

Two views exist because two kinds of process start from this code: the bridge (the Reflex
backend, which holds the real keys) and a Sprite runtime (which must never see them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ANTHROPIC_PUBLIC_URL = "https://api.anthropic.com"
MISTRAL_PUBLIC_URL = "https://api.mistral.ai"
DEFAULT_PORT = 3000


class ConfigError(ValueError):
    """A configuration value is missing or invalid; ``str()`` is one line for the user."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(name, f"got {value!r}, allowed: {', '.join(allowed)}")
    return value


def _number(
    env: Mapping[str, str], name: str, default: float, *, minimum: float, maximum: float
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"got {raw!r}, expected a number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(name, f"got {raw}, allowed: {minimum:g} to {maximum:g}")
    return value


def _url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = env.get(name, "").strip() or default
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(name, f"got {raw!r}, expected an absolute http(s) URL")
    return raw.rstrip("/")


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _redis_url(env: Mapping[str, str]) -> str | None:
    raw = _optional(env, "REDIS_URL")
    if raw and urlparse(raw).scheme not in ("redis", "rediss"):
        raise ConfigError("REDIS_URL", f"got {raw!r}, expected a redis:// or rediss:// URL")
    return raw


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(name, f"got {raw!r}, expected 1 or 0")


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    return int(_number(env, name, default, minimum=1, maximum=65535))


@dataclass(frozen=True)
class BridgeSettings:
    """Configuration of the bridge / Reflex backend process (holds the real keys)."""

    port: int
    data_dir: Path
    auth: str
    clerk_jwks_url: str | None
    clerk_issuer: str | None
    clerk_audience: str | None
    clerk_publishable_key: str | None
    sprite_provider: str
    sprites_api_token: str | None
    sprites_api_url: str
    sprite_idle_seconds: float
    public_url: str
    database_url: str
    redis_url: str | None
    anthropic_api_key: str | None = field(repr=False)
    anthropic_upstream_url: str
    mistral_api_key: str | None = field(repr=False)
    mistral_upstream_url: str
    ocr: str
    model: str | None
    max_upload_mb: float
    # Passed on to every Sprite (the bridge is where an operator sets them).
    shell_timeout_seconds: float = 300
    model_timeout_seconds: float = 600
    # `stackdocs demo` signs the presenter in as this user straight away (local auth only).
    demo_user: str | None = None

    @property
    def model_configured(self) -> bool:
        """True when missions can reach a model: a key, or an explicitly chosen upstream."""
        return bool(self.anthropic_api_key) or self.anthropic_upstream_url != ANTHROPIC_PUBLIC_URL

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, port: int | None = None
    ) -> BridgeSettings:
        env = os.environ if env is None else env
        port = port or _port(env, "STACKDOCS_PORT", DEFAULT_PORT)
        data_dir = Path(env.get("STACKDOCS_DATA_DIR", "").strip() or ".stackdocs").expanduser()
        if data_dir.exists() and not data_dir.is_dir():
            raise ConfigError("STACKDOCS_DATA_DIR", f"{data_dir} exists and is not a directory")

        auth = _choice(env, "STACKDOCS_AUTH", ("local", "clerk"), "local")
        clerk_jwks_url = _url(env, "CLERK_JWKS_URL", None)
        clerk_issuer = _optional(env, "CLERK_ISSUER")
        if auth == "clerk":
            if not clerk_jwks_url:
                raise ConfigError("CLERK_JWKS_URL", "required when STACKDOCS_AUTH=clerk")
            if not clerk_issuer:
                raise ConfigError("CLERK_ISSUER", "required when STACKDOCS_AUTH=clerk")

        provider = _choice(env, "STACKDOCS_SPRITE_PROVIDER", ("local", "sprites"), "local")
        sprites_token = _optional(env, "SPRITES_API_TOKEN")
        if provider == "sprites" and not sprites_token:
            raise ConfigError(
                "SPRITES_API_TOKEN", "required when STACKDOCS_SPRITE_PROVIDER=sprites"
            )

        mistral_key = _optional(env, "MISTRAL_API_KEY")
        ocr = _choice(
            env, "STACKDOCS_OCR", ("local", "mistral"), "mistral" if mistral_key else "local"
        )

        demo_user = _optional(env, "STACKDOCS_DEMO_USER")
        if demo_user and auth != "local":
            raise ConfigError("STACKDOCS_DEMO_USER", "only with STACKDOCS_AUTH=local")

        database_url = (
            _optional(env, "DATABASE_URL") or f"sqlite:///{(data_dir / 'platform.db').resolve()}"
        )
        if not database_url.startswith(("sqlite", "postgresql", "postgres")):
            raise ConfigError(
                "DATABASE_URL", f"got {database_url.split(':')[0]!r}, allowed: sqlite, postgresql"
            )

        return cls(
            port=port,
            data_dir=data_dir.resolve(),
            auth=auth,
            clerk_jwks_url=clerk_jwks_url,
            clerk_issuer=clerk_issuer,
            clerk_audience=_optional(env, "CLERK_AUDIENCE"),
            clerk_publishable_key=_optional(env, "CLERK_PUBLISHABLE_KEY"),
            sprite_provider=provider,
            sprites_api_token=sprites_token,
            sprites_api_url=_url(env, "SPRITES_API_URL", "https://api.sprites.dev") or "",
            sprite_idle_seconds=_number(
                env, "STACKDOCS_SPRITE_IDLE_SECONDS", 30, minimum=0.1, maximum=86400
            ),
            public_url=_url(env, "STACKDOCS_PUBLIC_URL", f"http://127.0.0.1:{port}") or "",
            database_url=database_url,
            redis_url=_redis_url(env),
            anthropic_api_key=_optional(env, "ANTHROPIC_API_KEY"),
            anthropic_upstream_url=_url(env, "ANTHROPIC_UPSTREAM_URL", ANTHROPIC_PUBLIC_URL) or "",
            mistral_api_key=mistral_key,
            mistral_upstream_url=_url(env, "MISTRAL_UPSTREAM_URL", MISTRAL_PUBLIC_URL) or "",
            ocr=ocr,
            model=_optional(env, "STACKDOCS_MODEL"),
            max_upload_mb=_number(
                env, "STACKDOCS_MAX_UPLOAD_MB", 100, minimum=0.001, maximum=10240
            ),
            shell_timeout_seconds=_number(
                env, "STACKDOCS_SHELL_TIMEOUT", 300, minimum=0.1, maximum=86400
            ),
            model_timeout_seconds=_number(
                env, "STACKDOCS_MODEL_TIMEOUT", 600, minimum=1, maximum=86400
            ),
            demo_user=demo_user,
        )


@dataclass(frozen=True)
class SpriteSettings:
    """Configuration of one Sprite runtime: proxy URLs and a per-sprite token, never a key."""

    token: str = field(repr=False)
    ocr: str
    model: str | None
    anthropic_base_url: str | None
    mistral_base_url: str | None
    proxy_token: str | None = field(repr=False)
    max_upload_mb: float
    shell_timeout_seconds: float
    # How long the agents wait on the model for one request (headers, or a silent stream) before
    # the mission fails with a clear error. Self-hosted models on small machines need more.
    model_timeout_seconds: float = 600.0
    # Without a model, run the demo's seed missions with the deterministic demo extractor
    # (sprite/demo_extractor.py); set only while `stackdocs demo` seeds its workspace.
    demo_extractor: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SpriteSettings:
        env = os.environ if env is None else env
        token = env.get("SPRITE_TOKEN", "")
        if len(token) < 16:
            raise ConfigError("SPRITE_TOKEN", "required, at least 16 characters")
        return cls(
            token=token,
            ocr=_choice(env, "STACKDOCS_OCR", ("local", "mistral"), "local"),
            model=_optional(env, "STACKDOCS_MODEL"),
            anthropic_base_url=_url(env, "ANTHROPIC_BASE_URL", None),
            mistral_base_url=_url(env, "MISTRAL_BASE_URL", None),
            proxy_token=_optional(env, "STACKDOCS_PROXY_TOKEN"),
            max_upload_mb=_number(
                env, "STACKDOCS_MAX_UPLOAD_MB", 100, minimum=0.001, maximum=10240
            ),
            shell_timeout_seconds=_number(
                env, "STACKDOCS_SHELL_TIMEOUT", 300, minimum=0.1, maximum=86400
            ),
            model_timeout_seconds=_number(
                env, "STACKDOCS_MODEL_TIMEOUT", 600, minimum=1, maximum=86400
            ),
            demo_extractor=_flag(env, "STACKDOCS_DEMO_EXTRACTOR"),
        )


def process_environment() -> dict[str, str]:
    """A copy of this process's environment, to build a child process's environment from."""
    return dict(os.environ)
