"""One build step on top of pyproject.toml: put the Timeout Guard layer zip into the wheel.

The zip is package data (``timeout_guard_cli/data/timeout-guard-layer.zip``) so that
``timeout-guard publish`` needs nothing else, but it is never committed: it is copied into the
build at build time, from

1. ``$TIMEOUT_GUARD_LAYER_ZIP`` when set (``make cli`` sets it to ``dist/timeout-guard-layer.zip``);
2. else the repository's own recipe, ``tools/build_layer.py`` (reproducible: the same bytes as
   ``make layer``), so ``pip install ./cli`` works from a clean checkout.

An editable install (``pip install -e ./cli``) carries no zip; the command then finds
``dist/timeout-guard-layer.zip`` of the checkout it runs from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUILD_LAYER = HERE.parent / "tools" / "build_layer.py"
ZIP_NAME = "timeout-guard-layer.zip"


class BuildPyWithLayer(build_py):
    """``build_py``, then the layer zip into ``timeout_guard_cli/data/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "timeout_guard_cli" / "data" / ZIP_NAME
        target.parent.mkdir(parents=True, exist_ok=True)
        given = os.environ.get("TIMEOUT_GUARD_LAYER_ZIP")
        if given:
            if not Path(given).is_file():
                raise SystemExit(f"TIMEOUT_GUARD_LAYER_ZIP={given}: no such file (run make layer)")
            shutil.copyfile(given, target)
        elif BUILD_LAYER.is_file():
            subprocess.run([sys.executable, str(BUILD_LAYER), "--zip", str(target)], check=True)
        else:
            raise SystemExit(
                f"no layer zip to package: set TIMEOUT_GUARD_LAYER_ZIP or build from the "
                f"repository checkout ({BUILD_LAYER} not found)"
            )


setup(cmdclass={"build_py": BuildPyWithLayer})
