"""The ``create_client`` wrappers: layered Config in, per-operation handlers on the new client."""

from __future__ import annotations

import logging
import weakref
from typing import Any, Callable, Optional

from .. import config as tg_config
from . import attempt, optable
from ._wrap import layer_failed
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


class ClientRules:
    """One client's per-operation read timeouts (resolved once per operation) and flags."""

    def __init__(
        self,
        names: tuple[str, ...],
        is_lambda: bool,
        client_read: float,
        merged: Merged,
        native: bool,
    ) -> None:
        self.names = names
        self.is_lambda = is_lambda
        self.client_read = client_read
        self.merged = merged
        self.native = native
        self.rules: dict[str, Optional[optable.Rule]] = {}

    def apply(self, params: Any, model: Any, context: Any) -> None:
        """Before an operation's parameters are built: its read timeout, the Invoke flag."""
        operation = model.name
        if self.is_lambda and operation == "Invoke" and optable.is_sync_invoke(params or {}):
            # A synchronous Invoke that hit a read timeout is not retried (it would run twice).
            context[attempt.NO_READ_RETRY] = True
        try:
            rule = self.rules[operation]
        except KeyError:
            rule = self.rules[operation] = optable.resolve(
                self.names,
                operation,
                tg_config.settings().read_timeouts,
                self.client_read,
                self.merged.own_read,
                self.merged.user_chose_read,
            )
        if rule is None:
            return
        seconds = rule(params if isinstance(params, dict) else {})
        if seconds is not None:
            context[attempt.OP_READ] = seconds
            if self.native:
                context["read_timeout"] = seconds


def client_rules(
    client: Any, client_name: Optional[str], merged: Merged, native: bool
) -> Optional[ClientRules]:
    """The client's rules, or None when no operation of its service has an entry."""
    event_name = client.meta.service_model.service_id.hyphenize()
    names = tuple(dict.fromkeys(n for n in (event_name, client_name) if n))
    names = tuple(dict.fromkeys(names + tuple(optable.ALIASES.get(n, n) for n in names)))
    is_lambda = event_name == "lambda"
    if not is_lambda and not optable.has_entries(names, tg_config.settings().read_timeouts):
        return None
    client_read = float(client.meta.config.read_timeout or merged.own_read)
    return ClientRules(names, is_lambda, client_read, merged, native)


# Each client's rules, found from the request context's ``client_config`` (the client's own
# ``meta.config``) by one handler registered once per session: clients copy their session's
# handlers, whereas registering on each new client costs ~20 µs of signature inspection.
_rules_by_config: weakref.WeakKeyDictionary[Any, ClientRules] = weakref.WeakKeyDictionary()
_sessions_with_handler: weakref.WeakSet[Any] = weakref.WeakSet()


def _before_parameter_build(params: Any, model: Any, context: Any, **_: Any) -> None:
    """Session-wide: apply the rules of the client whose request this is, if it has any.

    Presigning (``generate_presigned_url``/``_post``) emits this event with a context that
    has no ``client_config``: nothing to do then.
    """
    try:
        client_config = context.get("client_config") if context else None
        if client_config is None:
            return
        rules = _rules_by_config.get(client_config)
        if rules is not None:
            rules.apply(params, model, context)
    except Exception:
        layer_failed("the per-operation read timeout handler")


def _client_handler(rules: ClientRules) -> Callable[..., None]:
    """A per-client ``before-parameter-build`` handler (aiobotocore clients)."""

    def before_parameter_build(params: Any, model: Any, context: Any, **_: Any) -> None:
        try:
            if context:
                rules.apply(params, model, context)
        except Exception:
            layer_failed("the per-operation read timeout handler")

    return before_parameter_build


def register(client: Any, client_name: Optional[str], merged: Merged, native: bool) -> None:
    """Per-operation read timeouts and the Invoke flag, as a handler on this client (aio)."""
    try:
        rules = client_rules(client, client_name, merged, native)
        if rules is not None:
            client.meta.events.register("before-parameter-build", _client_handler(rules))
    except Exception:
        log.debug("timeout_guard: no per-operation read timeouts for this client", exc_info=True)


def track(
    session: Any, client: Any, client_name: Optional[str], merged: Merged, native: bool
) -> None:
    """Make the session-wide handler see this client's rules (botocore clients)."""
    try:
        rules = client_rules(client, client_name, merged, native)
        if rules is None:
            return
        _rules_by_config[client.meta.config] = rules
        if session not in _sessions_with_handler:
            # Registered after this client was created: it only reaches the next ones.
            client.meta.events.register("before-parameter-build", _before_parameter_build)
            session.register("before-parameter-build", _before_parameter_build)
            _sessions_with_handler.add(session)
    except Exception:
        log.debug("timeout_guard: no per-operation read timeouts for this client", exc_info=True)


def create_client(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Wrapper of ``botocore.session.Session.create_client``."""
    new_args, new_kwargs, merged = prepare(instance, args, kwargs)
    if merged is None:
        return wrapped(*args, **kwargs)
    try:
        client = wrapped(*new_args, **new_kwargs)
    except Exception:
        # The function's own arguments decide: if they fail too, that error is the one it sees.
        client = wrapped(*args, **kwargs)
        layer_failed("create_client with the layer's Config")
        return client
    track(instance, client, _service_name(args, kwargs), merged, attempt.NATIVE_READ_TIMEOUT)
    return client


AIO_NATIVE_READ_TIMEOUT = False  # set by install_aiobotocore(): its HTTP session honours it


def aio_create_client(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Wrapper of ``AioSession._create_client`` (a coroutine function)."""
    new_args, new_kwargs, merged = prepare(instance, args, kwargs)

    async def create() -> Any:
        if merged is None:
            return await wrapped(*args, **kwargs)
        try:
            client = await wrapped(*new_args, **new_kwargs)
        except Exception:
            client = await wrapped(*args, **kwargs)
            layer_failed("create_client with the layer's Config")
            return client
        register(client, _service_name(args, kwargs), merged, AIO_NATIVE_READ_TIMEOUT)
        return client

    return create()
