"""``python -m timeout_guard_cli`` is the same as the ``timeout-guard`` console script."""

from timeout_guard_cli.main import run

run()
