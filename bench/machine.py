"""What the figures were measured on: CPU, cores, kernel, interpreters, SDK versions, date."""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Any

from common import LAYER_ZIP, REPO


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version_in(path: str, dist: str) -> str:
    for found in metadata.distributions(path=[path]):
        if found.metadata["Name"].lower() == dist:
            return found.version
    return "absent"


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def describe(modes: list[str]) -> dict[str, Any]:
    from locallambda import provision

    runtimes = {}
    for mode in modes:
        rt = provision(mode)
        version = subprocess.run(
            [str(rt.python), "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        runtimes[f"python{mode}"] = {
            "python": version,
            "awslambdaric": _version_in(str(rt.runtime_dir), "awslambdaric"),
            "botocore": _version_in(str(rt.runtime_dir), "botocore"),
            "boto3": _version_in(str(rt.runtime_dir), "boto3"),
        }
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "kernel": f"{platform.system()} {platform.release()}",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "bench_python": platform.python_version(),
        "bench_botocore": metadata.version("botocore"),
        "runtimes": runtimes,
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "layer_sha256": hashlib.sha256(LAYER_ZIP.read_bytes()).hexdigest()[:16],
        "layer_bytes": LAYER_ZIP.stat().st_size,
        "argv": " ".join(sys.argv[1:]),
    }


def lines(info: dict[str, Any]) -> list[str]:
    out = [
        f"- date: {info['date']}",
        f"- CPU: {info['cpu']}, {info['cores']} cores; kernel {info['kernel']}; "
        f"load average at start {info['load']}",
        f"- bench interpreter (in-process measurements): Python {info['bench_python']}, "
        f"botocore {info['bench_botocore']}",
    ]
    for name, rt in info["runtimes"].items():
        out.append(
            f"- local Lambda runtime {name}: Python {rt['python']}, awslambdaric "
            f"{rt['awslambdaric']}, boto3 {rt['boto3']}, botocore {rt['botocore']}"
        )
    out.append(
        f"- layer: dist/timeout-guard-layer.zip, {info['layer_bytes']} bytes, sha256 "
        f"{info['layer_sha256']}…; commit {info['commit']}"
    )
    return out
