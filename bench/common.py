"""Shared by the benchmark modules: paths, the unpacked layer, runtime modes, statistics.

Nothing here measures anything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
FUNCTIONS = BENCH / "functions"
PLOTS = BENCH / "plots"
from locallambda import LAYER_ZIP  # noqa: E402


@dataclass
class Check:
    """One figure next to its target, for the summary table."""

    measurement: str
    figure: str
    value: str
    target: str
    passed: Optional[bool]  # None: not judged (computed, skipped, informational)
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "MISS", None: "n/a"}[self.passed]


def unpack_layer(zip_path: Path = LAYER_ZIP) -> Path:
    """The built layer as Lambda mounts it in /opt: modes kept, read-only, sealed against root
    (see ``seal``), so that, as in Lambda, Python finds only the bytecode the zip ships and
    compiles the rest at every cold start. ``remove_layer`` deletes it."""
    from locallambda.layers import unpack_layer as unpack

    if not zip_path.exists():
        raise SystemExit(f"{zip_path} is missing: run `make layer`")
    opt = unpack(zip_path, Path(tempfile.mkdtemp(prefix="bench-opt-")))
    seal(opt)
    return opt


def seal(opt: Path) -> bool:
    """``locallambda.layers.seal`` (read-only for root too), with a warning when it cannot."""
    from locallambda.layers import seal as seal_folder

    if seal_folder(opt):
        return True
    print(f"WARNING: could not seal {opt} (chattr +i); as root, Python may write bytecode into "
          "it: cold starts would look faster than in Lambda")
    return False


def written_into(opt: Path, zip_path: Path = LAYER_ZIP) -> list[str]:
    """Files in ``opt`` that the zip does not hold (bytecode written by a run, say)."""
    import zipfile

    with zipfile.ZipFile(zip_path) as archive:
        shipped = {n.rstrip("/") for n in archive.namelist()}
    found = {p.relative_to(opt).as_posix() for p in opt.rglob("*")}
    return sorted(found - shipped)


def remove_layer(opt: Path) -> None:
    from locallambda.layers import make_writable, unseal

    unseal(opt)
    make_writable(opt)
    shutil.rmtree(opt, ignore_errors=True)


def runtime_modes() -> list[str]:
    """The two awslambdaric behaviours (see ``locallambda.runtime_modes``), as the tests pick."""
    from locallambda import available_versions
    from locallambda import runtime_modes as modes

    return [v for v in modes(available_versions()) if v]


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def median(values: Sequence[float]) -> float:
    return pct(values, 50)


def bootstrap_median_diff(
    a: Sequence[float], b: Sequence[float], seed: int, rounds: int = 2000
) -> tuple[float, float]:
    """95 % bootstrap interval of median(a) - median(b) (the groups resampled independently)."""
    rng = np.random.default_rng(seed)
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ia = rng.integers(0, len(xa), size=(rounds, len(xa)))
    ib = rng.integers(0, len(xb), size=(rounds, len(xb)))
    diffs = np.median(xa[ia], axis=1) - np.median(xb[ib], axis=1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_paired_median(
    a: Sequence[float], b: Sequence[float], seed: int, rounds: int = 4000
) -> tuple[float, float, float]:
    """Median of the paired differences a[i] - b[i] and its 95 % bootstrap interval (pairs
    resampled together). For interleaved runs: the pairs ran side by side, so whatever slowed
    both (another process on the machine) cancels out of each difference."""
    rng = np.random.default_rng(seed)
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    index = rng.integers(0, len(diffs), size=(rounds, len(diffs)))
    low, high = np.percentile(np.median(diffs[index], axis=1), [2.5, 97.5])
    return float(np.median(diffs)), float(low), float(high)


def run_json(script: str, *args: str, env: Optional[dict[str, str]] = None, timeout: float = 900):
    """Run ``bench/<script>`` in a fresh interpreter (its own settings, its own noise) and
    return the JSON it prints on its last stdout line."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TIMEOUT_GUARD_", "AWS_"))}
    clean.update(env or {})
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        start_new_session=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def emit_json(data: Any) -> None:
    """The last stdout line of a ``run_json`` child."""
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def ms(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f} ms"


def kill_runtime(fn: Any) -> None:
    """SIGKILL a LocalLambda's live runtime process group and reap it; the next start or invoke
    spawns a fresh process."""
    fn.kill()
