"""Stackdocs: shared pieces used by app, bridge and sprite (CLI, configuration, wire protocol)."""

from pathlib import Path

__version__ = "2.0.0"

# The repository root: rxconfig.py, assets/ and the frontend toolchain live here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
