"""The runtime release shipped into a Sprite: our code, its pinned requirements, two scripts.

No Docker image: a Sprite is a Linux machine with Python, so a release is a small tarball of the
``stackdocs`` and ``sprite`` packages (the runtime needs nothing else of ours) plus the pinned
requirements the runtime imports. Its :attr:`Release.version` is a hash of exactly what is
shipped, so deploying is "compare the marker file in the Sprite with this version, copy only if
it differs" — safe to repeat, and a code change anywhere in the shipped files ships again.

Layout inside the Sprite (``RUNTIME_ROOT``)::

    releases/<version>/bundle.tar.gz   the tarball as uploaded
    releases/<version>/src/            stackdocs/, sprite/, requirements.txt, constraints.txt
    releases/<version>/venv -> ../../venvs/<requirements hash>   shared while deps don't change
    current -> releases/<version>       switched atomically after a successful install
    VERSION                             written last: the marker the deploy step checks
    sprite.env                          the runtime's environment (0600), read by serve.sh
    serve.sh                            the service command
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import re
import tarfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import sprite as sprite_package
import stackdocs
from stackdocs import PROJECT_ROOT

RUNTIME_ROOT = "/home/sprite/stackdocs"
WORKSPACE = "/workspace"
SERVICE_NAME = "stackdocs"
HTTP_PORT = 8080
# The bridge's own dependencies: the runtime never imports them, so a Sprite never installs them.
BRIDGE_ONLY = {"reflex", "sprites-py", "client-signals", "psycopg", "psycopg-binary", "pyjwt"}
SHIPPED_PACKAGES = (stackdocs, sprite_package)
SKIP_PARTS = {"__pycache__", ".pytest_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo"}

INSTALL_SCRIPT = """\
#!/bin/sh
# Installs one Stackdocs runtime release in this Sprite. Safe to run again.
set -eu
root="$STACKDOCS_RUNTIME_ROOT"
release="$root/releases/$STACKDOCS_RELEASE"
venv="$root/venvs/$STACKDOCS_REQUIREMENTS_HASH"
rm -rf "$release/src" && mkdir -p "$release/src"
tar -xzf "$release/bundle.tar.gz" -C "$release/src"
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv --system-site-packages "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \\
    -c "$release/src/constraints.txt" -r "$release/src/requirements.txt"
  touch "$venv/.complete"
fi
ln -sfn "$venv" "$release/venv"
workspace="$STACKDOCS_WORKSPACE"
if [ ! -d "$workspace" ]; then
  mkdir -p "$workspace" 2>/dev/null || sudo -n mkdir -p "$workspace"
fi
if [ ! -w "$workspace" ]; then sudo -n chown "$(id -u):$(id -g)" "$workspace"; fi
cp "$release/src/serve.sh" "$root/serve.sh.new" && chmod 0755 "$root/serve.sh.new"
mv -f "$root/serve.sh.new" "$root/serve.sh"
ln -sfn "$release" "$root/current.new" && mv -Tf "$root/current.new" "$root/current"
printf '%s\\n' "$STACKDOCS_RELEASE" > "$root/VERSION.new"
mv -f "$root/VERSION.new" "$root/VERSION"
# Older releases are not needed once the new one is current (their venvs may be shared).
for old in "$root"/releases/*; do
  [ "$old" = "$release" ] || rm -rf "$old"
done
"""

SERVE_SCRIPT = f"""\
#!/bin/sh
# The Sprite's HTTP service: the Stackdocs runtime on the port the Sprite URL routes to.
set -eu
root="{RUNTIME_ROOT}"
set -a
. "$root/sprite.env"
set +a
export PYTHONPATH="$root/current/src${{PYTHONPATH:+:$PYTHONPATH}}"
cd "{WORKSPACE}"
exec "$root/current/venv/bin/python" -m stackdocs.cli sprite serve \\
  --workspace "{WORKSPACE}" --host 0.0.0.0 --port "${{PORT:-{HTTP_PORT}}}"
"""


@dataclass(frozen=True)
class Release:
    version: str
    requirements_hash: str
    bundle: bytes = field(repr=False)

    @property
    def directory(self) -> str:
        return f"{RUNTIME_ROOT}/releases/{self.version}"


def _requirement_name(spec: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    return (match.group(1) if match else spec).lower().replace("_", "-")


def runtime_requirements() -> list[str]:
    """The project's pinned direct dependencies minus the bridge-only ones."""
    pyproject = PROJECT_ROOT / "pyproject.toml"
    if pyproject.is_file():
        specs = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    else:  # an installed (non-editable) bridge: the distribution's metadata has the same list
        specs = [s for s in importlib.metadata.requires("stackdocs") or [] if "extra ==" not in s]
    return sorted(s for s in specs if _requirement_name(s) not in BRIDGE_ONLY)


def runtime_constraints() -> str:
    lock = PROJECT_ROOT / "requirements.lock"
    if not lock.is_file():
        return ""
    keep = [
        line
        for line in lock.read_text().splitlines()
        if line.strip()
        and not line.startswith("#")
        and _requirement_name(line) not in BRIDGE_ONLY
        and not line.startswith("-e")
    ]
    return "\n".join(keep) + "\n"


def _shipped_files() -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for package in SHIPPED_PACKAGES:
        base = Path(package.__file__).resolve().parent
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base.parent)
            if (
                path.is_file()
                and not SKIP_PARTS.intersection(rel.parts)
                and path.suffix not in SKIP_SUFFIXES
            ):
                files.append((rel.as_posix(), path))
    return files


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0  # deterministic: the same files give the same bytes
    tar.addfile(info, io.BytesIO(data))


def build_release() -> Release:
    """Collect the shipped files and pack them (blocking file I/O: call from a thread)."""
    requirements = "\n".join(runtime_requirements()) + "\n"
    constraints = runtime_constraints()
    extra = {
        "requirements.txt": requirements.encode(),
        "constraints.txt": constraints.encode(),
        "install.sh": INSTALL_SCRIPT.encode(),
        "serve.sh": SERVE_SCRIPT.encode(),
    }
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with (
        gzip_writer(buffer) as raw,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, path in _shipped_files():
            data = path.read_bytes()
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
            _add(tar, name, data)
        for name, data in extra.items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
            _add(tar, name, data, 0o755 if name.endswith(".sh") else 0o644)
    requirements_hash = hashlib.sha256((requirements + constraints).encode()).hexdigest()[:16]
    return Release(
        version=digest.hexdigest()[:16],
        requirements_hash=requirements_hash,
        bundle=buffer.getvalue(),
    )


def gzip_writer(buffer: io.BytesIO):  # type: ignore[no-untyped-def]
    import gzip

    return gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0)


@functools.lru_cache(maxsize=1)
def current_release() -> Release:
    """The release of the code this bridge runs (built once per process)."""
    return build_release()
