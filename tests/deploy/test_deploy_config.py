"""The deployment files: Fly (backend + bridge) and Vercel (static frontend).

Parses ``fly.toml``, ``vercel.json`` and ``deploy/Dockerfile`` and checks them against the code
they deploy (ports, the health route, every variable name against ``stackdocs/config.py``);
the slow tests run the two deploy scripts for real: the Fly process command from a clean copy
of the app (no ``.web``) until ``/health`` answers, and the Vercel export against a backend URL.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from stackdocs import PROJECT_ROOT
from stackdocs.config import BridgeSettings
from tests.support.processes import free_port

FLY = tomllib.loads((PROJECT_ROOT / "fly.toml").read_text())
VERCEL = json.loads((PROJECT_ROOT / "vercel.json").read_text())
DOCKERFILE = (PROJECT_ROOT / "deploy" / "Dockerfile").read_text()
DEPLOY_DOC = (PROJECT_ROOT / "docs" / "deploy.md").read_text()
# Variables that other programs read (Reflex, granian), documented in docs/deploy.md.
FOREIGN_VARIABLES = {
    "REFLEX_API_URL",
    "GRANIAN_WORKERS",
    "REFLEX_TELEMETRY_ENABLED",
    "REFLEX_CHECK_LATEST_VERSION",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}


def config_variables() -> set[str]:
    """Every variable name stackdocs/config.py reads (its quoted UPPER_CASE names)."""
    source = (PROJECT_ROOT / "stackdocs" / "config.py").read_text()
    return set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', source))


def fly_secrets() -> list[str]:
    text = (PROJECT_ROOT / "fly.toml").read_text()
    return re.findall(r"^#\s+([A-Z][A-Z0-9_]+)\s{2,}", text, flags=re.M)


# ------------------------------------------------------------------------------ fly


def test_fly_serves_the_health_route_on_the_port_the_process_uses() -> None:
    service = FLY["http_service"]
    port = service["internal_port"]
    assert str(port) == FLY["env"]["STACKDOCS_PORT"]
    assert f"EXPOSE {port}" in DOCKERFILE and f"STACKDOCS_PORT={port}" in DOCKERFILE
    (check,) = service["checks"]
    assert check["method"] == "GET" and check["path"] == "/health"
    from bridge.routes import build_api

    api = build_api(BridgeSettings.from_env({}))
    assert "/health" in {getattr(r, "path", None) for r in api.routes}


def test_fly_builds_the_dockerfile_and_runs_the_backend_script() -> None:
    assert FLY["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (PROJECT_ROOT / FLY["build"]["dockerfile"]).is_file()
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE, flags=re.M)
    assert cmd is not None
    script = json.loads(cmd.group(1))[-1]
    assert (PROJECT_ROOT / script).is_file() and f"COPY {script}" in DOCKERFILE
    for package in ("stackdocs", "bridge", "sprite", "app"):
        assert f"COPY {package} ./{package}" in DOCKERFILE


def test_every_fly_variable_and_secret_is_one_config_reads() -> None:
    known = config_variables()
    env = set(FLY["env"])
    secrets = set(fly_secrets())
    assert {
        "SPRITES_API_TOKEN",
        "DATABASE_URL",
        "REDIS_URL",
        "ANTHROPIC_API_KEY",
        "MISTRAL_API_KEY",
        "CLERK_JWKS_URL",
        "CLERK_ISSUER",
    } <= secrets
    assert (env | secrets) - known == set(), "names config.py does not read"
    dockerfile_env = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", DOCKERFILE))
    assert dockerfile_env - known - FOREIGN_VARIABLES == set()
    for name in env | secrets:
        assert f"`{name}`" in DEPLOY_DOC, f"{name} is not documented in docs/deploy.md"


def test_fly_configuration_is_a_valid_production_configuration() -> None:
    """The [env] block plus placeholder secrets passes the same validation as start-up."""
    env = dict(FLY["env"])
    env.update({name: f"https://example.com/{name.lower()}" for name in fly_secrets()})
    env.update(
        {
            "DATABASE_URL": "postgresql://u:p@db.example.com/stackdocs",
            "REDIS_URL": "rediss://cache.example.com:6379",
            "SPRITES_API_TOKEN": "org/tok",
        }
    )
    settings = BridgeSettings.from_env(env)
    assert settings.port == FLY["http_service"]["internal_port"]
    assert settings.auth == "clerk" and settings.sprite_provider == "sprites"
    assert settings.public_url.startswith("https://")


# ------------------------------------------------------------------------------ vercel


def test_vercel_serves_the_exported_folder_as_a_static_spa() -> None:
    assert VERCEL["outputDirectory"] == "deploy/frontend"
    spec = importlib.util.spec_from_file_location(
        "export_frontend", PROJECT_ROOT / "deploy" / "export_frontend.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DEFAULT_OUT == PROJECT_ROOT / VERCEL["outputDirectory"]
    assert VERCEL["framework"] is None and "export_frontend.py" in VERCEL["buildCommand"]
    assert {"source": "/(.*)", "destination": "/__spa-fallback.html"} in VERCEL["rewrites"]
    ignore = (PROJECT_ROOT / ".vercelignore").read_text().splitlines()
    assert "/*" in ignore and "!/deploy/frontend" in ignore and "!/vercel.json" in ignore
    assert "`REFLEX_API_URL`" in DEPLOY_DOC


@pytest.mark.slow
def test_export_bakes_the_backend_url_into_the_static_site(tmp_path: Path) -> None:
    out = tmp_path / "frontend"
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "deploy" / "export_frontend.py"),
            "--api-url",
            "https://stackdocs-api.example.dev",
            "--out",
            str(out),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (out / "index.html").is_file() and (out / "__spa-fallback.html").is_file()
    env_js = "".join(p.read_text() for p in (out / "assets").glob("reflex-env-*.js"))
    assert "wss://stackdocs-api.example.dev/_event" in env_js
    assert json.loads((out / "stackdocs-export.json").read_text()) == {
        "api_url": "https://stackdocs-api.example.dev"
    }


def test_export_refuses_without_a_backend_url() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REFLEX_API_URL"}
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "deploy" / "export_frontend.py")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "REFLEX_API_URL" in result.stderr


# ------------------------------------------------------------------------------ the Fly process


def _clean_copy(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", ".web")
    target.mkdir(parents=True)
    for name in (
        "rxconfig.py",
        "app",
        "assets",
        "stackdocs",
        "bridge",
        "sprite",
        "deploy",
        "pyproject.toml",
    ):
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)


def test_the_backend_process_refuses_bad_configuration_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "STACKDOCS_AUTH": "clerk", "STACKDOCS_DATA_DIR": str(tmp_path)}
    env.pop("CLERK_JWKS_URL", None)
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "deploy" / "serve_backend.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "stackdocs: configuration error: CLERK_JWKS_URL: required when STACKDOCS_AUTH=clerk"
    ]


@pytest.mark.slow
def test_the_fly_process_serves_health_from_a_copy_without_a_frontend(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    _clean_copy(app_dir)
    port = free_port()
    env = {
        **os.environ,
        "STACKDOCS_PORT": str(port),
        "STACKDOCS_DATA_DIR": str(tmp_path / "d"),
        "PYTHONPATH": str(app_dir),
    }
    log = (tmp_path / "backend.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(app_dir / "deploy" / "serve_backend.py")],
        cwd=app_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                if health.status_code == 200 and health.json()["status"] == "ok":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert health is not None and health.status_code == 200, (
            tmp_path / "backend.log"
        ).read_text()[-3000:]
        assert health.json()["status"] == "ok"
        assert not (app_dir / ".web" / "build").exists()  # the backend alone, no frontend build
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
