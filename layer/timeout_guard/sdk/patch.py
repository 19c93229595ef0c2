"""The ``create_client`` wrappers: layered Config in, per-operation handlers on the new client."""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from .. import config as tg_config
from . import attempt, optable
from .merge import Merged, merge

CONFIG_INDEX = 9  # create_client(service_name, region_name, ..., aws_session_token, config, ...)

log = logging.getLogger(tg_config.LOGGER_NAME)


def _split_config(args: tuple, kwargs: dict) -> tuple[Any, Callable[[Any], tuple[tuple, dict]]]:
    """The function's ``config`` argument, and how to put the layered one in its place."""
    if "config" in kwargs or len(args) <= CONFIG_INDEX:
        user = kwargs.get("config")

        def put_keyword(new: Any) -> tuple[tuple, dict]:
            return args, {**kwargs, "config": new}

        return user, put_keyword

    def put_positional(new: Any) -> tuple[tuple, dict]:
        return args[:CONFIG_INDEX] + (new,) + args[CONFIG_INDEX + 1 :], kwargs

    return args[CONFIG_INDEX], put_positional


def _service_name(args: tuple, kwargs: dict) -> Optional[str]:
    name = kwargs.get("service_name", args[0] if args else None)
    return name if isinstance(name, str) else None


def prepare(session: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict, Optional[Merged]]:
    """Arguments for the real ``create_client``; on any error, the function's own, unchanged."""
    try:
        settings = tg_config.settings()
        user, put = _split_config(args, kwargs)
        merged = merge(user, session.get_default_client_config(), session, settings)
        new_args, new_kwargs = put(merged.config)
        return new_args, new_kwargs, merged
    except Exception:
        log.debug("timeout_guard: client config left as the function set it", exc_info=True)
        return args, kwargs, None


def register(client: Any, client_name: Optional[str], merged: Merged, native: bool) -> None:
    """Per-operation read timeouts and the Invoke no-retry flag, as handlers on this client."""
    try:
        settings = tg_config.settings()
        event_name = client.meta.service_model.service_id.hyphenize()
        names = tuple(dict.fromkeys(n for n in (event_name, client_name) if n))
        names = tuple(dict.fromkeys(names + tuple(optable.ALIASES.get(n, n) for n in names)))
        user = settings.read_timeouts
        events = client.meta.events
        if event_name == "lambda":
            events.register("before-parameter-build.lambda.Invoke", _mark_sync_invoke)
        if not optable.has_entries(names, user):
            return
        client_read = float(client.meta.config.read_timeout or merged.own_read)
        rules: dict[str, Optional[optable.Rule]] = {}

        def rule_for(operation: str) -> Optional[optable.Rule]:
            if operation not in rules:
                rules[operation] = optable.resolve(
                    names, operation, user, client_read, merged.own_read, merged.user_chose_read
                )
            return rules[operation]

        def set_read_timeout(params: Any, model: Any, context: Any, **_: Any) -> None:
            rule = rule_for(model.name)
            if rule is None or context is None:
                return
            seconds = rule(params if isinstance(params, dict) else {})
            if seconds is not None:
                context[attempt.OP_READ] = seconds
                if native:
                    context["read_timeout"] = seconds

        if optable.service_wide(names, user):
            events.register(f"before-parameter-build.{event_name}", set_read_timeout)
        else:
            operations = set(client.meta.service_model.operation_names)
            for operation in optable.operations_named(names, user) & operations:
                event = f"before-parameter-build.{event_name}.{operation}"
                events.register(event, set_read_timeout)
    except Exception:
        log.debug("timeout_guard: no per-operation read timeouts for this client", exc_info=True)


def _mark_sync_invoke(params: Any, context: Any, **_: Any) -> None:
    """A synchronous Invoke that hit a read timeout is not retried (it would run twice)."""
    if context is not None and optable.is_sync_invoke(params or {}):
        context[attempt.NO_READ_RETRY] = True


def create_client(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Wrapper of ``botocore.session.Session.create_client``."""
    new_args, new_kwargs, merged = prepare(instance, args, kwargs)
    client = wrapped(*new_args, **new_kwargs)
    if merged is not None:
        register(client, _service_name(args, kwargs), merged, attempt.NATIVE_READ_TIMEOUT)
    return client


AIO_NATIVE_READ_TIMEOUT = False  # set by install_aiobotocore(): its HTTP session honours it


def aio_create_client(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Wrapper of ``AioSession._create_client`` (a coroutine function)."""
    new_args, new_kwargs, merged = prepare(instance, args, kwargs)

    async def create() -> Any:
        client = await wrapped(*new_args, **new_kwargs)
        if merged is not None:
            register(client, _service_name(args, kwargs), merged, AIO_NATIVE_READ_TIMEOUT)
        return client

    return create()
