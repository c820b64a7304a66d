"""``stackdocs run`` / ``stackdocs demo``: validate config, then run Reflex in production mode.

Production mode serves the compiled frontend, Reflex's event socket and the bridge's routes
(``/ws``, ``/health``, ``/proxy/*``) from one server on one port. We start it as a child process,
wait until ``/health`` answers, then print the URL, so the line the user sees is a promise kept.
"""

from __future__ import annotations

import argparse
import fcntl
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from stackdocs import PROJECT_ROOT
from stackdocs.config import BridgeSettings, ConfigError, process_environment
from stackdocs.toolchain import ToolchainMissing, reflex_environment

READY_TIMEOUT_SECONDS = 900  # a first build on a cold machine installs frontend packages


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _claim_build_dir(env: dict[str, str], port: int):
    """Pick a frontend build directory no other running Stackdocs is serving from.

    Reflex rebuilds its web directory at every production start; a second ``stackdocs run`` (or
    a ``demo`` beside a ``run``) rebuilding the shared ``.web`` would pull the files from under
    the first. The default directory is claimed with a lock held for this process's lifetime;
    when it is taken, this run builds in ``.web-runs/<port>`` instead. Returns the open lock.
    """
    candidates = [Path(env.get("REFLEX_WEB_WORKDIR") or PROJECT_ROOT / ".web")]
    candidates.append(PROJECT_ROOT / ".web-runs" / str(port))
    for web_dir in candidates:
        web_dir = web_dir if web_dir.is_absolute() else PROJECT_ROOT / web_dir
        web_dir.parent.mkdir(parents=True, exist_ok=True)
        lock = (web_dir.parent / f".{web_dir.name}.serving.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        env["REFLEX_WEB_WORKDIR"] = str(web_dir)
        env.setdefault("REFLEX_STATES_WORKDIR", str(web_dir.parent / f".{web_dir.name}.states"))
        return lock
    raise RuntimeError(f"another Stackdocs on port {port} is building in this checkout")


def _wait_until_healthy(proc: subprocess.Popen[bytes], url: str) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def launch(args: argparse.Namespace) -> int:
    try:
        settings = BridgeSettings.from_env(port=args.port)
    except ConfigError as exc:
        print(f"stackdocs: configuration error: {exc}", file=sys.stderr)
        return 2

    if args.command == "demo":
        from stackdocs.demo_launch import prepare_demo

        try:
            extra_env = prepare_demo(settings, reset=args.reset, live=args.live)
        except NotImplementedError as exc:
            print(f"stackdocs: {exc}", file=sys.stderr)
            return 3
    else:
        extra_env = {}

    host = args.host or ("127.0.0.1" if settings.auth == "local" else "0.0.0.0")
    port = settings.port
    if not _port_is_free(host, port):
        print(
            f"stackdocs: port {port} on {host} is already in use (choose another with --port)",
            file=sys.stderr,
        )
        return 2
    try:
        env = reflex_environment(process_environment())
    except ToolchainMissing as exc:
        print(f"stackdocs: {exc}", file=sys.stderr)
        return 2
    env.update(extra_env)
    env["STACKDOCS_PORT"] = str(port)
    try:
        build_lock = _claim_build_dir(env, port)
    except RuntimeError as exc:
        print(f"stackdocs: {exc}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    cmd = [
        sys.executable,
        "-m",
        "reflex",
        "run",
        "--env",
        "prod",
        "--frontend-port",
        str(port),
        "--backend-port",
        str(port),
        "--backend-host",
        host,
    ]
    print(
        f"stackdocs: building and starting on port {port} (first start takes a minute)…", flush=True
    )
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env)

    def forward(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)

    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown_host}:{port}"
    try:
        if _wait_until_healthy(proc, url):
            print(f"\nStackdocs is ready: open {url}\n", flush=True)
        return proc.wait()
    finally:
        build_lock.close()  # held until the server is gone: the build dir is ours till then
