"""What the bootstrap sitecustomize starts: post-import hooks only, nothing imported yet."""

from __future__ import annotations

from .post_import import when_imported

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any


def _wrap_handler_loader(module: Any) -> None:
    from . import bootstrap

    bootstrap.attach(module)


def _patch_sdk(module: Any) -> None:
    from .settings import settings

    if settings().botocore:
        from . import sdk

        sdk.install(module, settings())


def start() -> None:
    when_imported("awslambdaric.bootstrap", _wrap_handler_loader)
    when_imported("botocore.session", _patch_sdk)
    when_imported("aiobotocore.session", _patch_sdk)
