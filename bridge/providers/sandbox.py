"""The bubblewrap sandbox of a local Sprite: what it may see, as a pure argv builder.

Inside the sandbox a Sprite sees:

- its own workspace, read-write, at ``/workspace`` (and nothing else writable but a bounded
  ``/tmp`` tmpfs; the sandbox's root is remounted read-only);
- the system folders (``/usr``, ``/etc``, the ``/bin``-style links), read-only, with the host's
  secrets masked (``/etc/shadow``, ssh host keys, TLS private keys, ...);
- the code it runs — only the ``stackdocs`` and ``sprite`` packages, never the repository root,
  because the default data dir (``./.stackdocs``: every user's workspace, the issuer's private
  key, the platform DB) lives inside the repository — plus the virtualenv and the real Python
  the virtualenv links to, read-only;
- its own ``/proc`` (a new PID namespace: the bridge's environment, which holds the real keys,
  is not visible), a minimal ``/dev``, no capabilities, the host network (it must reach the
  bridge's proxy).

Any read-only path that would contain the bridge's data dir gets the data dir masked by an empty
tmpfs, so a future change to the bind list cannot expose other users' files by accident.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stackdocs import PROJECT_ROOT

WORKSPACE_MOUNT = "/workspace"
TMP_SIZE_BYTES = 512 * 1024 * 1024  # /tmp is memory: bounded so one Sprite cannot eat the RAM
SYSTEM_DIRS = ("/usr", "/etc", "/opt")
SYSTEM_LINKS_OR_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SECRET_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers")
SECRET_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d", "/etc/credstore")
# The runtime needs these two packages of the repository and nothing else from it.
RUNTIME_PACKAGES = ("stackdocs", "sprite")


@dataclass(frozen=True)
class SandboxPlan:
    workspace: Path  # host path mounted read-write at /workspace
    readonly: tuple[Path, ...]  # host paths mounted read-only at the same place
    masked: tuple[Path, ...]  # host paths hidden behind an empty tmpfs


def runtime_readonly_paths() -> tuple[Path, ...]:
    """The code, the virtualenv and the real Python the virtualenv links to."""
    paths: list[Path] = [PROJECT_ROOT / name for name in RUNTIME_PACKAGES]
    paths.append(Path(sys.prefix))
    paths.append(Path(sys.base_prefix))
    real_python = Path(os.path.realpath(sys.executable))
    paths.append(real_python.parent.parent)
    unique: list[Path] = []
    for path in paths:
        resolved = path.resolve()
        if resolved.exists() and resolved not in unique:
            unique.append(resolved)
    # A path already inside another bound path needs no bind of its own.
    return tuple(p for p in unique if not any(p != q and p.is_relative_to(q) for q in unique))


def plan_for(workspace: Path, data_dir: Path) -> SandboxPlan:
    readonly = runtime_readonly_paths()
    data_dir = data_dir.resolve()
    bound = [Path(p) for p in SYSTEM_DIRS] + list(readonly)
    masked = tuple([data_dir] if any(data_dir.is_relative_to(p) for p in bound) else [])
    return SandboxPlan(workspace=workspace.resolve(), readonly=readonly, masked=masked)


def bwrap_argv(bwrap: str, plan: SandboxPlan, command: Sequence[str]) -> list[str]:
    """The full ``bwrap`` command line running ``command`` inside ``plan``'s sandbox."""
    argv = [
        bwrap,
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sprite",
        # /tmp first: the code and the venv may live under /tmp (a CI clone), and their
        # read-only binds below must land on top of this tmpfs, not be hidden by it.
        "--size",
        str(TMP_SIZE_BYTES),
        "--tmpfs",
        "/tmp",
    ]
    for name in SYSTEM_DIRS:
        if Path(name).is_dir():
            argv += ["--ro-bind", name, name]
    for name in SYSTEM_LINKS_OR_DIRS:
        path = Path(name)
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            argv += ["--ro-bind", name, name]
    for name in SECRET_FILES:
        if Path(name).is_file():
            argv += ["--ro-bind", "/dev/null", name]
    for name in SECRET_DIRS:
        if Path(name).is_dir():
            argv += ["--tmpfs", name]
    for path in plan.readonly:
        argv += ["--ro-bind", str(path), str(path)]
    for path in plan.masked:
        argv += ["--tmpfs", str(path)]
    argv += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--bind",
        str(plan.workspace),
        WORKSPACE_MOUNT,
        # The sandbox's own root (where bwrap made the mount points) is read-only as well.
        "--remount-ro",
        "/",
        "--chdir",
        WORKSPACE_MOUNT,
        "--",
        *command,
    ]
    return argv


def probe_bwrap() -> tuple[str | None, str | None]:
    """``(path to bwrap, None)`` when a sandbox like ours starts here, else ``(None, why)``."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None, "bubblewrap (bwrap) is not installed"
    plan = SandboxPlan(workspace=Path("/tmp"), readonly=runtime_readonly_paths(), masked=())
    argv = bwrap_argv(bwrap, plan, [sys.executable, "-I", "-c", "pass"])
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, env={})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"bubblewrap cannot run: {exc}"
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        return None, f"bubblewrap cannot start a sandbox: {reason[-1] if reason else 'failed'}"
    return bwrap, None
