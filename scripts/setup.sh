#!/usr/bin/env bash
# Installs what Stackdocs needs, from the package registries only (PyPI, npm, Debian):
#   bash scripts/setup.sh         the product: Debian OCR + sandbox packages, .venv, bun
#   bash scripts/setup.sh test    the same plus test tools (Chromium, PostgreSQL, Redis, pytest…)
# Safe to repeat: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
debs="tesseract-ocr tesseract-ocr-eng bubblewrap"
[ "$mode" = test ] && debs="$debs chromium postgresql redis-server"
missing=""
for pkg in $debs; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then apt_run=""; elif sudo -n true 2>/dev/null; then apt_run="sudo"; else apt_run="none"; fi
  if [ "$apt_run" = none ]; then
    say "WARNING: missing Debian packages:$missing (no root/sudo to install them)"
  else
    say "installing Debian packages:$missing"
    $apt_run apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $apt_run apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

# --- Python virtualenv -------------------------------------------------------------------------
python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
extras=""; [ "$mode" = test ] && extras="[test]"
stamp=".venv/.stackdocs-installed-$mode"
want="$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages$extras (pinned by pyproject.toml + requirements.lock)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -c requirements.lock -e ".$extras" 2>&1 \
    | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import reflex, claude_agent_sdk" || { say "Python install failed"; exit 1; }
  echo "$want" > "$stamp"
fi

# --- Reflex frontend toolchain: bun from the npm registry (Reflex would download it) -----------
if [ ! -x tools/node_modules/.bin/bun ]; then
  say "installing bun from the npm registry into tools/"
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix tools bun@1.4.4 >/dev/null
fi
tools/node_modules/.bin/bun --version >/dev/null

say "ready ($mode)"
