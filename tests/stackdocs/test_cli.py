"""The console script: clear errors, never fake success."""

import os
import subprocess

from tests.support.processes import STACKDOCS_BIN


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(STACKDOCS_BIN), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip()


def test_bad_configuration_stops_start_up_with_one_line():
    out = run_cli("run", "--port", "3999", env={"STACKDOCS_AUTH": "ldap"})
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "STACKDOCS_AUTH" in lines[0] and "local, clerk" in lines[0]


def test_sprite_serve_requires_a_workspace():
    out = run_cli("sprite", "serve")
    assert out.returncode != 0
    assert "--workspace" in out.stderr
