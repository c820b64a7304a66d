"""Start real processes for tests: free ports, readiness waits, the whole app via the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from stackdocs import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
STACKDOCS_BIN = PROJECT_ROOT / ".venv" / "bin" / "stackdocs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


class AppServer:
    """``stackdocs run`` as a user starts it, on a free port with its own data dir."""

    def __init__(
        self,
        data_dir: Path,
        env: Mapping[str, str] | None = None,
        command: str = "run",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self._env = {**os.environ, "STACKDOCS_DATA_DIR": str(data_dir), **(env or {})}
        self._args = [str(STACKDOCS_BIN), command, "--port", str(self.port), *extra_args]
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"app-{command}-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 600) -> AppServer:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self._args,
            cwd=PROJECT_ROOT,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_http(f"{self.url}/health", self.proc, timeout)
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
