"""tools/beside.py, which `make test` runs pytest with (the other suites beside it): the order of
the output, the exit status, and the command beside stopped by its process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BESIDE = Path(__file__).resolve().parents[2] / "tools" / "beside.py"


def command(tmp_path: Path, beside: str, *front: str) -> list[str]:
    log = str(tmp_path / "other.log")
    return [sys.executable, str(BESIDE), "--log", log, "--beside", beside, "--", *front]


def run(tmp_path: Path, beside: str, *front: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(tmp_path, beside, *front), capture_output=True, text=True, timeout=30
    )


def test_the_other_output_comes_after_the_front_one_and_its_failure_counts(tmp_path):
    front = ("sh", "-c", "sleep 0.3; echo front-line")
    done = run(tmp_path, "sh -c 'echo other-line; exit 3'", *front)
    assert done.stdout.index("front-line") < done.stdout.index("other-line")
    assert done.returncode == 3
    assert "exit 3" in done.stdout


def test_the_front_command_failure_wins(tmp_path):
    assert run(tmp_path, "sh -c 'exit 4'", "sh", "-c", "exit 5").returncode == 5
    assert run(tmp_path, "true", "sh", "-c", "exit 0").returncode == 0


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # ended, not yet reaped
    except FileNotFoundError:
        return True


def test_terminated_it_stops_the_whole_group_beside(tmp_path):
    marker = tmp_path / "grandchild.pid"
    beside = f"sh -c 'sleep 60 & echo $! > {marker}; wait'"
    process = subprocess.Popen(command(tmp_path, beside, "sleep", "60"), stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if marker.exists() and marker.read_text().strip():
                break
            time.sleep(0.05)
        grandchild = int(marker.read_text())
        assert not _gone(grandchild)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 143
        for _ in range(100):
            if _gone(grandchild):
                break
            time.sleep(0.05)
        assert _gone(grandchild), "the command beside outlived the script"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if marker.exists() and marker.read_text().strip() and not _gone(int(marker.read_text())):
            os.kill(int(marker.read_text()), signal.SIGKILL)
