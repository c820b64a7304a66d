"""The Sprites.dev provider: one Sprite (a Fly.io microVM) per user, reached through its URL.

How the :class:`~bridge.providers.base.SpriteProvider` verbs map onto Sprites.dev:

* ``create`` — ``POST /v1/sprites`` (URL auth ``sprite``: only our org token gets through),
  tolerant of a duplicate (another worker, a retry) and of 429 (waits ``Retry-After``).
* ``wake`` — makes sure the Sprite runs *this* bridge's runtime release: reads the version
  marker and the runtime's environment file through the filesystem API and, only when one is
  missing or stale, uploads the release and installs it with one exec, writes the environment
  (a fresh ``SPRITE_TOKEN`` and the bridge's proxy settings, never an API key), locks egress
  down with the network policy, and (re)defines the ``stackdocs`` service with ``http_port``.
  The endpoint is the Sprite's URL over WebSocket with the org token as Bearer; the runtime's
  own token goes in the first ``auth`` frame. Connecting is what wakes a paused Sprite.
* ``sleep`` — there is no sleep endpoint: the bridge lets go of its connections and the Sprite
  pauses by itself (≈30 s later). ``status`` reads the Sprite's ``cold|warm|running``.
* checkpoints — the checkpoint API (NDJSON streams). A restore can bring back an older release;
  the next ``wake`` sees the old marker and deploys again.

The state that must survive a bridge restart (release marker, runtime token) lives on the
Sprite's own disk, so any bridge worker finds the same Sprite in the same state; concurrent
first wakes in several workers are serialised by :mod:`.lock`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import shlex
import time
from urllib.parse import urlparse

import websockets

from bridge.providers.base import (
    Checkpoint,
    EnvironmentFactory,
    ProviderError,
    RuntimeStatus,
    SpriteEndpoint,
    SpriteProvider,
)
from bridge.providers.sprites.api import SpritesAPI
from bridge.providers.sprites.lock import CrossWorkerLock
from bridge.providers.sprites.release import (
    HTTP_PORT,
    INSTALL_SCRIPT,
    RUNTIME_ROOT,
    SERVICE_NAME,
    WORKSPACE,
    Release,
    current_release,
)
from stackdocs.config import BridgeSettings

log = logging.getLogger("bridge.providers.sprites")

LABEL = "stackdocs"
ENV_FILE = f"{RUNTIME_ROOT}/sprite.env"
VERSION_FILE = f"{RUNTIME_ROOT}/VERSION"
SERVICE_LOG = f"/.sprite/logs/services/{SERVICE_NAME}.log"
READY_TIMEOUT_SECONDS = 120.0
INSTALL_TIMEOUT_SECONDS = 900.0
# Hosts a Sprite may reach besides the bridge: the package index its install step uses.
PACKAGE_HOSTS = ("pypi.org", "files.pythonhosted.org")
FINGERPRINT_VARIABLE = "STACKDOCS_BRIDGE_FINGERPRINT"
_CHECKPOINT_ID = re.compile(r"\b(v\d+)\b")


def parse_env_file(text: str) -> dict[str, str]:
    """Read back the ``KEY='value'`` lines :func:`render_env_file` writes."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            continue
        env[key.strip()] = parts[0] if parts else ""
    return env


def render_env_file(env: dict[str, str]) -> str:
    lines = ["# Written by the Stackdocs bridge; read by serve.sh. Holds no API key."]
    for key in sorted(env):
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", key):
            raise ProviderError("bad_environment", f"invalid environment variable name {key!r}")
        lines.append(f"{key}={shlex.quote(env[key])}")
    return "\n".join(lines) + "\n"


def websocket_url(sprite_url: str) -> str:
    parsed = urlparse(sprite_url)
    scheme = "wss" if parsed.scheme == "https" else "ws"
    return f"{scheme}://{parsed.netloc}/"


class SpritesProvider(SpriteProvider):
    name = "sprites"

    def __init__(
        self,
        settings: BridgeSettings,
        *,
        api: SpritesAPI | None = None,
        lock: CrossWorkerLock | None = None,
    ) -> None:
        if not settings.sprites_api_token:
            raise ProviderError("sprites_auth", "SPRITES_API_TOKEN is required")
        self.settings = settings
        self.api = api or SpritesAPI(settings.sprites_api_token, settings.sprites_api_url)
        self.lock = lock or CrossWorkerLock.for_settings(settings)
        self._locks: dict[str, asyncio.Lock] = {}
        self._urls: dict[str, str] = {}
        self._release: Release | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._release = await asyncio.to_thread(current_release)
        log.info("sprites provider ready: runtime release %s", self._release.version)

    async def close(self) -> None:
        await self.api.close()

    async def release(self) -> Release:
        if self._release is None:
            self._release = await asyncio.to_thread(current_release)
        return self._release

    def _lock(self, sprite_name: str) -> asyncio.Lock:
        return self._locks.setdefault(sprite_name, asyncio.Lock())

    # ------------------------------------------------------------------ sprites

    async def create(self, sprite_name: str) -> None:
        info = await self.api.get_or_create(sprite_name, [LABEL])
        if info.get("url"):
            self._urls[sprite_name] = info["url"]

    async def _url(self, sprite_name: str) -> str:
        url = self._urls.get(sprite_name)
        if url:
            return url
        info = await self.api.get(sprite_name)
        if info is None:
            raise ProviderError("missing", f"sprite {sprite_name} has not been created")
        if not info.get("url"):
            raise ProviderError("sprites_unavailable", f"sprite {sprite_name} has no URL")
        self._urls[sprite_name] = info["url"]
        return info["url"]

    async def status(self, sprite_name: str) -> RuntimeStatus:
        info = await self.api.get(sprite_name)
        if info is None:
            return "missing"
        return "running" if info.get("status") == "running" else "asleep"

    async def sleep(self, sprite_name: str) -> None:
        """Nothing to call: the bridge has let go of the connections, the Sprite pauses."""

    async def delete(self, sprite_name: str) -> None:
        async with self._lock(sprite_name):
            await self.api.delete(sprite_name)
            self._urls.pop(sprite_name, None)

    # ------------------------------------------------------------------ wake

    async def wake(self, sprite_name: str, environment: EnvironmentFactory) -> SpriteEndpoint:
        async with self._lock(sprite_name):
            url = await self._url(sprite_name)
            release = await self.release()
            current = await self._installed_state(sprite_name)
            if current is not None:
                return self._endpoint(url, current["SPRITE_TOKEN"])
            async with self.lock.hold(sprite_name):
                # Another worker may have done the work while we waited for the lock.
                current = await self._installed_state(sprite_name)
                if current is not None:
                    return self._endpoint(url, current["SPRITE_TOKEN"])
                token = await self._provision(sprite_name, release, environment)
            endpoint = self._endpoint(url, token)
            await self._wait_ready(sprite_name, endpoint)
            return endpoint

    def _endpoint(self, url: str, token: str) -> SpriteEndpoint:
        return SpriteEndpoint(
            url=websocket_url(url),
            token=token,
            headers={"Authorization": f"Bearer {self.settings.sprites_api_token}"},
        )

    async def _installed_state(self, sprite_name: str) -> dict[str, str] | None:
        """The runtime's environment if this release is installed and its service defined."""
        release = await self.release()
        version = await self.api.read_file(sprite_name, VERSION_FILE)
        if version is None or version.decode(errors="replace").strip() != release.version:
            return None
        raw_env = await self.api.read_file(sprite_name, ENV_FILE)
        if raw_env is None:
            return None
        env = parse_env_file(raw_env.decode(errors="replace"))
        if len(env.get("SPRITE_TOKEN", "")) < 16 or not self._env_current(env):
            return None
        services = await self.api.services(sprite_name)
        wanted = self._service_definition()
        for service in services:
            if service.get("name") == SERVICE_NAME:
                same = all(service.get(k) == v for k, v in wanted.items())
                return env if same else None
        return None

    def settings_fingerprint(self) -> str:
        """What of the bridge's settings the runtime's environment depends on: when it changes
        (a new public URL, OCR engine or model), the environment is written again."""
        s = self.settings
        parts = (
            s.public_url,
            s.ocr,
            s.model or "",
            f"{s.max_upload_mb:g}",
            str(s.model_configured),
        )
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]

    def _env_current(self, env: dict[str, str]) -> bool:
        return env.get(FINGERPRINT_VARIABLE) == self.settings_fingerprint()

    def _service_definition(self) -> dict[str, object]:
        return {"cmd": "/bin/sh", "args": [f"{RUNTIME_ROOT}/serve.sh"], "http_port": HTTP_PORT}

    async def _provision(
        self, sprite_name: str, release: Release, environment: EnvironmentFactory
    ) -> str:
        started = time.monotonic()
        version = await self.api.read_file(sprite_name, VERSION_FILE)
        if version is None or version.decode(errors="replace").strip() != release.version:
            await self._deploy(sprite_name, release)
        env = dict(await environment())
        env["SPRITE_TOKEN"] = secrets.token_urlsafe(32)
        env["HOME"] = f"{WORKSPACE}/.home"
        env[FINGERPRINT_VARIABLE] = self.settings_fingerprint()
        env.setdefault("STACKDOCS_OCR", self.settings.ocr)
        if self.settings.model:
            env.setdefault("STACKDOCS_MODEL", self.settings.model)
        for key in ("ANTHROPIC_API_KEY", "MISTRAL_API_KEY"):
            env.pop(key, None)  # defence in depth: a Sprite never holds a real key
        await self.api.write_file(sprite_name, ENV_FILE, render_env_file(env).encode(), 0o600)
        await self.api.set_network_policy(sprite_name, self.egress_rules())
        events = await self.api.put_service(sprite_name, SERVICE_NAME, self._service_definition())
        failed = [e for e in events if e.get("type") in ("exit", "error")]
        if failed:
            tail = await self._service_log_tail(sprite_name)
            raise ProviderError(
                "start_failed",
                f"the Sprite runtime exited (code {failed[0].get('exit_code')}): {tail}",
            )
        log.info(
            "sprite %s provisioned with release %s in %.1fs",
            sprite_name,
            release.version,
            time.monotonic() - started,
        )
        return env["SPRITE_TOKEN"]

    async def _deploy(self, sprite_name: str, release: Release) -> None:
        bundle_path = f"{release.directory}/bundle.tar.gz"
        script_path = f"{release.directory}/install.sh"
        await self.api.write_file(sprite_name, bundle_path, release.bundle)
        await self.api.write_file(sprite_name, script_path, INSTALL_SCRIPT.encode(), 0o755)
        result = await self.api.run(
            sprite_name,
            ["/bin/sh", script_path],
            env={
                "STACKDOCS_RUNTIME_ROOT": RUNTIME_ROOT,
                "STACKDOCS_RELEASE": release.version,
                "STACKDOCS_REQUIREMENTS_HASH": release.requirements_hash,
                "STACKDOCS_WORKSPACE": WORKSPACE,
            },
            limit_seconds=INSTALL_TIMEOUT_SECONDS,
        )
        if result.exit_code != 0:
            detail = (result.stderr or result.stdout).decode(errors="replace")[-1500:]
            raise ProviderError(
                "deploy_failed",
                f"installing runtime release {release.version} in {sprite_name} failed "
                f"(exit {result.exit_code}): {detail.strip()}",
            )
        log.info("sprite %s: runtime release %s installed", sprite_name, release.version)

    def egress_rules(self) -> list[dict[str, str]]:
        """The Sprite may reach the bridge (its proxy) and the package index, nothing else."""
        bridge_host = urlparse(self.settings.public_url).hostname or ""
        rules = [{"domain": host, "action": "allow"} for host in (bridge_host, *PACKAGE_HOSTS)]
        return [*rules, {"domain": "*", "action": "deny"}]

    async def _service_log_tail(self, sprite_name: str) -> str:
        try:
            data = await self.api.read_file(sprite_name, SERVICE_LOG)
        except ProviderError:
            return "(no service log)"
        return (data or b"(no service log)").decode(errors="replace")[-1500:].strip()

    async def _wait_ready(self, sprite_name: str, endpoint: SpriteEndpoint) -> None:
        """Until a WebSocket handshake through the Sprite URL succeeds (the runtime listens)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_SECONDS
        last_error = ""
        while loop.time() < deadline:
            try:
                async with websockets.connect(
                    endpoint.url, additional_headers=endpoint.headers, open_timeout=30
                ):
                    return
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                last_error = str(exc)
            await asyncio.sleep(0.5)
        tail = await self._service_log_tail(sprite_name)
        raise ProviderError(
            "start_timeout",
            f"the Sprite runtime did not answer through its URL ({last_error}): {tail}",
        )

    # ------------------------------------------------------------------ checkpoints

    async def checkpoint_create(self, sprite_name: str, comment: str | None) -> Checkpoint:
        async with self._lock(sprite_name):
            before = {c.id for c in await self.checkpoint_list(sprite_name)}
            events = await self.api.checkpoint_create(sprite_name, comment)
            errors = [e for e in events if e.get("type") == "error"]
            if errors:
                raise ProviderError(
                    "checkpoint_failed", str(errors[0].get("error") or errors[0].get("data"))
                )
            listed = await self.checkpoint_list(sprite_name)
            for event in reversed(events):
                found = _CHECKPOINT_ID.search(str(event.get("data") or ""))
                if found:
                    for checkpoint in listed:
                        if checkpoint.id == found.group(1):
                            return checkpoint
            fresh = [c for c in listed if c.id not in before]
            if fresh:
                return fresh[0]
            raise ProviderError("checkpoint_failed", "the checkpoint API reported no new id")

    async def checkpoint_list(self, sprite_name: str) -> list[Checkpoint]:
        items = await self.api.checkpoint_list(sprite_name)
        checkpoints = [
            Checkpoint(
                id=str(item["id"]),
                created_at=str(item.get("create_time") or ""),
                comment=item.get("comment") or None,
            )
            for item in items
            if item.get("id") and item.get("id") != "Current"
        ]
        return checkpoints  # the API lists newest first

    async def checkpoint_restore(self, sprite_name: str, checkpoint_id: str) -> None:
        async with self._lock(sprite_name):
            known = {c.id for c in await self.checkpoint_list(sprite_name)}
            if checkpoint_id not in known:
                raise ProviderError("unknown_checkpoint", f"no checkpoint {checkpoint_id!r}")
            events = await self.api.checkpoint_restore(sprite_name, checkpoint_id)
            errors = [e for e in events if e.get("type") == "error"]
            if errors:
                raise ProviderError(
                    "restore_failed", str(errors[0].get("error") or errors[0].get("data"))
                )
