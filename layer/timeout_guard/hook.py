"""The pre-timeout hook: a ``SIGALRM`` timer that fires a margin before Lambda's deadline.

One ``Guard`` per process, armed for each invocation and always disarmed after it. It shares
the single real-time interval timer with the function: a ``SIGALRM`` handler and timer the
function set up of its own keep running (the guard calls that handler when its timer is due)
and are put back as they were when the invocation ends.

Phases, each at most once per invocation:

1. ``deadline - margin``: one ERROR record (request id, remaining and elapsed ms, margin, the
   main thread's stack), the ``TIMEOUT_GUARD_ON_TIMEOUT`` callbacks, then (action ``raise``)
   ``LambdaTimeoutError`` in the handler's thread;
2. ``deadline - margin/2``: still running (the error was caught): raise once more;
3. just before the hard deadline: still running, one last ERROR record.

The signal handler does no network I/O and takes no lock the interrupted code could hold,
other than logging's re-entrant ones.
"""

from __future__ import annotations

import importlib
import logging
import time
import traceback

from . import LambdaTimeoutError, invocation
from .config import LOGGER_NAME, Settings, warn

try:  # the C module behind ``signal``: same functions, without ~1 ms of enum set-up at import
    import _signal as signal
except ImportError:  # pragma: no cover - other Python implementations
    import signal

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, Callable, Optional

_log = logging.getLogger(LOGGER_NAME)

MIN_AUTO_MARGIN_MS = 500
MAX_AUTO_MARGIN_MS = 3000
LAST_WORD_MS = 100  # the final record, this long before the hard deadline (at most margin/4)

FIRE, RAISE_AGAIN, LAST_WORD = "fire", "raise-again", "last-word"


def auto_margin_ms(remaining_ms: float) -> int:
    """10 % of the remaining time, clamped to 500-3000 ms."""
    return int(min(MAX_AUTO_MARGIN_MS, max(MIN_AUTO_MARGIN_MS, remaining_ms * 0.1)))


def _resolve_callbacks(names: tuple[str, ...]) -> list[tuple[str, Callable[..., Any]]]:
    """Import ``module:function`` callbacks now (at init), never inside the signal handler."""
    callbacks = []
    for name in names:
        module_name, _, function_name = name.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), function_name)
            if not callable(function):
                raise TypeError(f"{function_name} is not callable")
        except Exception as error:
            warn(
                f"TIMEOUT_GUARD_ON_TIMEOUT callback {name!r} cannot be loaded "
                f"({type(error).__name__}: {error}); skipped"
            )
            continue
        callbacks.append((name, function))
    return callbacks


def _stack_lines(frame: Optional[FrameType]) -> list[str]:
    return traceback.format_stack(frame) if frame is not None else []


_PACKAGE_DIR = __file__.rsplit("/", 1)[0] + "/"
# The guard's own machinery: an alarm that lands in these is retried a moment later instead of
# raising there (e.g. between the handler's return and the timer being disarmed).
_MACHINERY = frozenset(_PACKAGE_DIR + name for name in ("hook.py", "bootstrap.py", "invocation.py"))
RETRY_DELAY = 0.002


def _where(frame: Optional[FrameType]) -> str:
    """The innermost frame outside the layer (where the function was), as ``name (file:line)``."""
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "unknown"
    code = frame.f_code
    return f"{code.co_name} ({code.co_filename}:{frame.f_lineno})"


class Guard:
    """Arms, multiplexes and disarms the ``SIGALRM`` timer around each invocation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.callbacks = _resolve_callbacks(settings.on_timeout)
        self._warned_no_timer = False
        self._reset()

    def _reset(self) -> None:
        self.armed = False
        self.fired = False
        self.margin_ms = 0
        self.started_at = 0.0
        self.lambda_deadline = 0.0
        self.guard_deadline = 0.0
        self._phases: list[tuple[float, str]] = []
        self._event: Any = None
        self._context: Any = None
        self._saved_handler: Any = None
        self._user_due: Optional[float] = None  # the function's own timer, if it had one
        self._user_interval = 0.0

    # --- around each invocation ------------------------------------------------------------

    def enter(self, event: Any, context: Any) -> None:
        """Arm the timer for this invocation (or not, with a warning, if no time is left)."""
        self._reset()
        now = time.monotonic()
        remaining_ms = float(context.get_remaining_time_in_millis())
        self.started_at = now
        self.lambda_deadline = now + remaining_ms / 1000
        request_id = getattr(context, "aws_request_id", None)
        margin = self.settings.margin_ms
        margin_ms = margin if margin is not None else auto_margin_ms(remaining_ms)
        if margin_ms >= remaining_ms:
            if not self._warned_no_timer:
                self._warned_no_timer = True
                what = (
                    f"TIMEOUT_GUARD_MARGIN_MS={margin_ms}"
                    if margin is not None
                    else f"the automatic margin ({margin_ms} ms)"
                )
                warn(
                    f"{what} leaves no time: only {remaining_ms:.0f} ms remain at "
                    "invocation start; no pre-timeout timer"
                )
            invocation.begin(request_id, self.lambda_deadline, None)
            return
        self.margin_ms = margin_ms
        guard_deadline = self.guard_deadline = self.lambda_deadline - margin_ms / 1000
        last_gap = min(LAST_WORD_MS, margin_ms / 4) / 1000
        self._phases = [
            (guard_deadline, FIRE),
            (self.lambda_deadline - margin_ms / 2000, RAISE_AGAIN),
            (self.lambda_deadline - last_gap, LAST_WORD),
        ]
        self._event, self._context = event, context
        self._saved_handler = signal.signal(signal.SIGALRM, self._on_alarm)
        remaining, interval = signal.getitimer(signal.ITIMER_REAL)
        if remaining > 0:
            self._user_due, self._user_interval = now + remaining, interval
        self.armed = True
        invocation.begin(request_id, self.lambda_deadline, guard_deadline)
        invocation.set_deadline_handler(self._deadline_reached)
        self._arm_next(now)

    def exit(self) -> None:
        """Disarm and give the function its own handler and timer back."""
        if self.armed:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            if signal.getsignal(signal.SIGALRM) == self._on_alarm:
                saved = self._saved_handler
                signal.signal(signal.SIGALRM, saved if saved is not None else signal.SIG_DFL)
            if self._user_due is not None:
                left = max(self._user_due - time.monotonic(), 1e-6)
                signal.setitimer(signal.ITIMER_REAL, left, self._user_interval)
        self._event = self._context = None
        invocation.set_deadline_handler(None)
        invocation.end()

    def timeout_error(self, cause: Optional[BaseException] = None) -> LambdaTimeoutError:
        """The error the invocation ends with; names the handler's own error if it had one."""
        message = (
            f"Function stopped {self.margin_ms} ms before the Lambda timeout "
            f"(TIMEOUT_GUARD_MARGIN_MS); it was still running after "
            f"{(self.guard_deadline - self.started_at) * 1000:.0f} ms"
        )
        if cause is not None:
            message += f"; then it raised {type(cause).__name__}: {cause}"
        return LambdaTimeoutError(message)

    # --- the timer -------------------------------------------------------------------------

    def _arm_next(self, now: float) -> None:
        dues = [due for due, _ in self._phases[:1]]
        if self._user_due is not None:
            dues.append(self._user_due)
        if dues:
            signal.setitimer(signal.ITIMER_REAL, max(min(dues) - now, 1e-6))

    def _on_alarm(self, signum: int, frame: Optional[FrameType]) -> None:
        now = time.monotonic()
        user_due = self._user_due is not None and now >= self._user_due - 0.0005
        if user_due:
            self._user_due = now + self._user_interval if self._user_interval > 0 else None
        phase = None
        if self._phases and now >= self._phases[0][0] - 0.0005:
            phase = self._phases.pop(0)[1]
        if not self.armed:
            return
        if phase is not None and frame is not None and frame.f_code.co_filename in _MACHINERY:
            self._phases.insert(0, (now + RETRY_DELAY, phase))  # not inside the guard itself
            phase = None
        self._arm_next(now)
        if user_due and callable(self._saved_handler):
            self._saved_handler(signum, frame)
        if phase == FIRE:
            self._fire(frame, now)
        elif phase == RAISE_AGAIN and self.settings.action == "raise":
            self._let_sdk_run_until_next_step()
            raise self.timeout_error()
        elif phase == LAST_WORD:
            self._last_word(frame, now)

    def _let_sdk_run_until_next_step(self) -> None:
        """Once a step has passed, SDK attempts may run until the next one (cleanup and
        callbacks can still call AWS); none after the last."""
        invocation.current.guard_deadline = self._phases[0][0] if self._phases else None

    def _deadline_reached(self, frame: Optional[FrameType]) -> None:
        """Fire now, without raising: the SDK raises its own error, reported as the cause."""
        if self.armed and not self.fired and self._phases and self._phases[0][1] == FIRE:
            now = time.monotonic()
            self._phases.pop(0)
            self._arm_next(now)
            self._fire(frame, now, interrupt=False)

    def _fire(self, frame: Optional[FrameType], now: float, interrupt: bool = True) -> None:
        if self.fired:
            return
        self.fired = True
        if self.settings.action != "raise":
            self._phases = [p for p in self._phases if p[1] != RAISE_AGAIN]
        self._let_sdk_run_until_next_step()
        remaining_ms = (self.lambda_deadline - now) * 1000
        elapsed_ms = (now - self.started_at) * 1000
        stack = _stack_lines(frame)
        where = _where(frame)
        try:
            _log.error(
                "Lambda timeout in %.0f ms: %s the handler (elapsed %.0f ms, margin %d ms, "
                "request id %s). It was in %s. Main thread stack (most recent call last):\n%s",
                remaining_ms,
                "stopping" if self.settings.action == "raise" else "not stopping (action log)",
                elapsed_ms,
                self.margin_ms,
                invocation.current.request_id,
                where,
                "".join(stack).rstrip("\n"),
                extra={
                    "timeout_guard": "pre-timeout",
                    "remaining_ms": round(remaining_ms),
                    "elapsed_ms": round(elapsed_ms),
                    "margin_ms": self.margin_ms,
                    "stuck_in": where,
                    "stack": [line.rstrip("\n") for line in stack],
                },
            )
        except Exception:
            pass
        for name, callback in self.callbacks:
            try:
                callback(self._event, self._context)
            except Exception as error:
                try:
                    _log.error("TIMEOUT_GUARD_ON_TIMEOUT callback %s failed: %r", name, error)
                except Exception:
                    pass
        if interrupt and self.settings.action == "raise":
            raise self.timeout_error()

    def _last_word(self, frame: Optional[FrameType], now: float) -> None:
        where = _where(frame)
        try:
            _log.error(
                "Still running %.0f ms before the hard Lambda deadline%s; Lambda will kill "
                "the process. It is in %s.",
                (self.lambda_deadline - now) * 1000,
                " after TimeoutError was raised and caught"
                if self.fired and self.settings.action == "raise"
                else "",
                where,
                extra={"timeout_guard": "hard-deadline", "stuck_in": where},
            )
        except Exception:
            pass
