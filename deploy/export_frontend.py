"""Build the static frontend for Vercel: ``reflex export --frontend-only`` against a backend URL.

The export bakes the backend's address (Reflex's ``api_url``, from ``REFLEX_API_URL``) into the
compiled app, so it is built per deployment::

    REFLEX_API_URL=https://stackdocs-api.fly.dev .venv/bin/python deploy/export_frontend.py

It compiles a copy of the app in a scratch directory (never touching the project's own ``.web``,
which a running ``stackdocs run`` serves), with the project's offline toolchain (bun from
``tools/``, caches in the project), and copies the static site to ``deploy/frontend/`` (the
``outputDirectory`` of ``vercel.json``). ``--out`` chooses another folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stackdocs.config import process_environment  # noqa: E402
from stackdocs.toolchain import reflex_environment  # noqa: E402

DEFAULT_OUT = ROOT / "deploy" / "frontend"
APP_SOURCES = (
    "rxconfig.py",
    "app",
    "assets",
    "stackdocs",
    "bridge",
    "sprite",
    "reflex.lock",
    "pyproject.toml",
)
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".web", "node_modules")


def find_static_root(web: Path) -> Path:
    """The folder of the exported static site (the one holding the top-level index.html)."""
    candidates = sorted(web.rglob("index.html"), key=lambda p: len(p.parts))
    for candidate in candidates:
        if "node_modules" not in candidate.parts and "public" not in candidate.parts:
            return candidate.parent
    raise FileNotFoundError(f"no exported index.html under {web}")


def export(api_url: str, out: Path) -> Path:
    env = reflex_environment(process_environment())
    env["REFLEX_API_URL"] = api_url
    with tempfile.TemporaryDirectory(prefix="stackdocs-export-") as scratch:
        build = Path(scratch)
        for name in APP_SOURCES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, build / name, ignore=IGNORE)
            elif source.exists():
                shutil.copy2(source, build / name)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "reflex",
                "export",
                "--frontend-only",
                "--no-zip",
                "--loglevel",
                "warning",
            ],
            cwd=build,
            env=env,
            check=True,
        )
        static = find_static_root(build / ".web")
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(static, out)
    (out / "stackdocs-export.json").write_text(json.dumps({"api_url": api_url}) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export the static frontend for Vercel.")
    parser.add_argument("--api-url", help="the backend URL (default: $REFLEX_API_URL)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    api_url = args.api_url or process_environment().get("REFLEX_API_URL", "")
    if not api_url.startswith(("http://", "https://")):
        print(
            "export_frontend: set REFLEX_API_URL (or --api-url) to the backend's https URL",
            file=sys.stderr,
        )
        return 2
    out = export(api_url.rstrip("/"), args.out.resolve())
    print(f"exported the frontend for {api_url} to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
