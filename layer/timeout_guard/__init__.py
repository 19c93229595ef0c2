"""Timeout Guard: fail-fast AWS SDK calls and a graceful end before the Lambda timeout.

Imported by the layer's bootstrap ``sitecustomize``; keep it free of heavy imports.
"""

__version__ = "0.1.0"


class LambdaTimeoutError(TimeoutError):
    """Raised in the handler a margin before the Lambda deadline.

    A ``TimeoutError``, so ``except TimeoutError`` and ``finally`` blocks run as usual.
    """


__all__ = ["LambdaTimeoutError", "__version__"]
