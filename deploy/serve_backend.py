"""The Fly.io process: the Reflex backend alone (app state + the bridge), no frontend.

In the cloud split the compiled frontend is static on Vercel and talks to this process at
``REFLEX_API_URL``. This validates the configuration first (one clear line naming the variable,
like ``stackdocs run``), then replaces itself with ``reflex run --env prod --backend-only`` on
``STACKDOCS_PORT`` (Fly's ``internal_port``). With ``REDIS_URL`` set Reflex keeps its state in
Redis and starts several workers (``GRANIAN_WORKERS`` to choose how many).

Run: ``python deploy/serve_backend.py`` from the project root (the Dockerfile's command).
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    from stackdocs import PROJECT_ROOT
    from stackdocs.config import BridgeSettings, ConfigError, process_environment

    try:
        settings = BridgeSettings.from_env()
    except ConfigError as exc:
        print(f"stackdocs: configuration error: {exc}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(PROJECT_ROOT)
    argv = [
        sys.executable,
        "-m",
        "reflex",
        "run",
        "--env",
        "prod",
        "--backend-only",
        "--backend-host",
        "0.0.0.0",
        "--backend-port",
        str(settings.port),
    ]
    env = process_environment()
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    env.setdefault("REFLEX_CHECK_LATEST_VERSION", "false")
    os.execvpe(argv[0], argv, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    raise SystemExit(main())
