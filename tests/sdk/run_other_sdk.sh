#!/usr/bin/env bash
# Run SDK tests against another botocore than the main .venv's, in a venv of its own:
#   tests/sdk/run_other_sdk.sh REQUIREMENTS PYTHON_VERSION [pytest args]
# e.g. the oldest supported botocore on Python 3.10 (the oldest supported Lambda runtime):
#   tests/sdk/run_other_sdk.sh tests/requirements-oldest-sdk.txt 3.10 -q tests/sdk
# The venv is .cache/venv-<requirements file name>, rebuilt when the file changes. moto, which
# needs a new botocore, runs from the main .venv in its own process.
set -euo pipefail
cd "$(dirname "$0")/../.."
REQ=$1
VERSION=$2
shift 2
VENV=.cache/venv-$(basename "$REQ" .txt)
PY=python$VERSION
if ! "$PY" -c pass 2>/dev/null; then  # a pyenv shim that is not active: use the install itself
    for candidate in "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/"$VERSION".*/bin/python"$VERSION"; do
        [ -x "$candidate" ] && PY=$candidate
    done
fi
if ! "$PY" -c pass 2>/dev/null; then
    echo "SKIPPED: no Python $VERSION interpreter for $REQ"
    exit 0
fi
if [ ! -f "$VENV/.installed" ] || [ "$REQ" -nt "$VENV/.installed" ] \
    || [ tests/harness/pyproject.toml -nt "$VENV/.installed" ]; then
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --quiet --disable-pip-version-check -r "$REQ"
    # the loopback servers (and the local runtime) the tests use, from this checkout
    "$VENV/bin/python" -m pip install --quiet --quiet --disable-pip-version-check -e tests/harness
    touch "$VENV/.installed"
fi
[ -x .venv/bin/python ] || { echo ".venv missing: run make venv first"; exit 1; }
export LOOPBACK_MOTO_PYTHON="$PWD/.venv/bin/python"
exec "$VENV/bin/python" -m pytest --confcutdir=tests/sdk -p no:cacheprovider "$@"
