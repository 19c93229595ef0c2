"""``SIGALRM`` and the real-time interval timer, shared with the function for one invocation.

A process has one ``ITIMER_REAL``. While an invocation runs, the guard's alarm takes it over
but keeps the function's own ``SIGALRM`` handler and timer working: when the function's timer
is due, its handler is called (and an interval timer goes on); when the guard's time is due,
the guard's callback is. :meth:`Alarm.release` puts the function's handler and remaining timer
back exactly as they were.

The function may also set its timer during the invocation (``signal.alarm(5)`` around a call
of its own, a handler it installed at init). That replaces the alarm's, as any ``setitimer``
replaces the one before it; the alarm tells its own timer from the function's by the interval
it arms with (``TAG``, which a timer set by the function does not have): the function's timer
then reaches the function's handler, the guard's time is armed again, and the function's timer
is left as the function set it when the invocation ends.

An alarm that lands inside the layer's own bookkeeping (for example between the handler's
return and :meth:`Alarm.release`) is delivered a moment later instead: the guard's callback may
raise, and must only ever raise in the function's code (so may the function's own handler). So
is one that lands while the main thread is where the guard's callback must not run yet
(``busy(frame)``: inside logging, where a handler would swallow an exception or keep a lock;
inside an import), for at most ``BUSY_WAIT``.
"""

from __future__ import annotations

import time

from . import LambdaTimeoutError

try:  # the C module behind ``signal``: the same functions without ~1 ms of enum set-up
    import _signal as signal
except ImportError:  # pragma: no cover - other Python implementations
    import signal

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, Callable, Optional

EARLY = 0.0005  # seconds: a timer this close to its due time counts as due
RETRY_DELAY = 0.002  # seconds: an alarm that landed in the layer's own code comes again after
BUSY_WAIT = 0.05  # seconds: the longest the guard's time is put off while ``busy(frame)``
# The interval the alarm arms its one-shot timer with: never reached (each expiry is followed
# by the alarm's own setitimer), it marks the process's timer as the alarm's.
TAG = 86400.000777  # seconds; whole microseconds, as getitimer gives it back


def _is_tagged(interval: float) -> bool:
    return abs(interval - TAG) < 2e-6


_raised: Optional[BaseException] = None  # what the last SIGALRM handler the alarm ran raised


def raised_in_the_function(error: Optional[BaseException]) -> bool:
    """Whether ``error`` is the guard's, or came from the function's own ``SIGALRM`` handler
    run by the alarm, or was raised while one of those was being handled (``inspect`` turns
    any error into ``TypeError``, say): raised in whatever code the signal interrupted, it is
    the function's, and the layer's fail-open code it may have interrupted must let it through.
    """
    for _ in range(8):  # a chain's first links: where the signal's error would be
        if error is None:
            return False
        if isinstance(error, LambdaTimeoutError) or error is _raised:
            return True
        error = error.__cause__ if error.__cause__ is not None else error.__context__
    return False


class Alarm:
    """The guard's alarm for one invocation at a time; ``on_due(frame)`` runs when it is due."""

    def __init__(
        self,
        on_due: Callable[[Optional[FrameType]], None],
        own_files: set[str],
        busy: Optional[Callable[[Optional[FrameType]], bool]] = None,
    ):
        self._on_due = on_due
        self._own_files = own_files  # the layer's files an alarm must not land in
        self._busy = busy  # True: the interrupted main thread is where on_due must not run yet
        self._busy_since: Optional[float] = None
        self.taken = False
        self._due: Optional[float] = None  # time.monotonic() of the guard's next alarm
        self._saved_handler: Any = None
        self._user_due: Optional[float] = None  # the function's own timer, if it had one
        self._user_interval = 0.0

    def take(self) -> None:
        """Install the guard's handler, remembering the function's handler; its timer is read
        by the first :meth:`set_due` (as any timer that is not the alarm's)."""
        self._due = None
        self._busy_since = None
        self._user_due = None
        self._user_interval = 0.0
        self._saved_handler = signal.signal(signal.SIGALRM, self._on_signal)
        self.taken = True

    def set_due(self, due: Optional[float]) -> None:
        """The guard's next alarm (``time.monotonic()``), or None for none."""
        self._due = due
        self._busy_since = None  # a new time: its own wait while busy
        if self.taken:
            now = time.monotonic()
            remaining, interval = signal.getitimer(signal.ITIMER_REAL)
            if not _is_tagged(interval):  # set (or cancelled) by the function meanwhile
                self._keep_function_timer(now, remaining, interval)
            self._arm(now)

    def release(self) -> None:
        """Disarm; give the function back its own handler and what is left of its timer (a timer
        it set during the invocation stays as it set it)."""
        if not self.taken:
            return
        self.taken = False
        self._due = None
        ours = _is_tagged(signal.getitimer(signal.ITIMER_REAL)[1])
        if ours:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if signal.getsignal(signal.SIGALRM) == self._on_signal:
            saved = self._saved_handler
            signal.signal(signal.SIGALRM, saved if saved is not None else signal.SIG_DFL)
        if ours and self._user_due is not None:
            left = max(self._user_due - time.monotonic(), 1e-6)
            signal.setitimer(signal.ITIMER_REAL, left, self._user_interval)
        self._saved_handler = None
        global _raised
        _raised = None

    def forget(self) -> None:
        """In a forked child: the function's handler back, nothing of the parent's invocation.

        A child inherits the signal handler but no interval timer (POSIX): there is nothing to
        disarm, and neither the guard's time nor the function's own timer is the child's.
        """
        if not self.taken:
            return
        self.taken = False
        self._due = self._user_due = None
        if signal.getsignal(signal.SIGALRM) == self._on_signal:
            saved = self._saved_handler
            signal.signal(signal.SIGALRM, saved if saved is not None else signal.SIG_DFL)
        self._saved_handler = None

    def _arm(self, now: float) -> None:
        dues = [d for d in (self._due, self._user_due) if d is not None]
        if dues:
            signal.setitimer(signal.ITIMER_REAL, max(min(dues) - now, 1e-6), TAG)
        else:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _on_signal(self, signum: int, frame: Optional[FrameType]) -> None:
        if not self.taken:
            return
        try:
            self._deliver(signum, frame)
        except BaseException as error:  # the guard's step's, or the function's handler's
            global _raised
            _raised = error
            raise

    def _deliver(self, signum: int, frame: Optional[FrameType]) -> None:
        now = time.monotonic()
        # The function's handler may raise too (its own timeout): never inside the layer's own
        # code, where that would be taken for the layer's failure; a moment later instead.
        in_layer = frame is not None and frame.f_code.co_filename in self._own_files
        remaining, interval = signal.getitimer(signal.ITIMER_REAL)
        if not _is_tagged(interval):
            # The function set its own timer during the invocation, replacing the alarm's.
            self._keep_function_timer(now, remaining, interval)
            if interval or not remaining:  # its signal (a one-shot still to come is not)
                if in_layer:
                    self._user_due = now + RETRY_DELAY
                self._arm(now)
                if not in_layer and callable(self._saved_handler):
                    self._saved_handler(signum, frame)
                return
        user_due = self._user_due is not None and now >= self._user_due - EARLY
        if user_due and in_layer:
            self._user_due = now + RETRY_DELAY
            user_due = False
        elif user_due:
            self._user_due = now + self._user_interval if self._user_interval > 0 else None
        guard_due = self._due is not None and now >= self._due - EARLY
        if guard_due:
            if in_layer or self._must_wait(frame, now):
                self._due = now + RETRY_DELAY  # a moment later
                guard_due = False
            else:
                self._due = None
                self._busy_since = None
        self._arm(now)
        if user_due and callable(self._saved_handler):
            try:
                self._saved_handler(signum, frame)
            except BaseException:
                if guard_due:  # the function's handler raised: the guard's turn comes next
                    self.set_due(now + RETRY_DELAY)
                raise
        if guard_due:
            self._on_due(frame)

    def _keep_function_timer(self, now: float, remaining: float, interval: float) -> None:
        """The timer the function set (or cancelled) during the invocation, as it is now,
        becomes the one the alarm keeps for it beside the guard's time (an interval goes on)."""
        self._user_due = now + remaining if remaining > 0 else None
        self._user_interval = interval if remaining > 0 else 0.0

    def _must_wait(self, frame: Optional[FrameType], now: float) -> bool:
        """Not inside ``busy()`` code, unless for too long (never inside the layer itself:
        :meth:`_deliver` checks that first)."""
        if self._busy is None or not self._busy(frame):
            return False
        if self._busy_since is None:
            self._busy_since = now
        return now - self._busy_since < BUSY_WAIT
