"""Run a command in front and another beside it, the other's output kept until the first ends.

    python tools/beside.py --log FILE --beside "COMMAND" -- MAIN COMMAND...

``make test`` runs pytest in front, its progress live, and the other suites beside it (botocore's
own tests, the SDK tests on other botocores, OpenTelemetry's): pytest mostly waits on the
functions' timeouts, using about a quarter of a 2-core machine, so the others fit beside it
instead of adding their minutes after it.

The command beside runs in a process group of its own, its output into FILE, which is printed
once both have ended. If this script is interrupted or the front command cannot start, that
process group is killed. Exit status: the front command's if it failed, else the other's.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path


def _stop_group(process: subprocess.Popen) -> None:
    """SIGKILL the process group a ``start_new_session`` child leads, then reap the child."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, required=True, help="where the other's output goes")
    parser.add_argument("--beside", required=True, help="the other command, one string")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no front command given")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up below
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("wb") as log:
        beside = subprocess.Popen(
            shlex.split(args.beside),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped by it, not by name
        )
        try:
            front_status = subprocess.call(command)
            if beside.poll() is None:
                print(f"== waiting for: {args.beside} (its output below)", flush=True)
            beside_status = beside.wait()
        finally:
            _stop_group(beside)
    print(f"== output of: {args.beside}, run beside {shlex.join(command[:3])} ...", flush=True)
    sys.stdout.buffer.write(args.log.read_bytes())
    sys.stdout.flush()
    print(f"== {args.beside}: exit {beside_status}", flush=True)
    return front_status or beside_status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
