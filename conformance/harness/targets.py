"""The botocore versions the conformance run covers, and where everything lives.

Each target names the Python it runs on (the oldest botocore is the one the python3.10 Lambda
runtime shipped with, so it runs on 3.10) and the pinned test requirements of its venv. The
sdist's sha256 is pinned too: its ``tests/`` folder is what we run, so it must be the release.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # conformance/
REPO = HERE.parent
CACHE = REPO / ".cache" / "conformance"
LAYER_DIR = REPO / "layer"
PLUGINS_DIR = HERE / "plugins"

# What each selection runs, as paths inside the sdist. The subset covers what the layer's
# patch touches (see subset.txt); paths missing in an older botocore are skipped.
FULL = ("tests/unit", "tests/functional")
SUBSET_FILE = HERE / "subset.txt"


@dataclass(frozen=True)
class Target:
    botocore: str
    python: str
    sdist_sha256: str

    @property
    def requirements(self) -> Path:
        return HERE / f"requirements-botocore-{self.botocore}.txt"

    @property
    def expected(self) -> Path:
        return HERE / f"expected-differences-{self.botocore}.txt"


TARGETS = {
    t.botocore: t
    for t in (
        # The botocore pinned in requirements-dev.txt: the version the layer is developed against.
        Target(
            "1.44.5", "3.11", "a988f39e3a4484def0b8010f41128f71157da0515a4804fccce4739aa8f216da"
        ),
        # The newest botocore on PyPI when last checked (2026-12-05), as a function bundling it.
        Target(
            "1.44.18", "3.11", "c78f0a2346b4700d77702530d04c1fed525ef0bb9723218eb8a7cfeae07b6b28"
        ),
        # The oldest supported botocore (README: "Oldest supported botocore").
        Target(
            "1.29.90", "3.10", "2dbbc2c7d93ddefcf9896268597212d446e5d416fbceb1b12c793660fa9f83f3"
        ),
    )
}
PINNED = "1.44.5"


def subset_paths() -> list[str]:
    """The ``make test`` selection: one path (or node id) per line, ``#`` comments."""
    lines = SUBSET_FILE.read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]
