#!/usr/bin/env bash
# Run tests/sdk against the oldest supported botocore (tests/requirements-oldest-sdk.txt) on
# Python 3.10, the oldest supported Lambda runtime. The client side runs in
# .cache/venv-botocore-<version> (created on first use); moto runs from the main .venv.
# Usage: tests/sdk/run_oldest.sh [pytest args]     (PYTHON_OLDEST=python3.10 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
REQ=tests/requirements-oldest-sdk.txt
VERSION=$(sed -n 's/^botocore==//p' "$REQ")
VENV=.cache/venv-botocore-$VERSION
PY=${PYTHON_OLDEST:-python3.10}
if ! "$PY" -c pass 2>/dev/null; then  # a pyenv shim that is not active: use the install itself
    for candidate in "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.10*/bin/python3.10; do
        [ -x "$candidate" ] && PY=$candidate
    done
fi
if [ ! -f "$VENV/.installed" ] || [ "$REQ" -nt "$VENV/.installed" ]; then
    "$PY" -c pass 2>/dev/null || { echo "$PY not found: set PYTHON_OLDEST"; exit 1; }
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
    touch "$VENV/.installed"
fi
[ -x .venv/bin/python ] || { echo ".venv missing: run make venv first"; exit 1; }
export LOOPBACK_MOTO_PYTHON="$PWD/.venv/bin/python"
exec "$VENV/bin/python" -m pytest tests/sdk --confcutdir=tests/sdk -p no:cacheprovider "$@"
