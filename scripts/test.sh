#!/usr/bin/env bash
# The test command: installs the test dependencies, checks style, runs the whole suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_protocol.py -k unknown`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
