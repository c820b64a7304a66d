"""The Sprites.dev API as the provider needs it, on top of the official SDK (``sprites-py``).

The SDK does the wire work (exec stream framing, filesystem, services, checkpoints, policy).
This module adds what a long-running bridge needs around it:

* one error type, :class:`ProviderError`, with stable codes (``sprites_auth``,
  ``sprites_rate_limited``, ``sprites_unavailable``, ``sprite_missing``, ...);
* a missing sprite recognised in both forms seen in the wild (404 ``sprite not found`` and
  500 ``failed to retrieve sprite``), a duplicate create (409, or 400 "already exists")
  treated as "someone else created it", and 429 answered by waiting ``Retry-After``;
* exec results that separate "the command failed" (exit code) from "the stream broke"
  (a close without the exit frame is an error, never exit 0).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import sprites
from sprites.exceptions import AuthenticationError, NotFoundError, SpriteError

from bridge.providers.base import ProviderError

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_RATE_LIMIT_WAIT_SECONDS = 30.0
MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


def _status_of(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    text = str(exc)
    marker = "(status "
    if marker in text:
        try:
            return int(text.split(marker, 1)[1].split(")", 1)[0])
        except ValueError:
            return None
    return None


def is_missing(exc: Exception) -> bool:
    """A 404, or the 500 ``failed to retrieve sprite`` the real API answers for a missing one."""
    status = _status_of(exc)
    return (
        isinstance(exc, NotFoundError)
        or status == 404
        or (status == 500 and "failed to retrieve sprite" in str(exc).lower())
    )


def _provider_error(exc: Exception, operation: str) -> ProviderError:
    if isinstance(exc, AuthenticationError) or _status_of(exc) == 401:
        return ProviderError(
            "sprites_auth",
            f"Sprites.dev refused the API token ({operation}): check SPRITES_API_TOKEN",
        )
    if _status_of(exc) == 429:
        return ProviderError("sprites_rate_limited", f"Sprites.dev rate limit ({operation}): {exc}")
    if is_missing(exc):
        return ProviderError("sprite_missing", f"the sprite does not exist ({operation})")
    return ProviderError("sprites_unavailable", f"Sprites.dev {operation} failed: {exc}")


class SpritesAPI:
    """A thin async facade over ``sprites.AsyncSpritesClient`` for one organisation token."""

    def __init__(self, token: str, base_url: str, *, timeout: float = 30.0) -> None:
        self.client = sprites.AsyncSpritesClient(token, base_url=base_url, timeout=timeout)
        self.token = token
        self.base_url = base_url.rstrip("/")

    async def close(self) -> None:
        await self.client.aclose()

    def sprite(self, name: str) -> sprites.AsyncSprite:
        return self.client.sprite(name)

    # ------------------------------------------------------------------ plumbing

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One REST call with 429 handling; returns the response for any other status."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = await getattr(self.client.http_client, method.lower())(
                    f"{self.base_url}{path}", **kwargs
                )
            except httpx.HTTPError as exc:
                raise ProviderError(
                    "sprites_unavailable", f"cannot reach Sprites.dev at {self.base_url}: {exc}"
                ) from None
            if response.status_code == 401:
                raise ProviderError(
                    "sprites_auth", "Sprites.dev refused the API token: check SPRITES_API_TOKEN"
                )
            if response.status_code != 429 or attempt == MAX_ATTEMPTS:
                return response
            await asyncio.sleep(_retry_after(response))
        raise AssertionError("unreachable")

    async def call(self, operation: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Run one SDK call; 429 waits and retries, everything else becomes ProviderError."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return await fn()
            except ProviderError:
                raise
            except (SpriteError, httpx.HTTPError) as exc:
                if _status_of(exc) == 429 and attempt < MAX_ATTEMPTS:
                    wait = getattr(exc, "get_retry_after_seconds", lambda: None)() or 1
                    await asyncio.sleep(min(float(wait), MAX_RATE_LIMIT_WAIT_SECONDS))
                    continue
                raise _provider_error(exc, operation) from None
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ sprites

    async def get(self, name: str) -> dict[str, Any] | None:
        """The sprite object, or None when it does not exist."""
        response = await self._request("GET", f"/v1/sprites/{name}")
        if response.status_code == 200:
            return response.json()
        if response.status_code == 404 or (
            response.status_code == 500 and "failed to retrieve sprite" in response.text.lower()
        ):
            return None
        raise ProviderError(
            "sprites_unavailable",
            f"Sprites.dev get sprite {name} failed ({response.status_code}): "
            f"{_error_text(response)}",
        )

    async def create(self, name: str, labels: list[str]) -> dict[str, Any]:
        """Create the sprite; if it already exists (a race, a retry), return the existing one."""
        response = await self._request(
            "POST",
            "/v1/sprites",
            json={"name": name, "url_settings": {"auth": "sprite"}, "labels": labels},
            timeout=120.0,
        )
        if response.status_code in (200, 201):
            return response.json()
        duplicate = response.status_code == 409 or (
            response.status_code == 400 and "exist" in response.text.lower()
        )
        if duplicate:
            existing = await self.get(name)
            if existing is not None:
                return existing
        if response.status_code == 429:
            raise ProviderError(
                "sprites_rate_limited",
                f"Sprites.dev refused to create {name} (rate limit): {_error_text(response)}",
            )
        raise ProviderError(
            "sprite_create_failed",
            f"Sprites.dev could not create {name} ({response.status_code}): "
            f"{_error_text(response)}",
        )

    async def get_or_create(self, name: str, labels: list[str]) -> dict[str, Any]:
        return await self.get(name) or await self.create(name, labels)

    async def delete(self, name: str) -> None:
        response = await self._request("DELETE", f"/v1/sprites/{name}")
        if response.status_code in (200, 204, 404):
            return
        if response.status_code == 500 and "failed to retrieve sprite" in response.text.lower():
            return
        raise ProviderError(
            "sprites_unavailable",
            f"Sprites.dev delete {name} failed ({response.status_code}): {_error_text(response)}",
        )

    # ------------------------------------------------------------------ exec and files

    async def run(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        limit_seconds: float | None = None,
    ) -> ExecResult:
        """Run a command to completion; a stream that breaks before the exit frame raises."""

        async def go() -> ExecResult:
            result = await self.sprite(name).run(
                *argv, capture_output=True, env=env, cwd=cwd, timeout=limit_seconds
            )
            return ExecResult(result.returncode, result.stdout or b"", result.stderr or b"")

        return await self.call(f"exec {argv[0]}", go)

    async def read_file(self, name: str, path: str) -> bytes | None:
        """A file's bytes, or None when it does not exist."""
        response = await self._request("GET", f"/v1/sprites/{name}/fs/read", params={"path": path})
        if response.status_code == 200:
            return response.content
        if response.status_code == 404 and _json(response).get("code") == "ENOENT":
            return None
        if response.status_code == 404 and _json(response).get("error") == "sprite not found":
            raise ProviderError("sprite_missing", f"the sprite {name} does not exist")
        if response.status_code == 404:
            return None
        raise ProviderError(
            "sprites_unavailable",
            f"reading {path} from {name} failed ({response.status_code}): {_error_text(response)}",
        )

    async def write_file(self, name: str, path: str, data: bytes, mode: int = 0o644) -> None:
        response = await self._request(
            "PUT",
            f"/v1/sprites/{name}/fs/write",
            params={"path": path, "mode": f"{mode:04o}", "mkdirParents": "true"},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=300.0,
        )
        if not response.is_success:
            raise ProviderError(
                "sprites_unavailable",
                f"writing {path} to {name} failed ({response.status_code}): "
                f"{_error_text(response)}",
            )

    # ------------------------------------------------------------------ services and policy

    async def services(self, name: str) -> list[dict[str, Any]]:
        response = await self._request("GET", f"/v1/sprites/{name}/services")
        if not response.is_success:
            raise ProviderError(
                "sprites_unavailable", f"listing services of {name} failed: {_error_text(response)}"
            )
        data = response.json()
        return data.get("services", []) if isinstance(data, dict) else list(data)

    async def put_service(
        self, name: str, service: str, definition: dict[str, Any], *, duration: float = 30
    ) -> list[dict[str, Any]]:
        """Create or replace a service (which starts it); the NDJSON events it streamed."""
        response = await self._request(
            "PUT",
            f"/v1/sprites/{name}/services/{service}",
            params={"duration": f"{duration:g}s"},
            json=definition,
            timeout=duration + 120.0,
        )
        if not response.is_success:
            raise ProviderError(
                "sprites_unavailable",
                f"defining service {service} on {name} failed ({response.status_code}): "
                f"{_error_text(response)}",
            )
        return _ndjson(response.text)

    async def service_action(
        self, name: str, service: str, action: str, *, duration: float = 30
    ) -> list[dict[str, Any]]:
        response = await self._request(
            "POST",
            f"/v1/sprites/{name}/services/{service}/{action}",
            params={"duration": f"{duration:g}s"} if action == "start" else None,
            timeout=duration + 120.0,
        )
        if not response.is_success:
            raise ProviderError(
                "sprites_unavailable",
                f"{action} of service {service} on {name} failed ({response.status_code}): "
                f"{_error_text(response)}",
            )
        return _ndjson(response.text)

    async def set_network_policy(self, name: str, rules: list[dict[str, str]]) -> None:
        response = await self._request(
            "POST", f"/v1/sprites/{name}/policy/network", json={"rules": rules}
        )
        if response.status_code not in (200, 204):
            raise ProviderError(
                "sprites_unavailable",
                f"setting the network policy of {name} failed ({response.status_code}): "
                f"{_error_text(response)}",
            )

    async def network_policy(self, name: str) -> dict[str, Any]:
        response = await self._request("GET", f"/v1/sprites/{name}/policy/network")
        return response.json() if response.is_success else {}

    # ------------------------------------------------------------------ checkpoints

    async def checkpoint_create(self, name: str, comment: str | None) -> list[dict[str, Any]]:
        response = await self._request(
            "POST",
            f"/v1/sprites/{name}/checkpoint",
            json={"comment": comment} if comment else {},
            timeout=600.0,
        )
        return self._stream_or_raise(response, f"checkpoint of {name}")

    async def checkpoint_list(self, name: str) -> list[dict[str, Any]]:
        response = await self._request("GET", f"/v1/sprites/{name}/checkpoints")
        if not response.is_success:
            raise ProviderError(
                "sprites_unavailable",
                f"listing checkpoints of {name} failed ({response.status_code}): "
                f"{_error_text(response)}",
            )
        return list(response.json())

    async def checkpoint_restore(self, name: str, checkpoint_id: str) -> list[dict[str, Any]]:
        response = await self._request(
            "POST", f"/v1/sprites/{name}/checkpoints/{checkpoint_id}/restore", timeout=600.0
        )
        return self._stream_or_raise(response, f"restore of {name} to {checkpoint_id}")

    @staticmethod
    def _stream_or_raise(response: httpx.Response, what: str) -> list[dict[str, Any]]:
        if not response.is_success:
            raise ProviderError(
                "sprites_unavailable",
                f"{what} failed ({response.status_code}): {_error_text(response)}",
            )
        return _ndjson(response.text)


def _ndjson(text: str) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            log.warning("Sprites.dev sent a line that is not JSON: %.200s", line)
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error_text(response: httpx.Response) -> str:
    data = _json(response)
    if "errors" in data and isinstance(data["errors"], list):
        return "; ".join(str(e) for e in data["errors"])
    parts = [str(data[k]) for k in ("error", "message") if data.get(k)]
    return " — ".join(parts) or response.text[:300]


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("retry-after", "")
    try:
        wait = float(raw)
    except ValueError:
        wait = float(_json(response).get("retry_after_seconds") or 1)
    return max(0.0, min(wait, MAX_RATE_LIMIT_WAIT_SECONDS))
