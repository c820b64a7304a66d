"""What a local Sprite's sandbox may see, checked on the command line bubblewrap gets."""

from __future__ import annotations

import sys
from pathlib import Path

from bridge.providers.sandbox import bwrap_argv, plan_for, runtime_readonly_paths
from stackdocs import PROJECT_ROOT


def _binds(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_only_the_workspace_is_writable_and_the_repo_root_is_never_bound(tmp_path: Path) -> None:
    data_dir = PROJECT_ROOT / ".stackdocs"  # the default: inside the repository
    workspace = tmp_path / "ws"
    workspace.mkdir()
    argv = bwrap_argv("bwrap", plan_for(workspace, data_dir), ["python"])
    assert _binds(argv, "--bind") == [(str(workspace.resolve()), "/workspace")]
    readonly = [src for src, _ in _binds(argv, "--ro-bind")]
    assert str(PROJECT_ROOT) not in readonly
    assert str(PROJECT_ROOT / "stackdocs") in readonly
    assert str(PROJECT_ROOT / "sprite") in readonly
    assert str(Path(sys.prefix).resolve()) in readonly  # the venv
    for path in readonly:
        assert not data_dir.is_relative_to(path) or path in ("/usr", "/etc", "/opt")
    for flag in ("--unshare-pid", "--die-with-parent", "--cap-drop"):
        assert flag in argv
    assert argv[argv.index("--proc") + 1] == "/proc"
    assert argv[argv.index("--chdir") + 1] == "/workspace"


def test_the_real_python_behind_the_venv_is_bound() -> None:
    real = Path(sys.executable).resolve()
    assert any(real.is_relative_to(p) for p in runtime_readonly_paths())


def test_a_data_dir_inside_a_bound_path_is_masked(tmp_path: Path) -> None:
    inside_venv = Path(sys.prefix).resolve() / "stackdocs-data"
    plan = plan_for(tmp_path, inside_venv)
    assert plan.masked == (inside_venv,)
    argv = bwrap_argv("bwrap", plan, ["python"])
    mask_at = argv.index(str(inside_venv), argv.index("--tmpfs", argv.index(str(sys.prefix))))
    last_ro = max(i for i, a in enumerate(argv) if a == "--ro-bind")
    assert mask_at > last_ro  # mounted after the binds, so it hides them
    assert plan_for(tmp_path, tmp_path / "data").masked == ()


def test_host_secrets_are_masked() -> None:
    argv = bwrap_argv("bwrap", plan_for(Path("/tmp"), Path("/tmp/data")), ["python"])
    if Path("/etc/shadow").exists():
        assert ("/dev/null", "/etc/shadow") in _binds(argv, "--ro-bind")


def test_tmp_is_mounted_before_the_code_so_a_checkout_under_tmp_stays_visible() -> None:
    argv = bwrap_argv("bwrap", plan_for(Path("/tmp/ws"), Path("/tmp/data")), ["python"])
    tmpfs_tmp = next(i for i, a in enumerate(argv) if a == "/tmp" and argv[i - 1] == "--tmpfs")
    first_bind = argv.index("--ro-bind")
    assert tmpfs_tmp < first_bind
