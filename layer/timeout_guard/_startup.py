"""What the bootstrap sitecustomize starts: post-import hooks, and the finder of the layer's own
folder (``/opt/python``) answering misses from its listing; nothing else imported yet.

The hooks import the rest of the layer when the runtime client or botocore loads. If that
fails, the layer's own files are missing or unreadable (a damaged or partial layer): the
function runs as without the layer, and the user is told once, in one WARNING line.
"""

from __future__ import annotations

import logging
import os
import sys

from .alarm import raised_in_the_function
from .post_import import answer_misses_from_listing, when_imported

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any

_said_broken = False


def layer_broken(part: str, error: BaseException) -> None:
    """Say once that ``part`` of the layer is off because its files could not be loaded.

    Needs nothing else of the layer (any other module may be the missing one).
    """
    global _said_broken
    if _said_broken:
        return
    _said_broken = True
    message = (
        f"timeout_guard: the layer's files are incomplete or unreadable "
        f"({type(error).__name__}: {error}): {part} and whatever else needs them is off; "
        "the function runs without them"
    )
    try:
        logger = logging.getLogger("timeout_guard")
        if logger.hasHandlers():
            logger.warning(message)
        else:
            sys.stderr.write(f"[WARNING] {message}\n")
    except Exception:
        pass


def _wrap_handler_loader(module: Any) -> None:
    try:
        from . import bootstrap

        bootstrap.attach(module)
    except Exception as error:  # attach itself never raises: the layer could not be loaded
        layer_broken("the pre-timeout hook", error)


def _patch_sdk(module: Any) -> None:
    try:
        from .settings import settings

        if settings().botocore:
            from . import sdk

            sdk.install(module, settings())
    except Exception as error:  # install itself never raises: the layer could not be loaded
        if raised_in_the_function(error):
            raise  # the guard's, raised while the SDK was being patched (see post_import._run)
        layer_broken("the AWS SDK timeouts", error)


def start() -> None:
    when_imported("awslambdaric.bootstrap", _wrap_handler_loader)
    when_imported("botocore.session", _patch_sdk)
    when_imported("aiobotocore.session", _patch_sdk)
    # The layer's python folder (/opt/python), which the runtime puts on sys.path.
    answer_misses_from_listing(os.path.dirname(os.path.dirname(__file__)))
