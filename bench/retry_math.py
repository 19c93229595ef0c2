"""Worst-case durations of a hung call, computed from botocore's own retry policy (the
installed botocore's constants and data files, not remembered numbers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Bound:
    attempts: int
    low: float  # every wait timed out, no backoff (rand = 0)
    high: float  # every wait timed out, every backoff at its maximum (rand = 1)
    how: str


def default_timeout() -> float:
    import botocore.endpoint

    return float(botocore.endpoint.DEFAULT_TIMEOUT)


def legacy(timeout: float) -> Bound:
    """Legacy mode: ``_retry.json``'s ``__default__`` (max_attempts, base 'rand' exponential)."""
    import botocore.loaders

    policy = botocore.loaders.create_loader().load_data("_retry")["retry"]["__default__"]
    attempts = int(policy["max_attempts"])
    delay = policy["delay"]
    growth = float(delay["growth_factor"])
    base = 1.0 if delay["base"] == "rand" else float(delay["base"])
    backoff = sum(base * growth ** (n - 1) for n in range(1, attempts))
    return Bound(
        attempts,
        attempts * timeout,
        attempts * timeout + backoff,
        f"{attempts} attempts x {timeout:g} s + backoff rand*{growth:g}^(n-1) "
        f"(at most {backoff:g} s)",
    )


def standard(timeout: float, attempts: int = 0) -> Bound:
    """Standard mode: ``botocore.retries.standard`` (3 attempts, truncated exponential)."""
    from botocore.retries import standard as std

    attempts = attempts or int(std.DEFAULT_MAX_ATTEMPTS)
    backoff_cls = std.ExponentialBackoff
    scale = getattr(backoff_cls, "_DEFAULT_BACKOFF_CONFIG", {}).get("non_throttling_base_scale", 1)
    base = getattr(backoff_cls, "_BASE", 2)
    cap = getattr(backoff_cls, "_MAX_BACKOFF", 20)
    backoff = sum(min(scale * base ** (i - 1), cap) for i in range(1, attempts))
    return Bound(
        attempts,
        attempts * timeout,
        attempts * timeout + backoff,
        f"{attempts} attempts x {timeout:g} s + backoff (at most {backoff:g} s)",
    )


def stall_first(timeout: float) -> Bound:
    """One stalled attempt then a healthy one (standard mode): the timeout plus one backoff."""
    one = standard(timeout, 2)
    return Bound(
        2,
        timeout,
        one.high - timeout,  # minus the second attempt's timeout: it succeeds at once
        f"1 x {timeout:g} s read timeout + one backoff + a healthy call",
    )
