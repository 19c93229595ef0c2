"""Run a command while every core is kept busy by a CPU-bound process of normal priority.

    python tools/cpu_load.py [--runs N] [--procs N] -- COMMAND...

``make test-under-load`` uses it to show the suite stays green on a busy machine (CI may run
while the other core is loaded). The load processes are stopped by their own PIDs, whatever
happens to the command. Exit status: the first failing run's, else 0.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import time


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent dies, however the parent ends."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _spin() -> None:
    """Pure-Python busy loop: holds a core at normal priority until killed."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    x = 0
    while True:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="run the command this many times")
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 1, help="busy processes")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up below
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_spin, daemon=True) for _ in range(args.procs)]
    for worker in workers:
        worker.start()
    print(f"cpu_load: {args.procs} busy processes (pids {[w.pid for w in workers]})", flush=True)
    status = 0
    try:
        for run in range(1, args.runs + 1):
            started = time.monotonic()
            code = subprocess.call(command)
            took = time.monotonic() - started
            print(f"cpu_load: run {run}/{args.runs} exit {code} in {took:.0f} s", flush=True)
            if code != 0:
                status = code
                break
    finally:
        for worker in workers:
            if worker.pid is not None:
                os.kill(worker.pid, signal.SIGKILL)
            worker.join()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
