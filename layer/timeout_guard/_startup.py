"""What the bootstrap sitecustomize starts: post-import hooks only, nothing imported yet."""

from __future__ import annotations

from ._imports import when_imported

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any


def _attach_handler_wrapper(module: Any) -> None:
    from . import bootstrap

    bootstrap.attach(module)


def _patch_botocore(module: Any) -> None:
    from .config import settings

    if settings().botocore:
        from . import sdk

        sdk.install(module)


def _patch_aiobotocore(module: Any) -> None:
    from .config import settings

    if settings().botocore:
        from . import sdk

        sdk.install_aiobotocore(module)


def start() -> None:
    when_imported("awslambdaric.bootstrap", _attach_handler_wrapper)
    when_imported("botocore.session", _patch_botocore)
    when_imported("aiobotocore.session", _patch_aiobotocore)
