"""The frontend toolchain Reflex builds with, kept inside the project so it works offline.

Reflex normally downloads ``bun`` from the internet. ``scripts/setup.sh`` installs it from the
npm registry into ``tools/``; here we put it first on PATH and keep every cache in the project,
so a fresh clone, CI and a developer machine build the same way with registry access only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from stackdocs import PROJECT_ROOT

BUN_BIN_DIR = PROJECT_ROOT / "tools" / "node_modules" / ".bin"


class ToolchainMissing(RuntimeError):
    pass


def npm_registry() -> str | None:
    """The registry this machine's npm uses (given it, Reflex skips its mirror probe)."""
    npm = shutil.which("npm")
    if not npm:
        return None
    try:
        out = subprocess.run(
            [npm, "config", "get", "registry"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    registry = out.stdout.strip()
    return registry if registry.startswith("http") else None


def reflex_environment(base: Mapping[str, str]) -> dict[str, str]:
    """Environment for a ``reflex`` subprocess: project-local bun and caches, no telemetry."""
    if not (BUN_BIN_DIR / "bun").exists():
        raise ToolchainMissing(f"bun not found in {BUN_BIN_DIR}: run `bash scripts/setup.sh` first")
    env = dict(base)
    env["PATH"] = f"{BUN_BIN_DIR}:{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env.setdefault("REFLEX_DIR", str(PROJECT_ROOT / ".reflex-dir"))
    env.setdefault("BUN_INSTALL_CACHE_DIR", str(PROJECT_ROOT / ".bun-cache"))
    env.setdefault("BUN_RUNTIME_TRANSPILER_CACHE_PATH", str(PROJECT_ROOT / ".bun-transpiler"))
    env["REFLEX_TELEMETRY_ENABLED"] = "false"
    env["REFLEX_CHECK_LATEST_VERSION"] = "false"
    if "NPM_CONFIG_REGISTRY" not in env and (registry := npm_registry()):
        env["NPM_CONFIG_REGISTRY"] = registry
    return env
