"""New clients: the layered Config in, each client's per-operation read timeouts found later.

Every client made through ``Session.create_client`` gets a copy of the function's Config with
the layer's values under the function's own (:mod:`.merge`). Its per-operation read timeouts
are applied by one ``before-parameter-build`` handler per session (clients copy their session's
handlers, whereas registering one on each new client costs ~20 µs of signature inspection),
which finds the client's :class:`ClientRules` from the request context's ``client_config``.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Optional

from ..settings import Settings
from . import read_timeouts
from .merge import Merged, merge
from .wrapping import argument, layer_failed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .wrapping import Wrapper

CONFIG_INDEX = 9  # create_client(service_name, region_name, ..., aws_session_token, config, ...)

# Keys the layer puts in botocore's per-call request context (shared by a call's attempts).
OP_READ = "timeout_guard.read_timeout"  # the operation's read timeout (seconds)
NO_READ_RETRY = "timeout_guard.no_read_retry"  # a read timeout must not be retried


class ClientRules:
    """One client's per-operation read timeouts (resolved once per operation) and flags."""

    def __init__(
        self,
        names: tuple[str, ...],
        merged: Merged,
        client_read: float,
        settings: Settings,
        native: bool,
    ) -> None:
        self.names = names
        self.is_lambda = names[0] == "lambda"
        self.merged = merged
        self.client_read = client_read
        self.user_table = settings.read_timeouts
        self.native = native  # botocore applies context['read_timeout'] itself
        self.rules: dict[str, Optional[read_timeouts.Rule]] = {}

    def apply(self, params: Any, model: Any, context: dict) -> None:
        """Before an operation's parameters are built: its read timeout, the Invoke flag."""
        params = params if isinstance(params, dict) else {}
        if self.is_lambda and model.name == "Invoke" and read_timeouts.is_sync_invoke(params):
            # A synchronous Invoke that hit a read timeout is not retried (it would run twice).
            context[NO_READ_RETRY] = True
        try:
            rule = self.rules[model.name]
        except KeyError:
            rule = self.rules[model.name] = read_timeouts.resolve(
                self.names,
                model,
                self.user_table,
                self.client_read,
                self.merged.own_read,
                self.merged.user_chose_read,
            )
        seconds = rule(params) if rule is not None else None
        if seconds is not None:
            context[OP_READ] = seconds
            if self.native:
                context["read_timeout"] = seconds


def client_rules(
    client: Any, client_name: Any, merged: Merged, settings: Settings, native: bool
) -> ClientRules:
    event_name = client.meta.service_model.service_id.hyphenize()
    names = read_timeouts.service_names(
        event_name, client_name if isinstance(client_name, str) else None
    )
    client_read = float(client.meta.config.read_timeout or merged.own_read)
    return ClientRules(names, merged, client_read, settings, native)


# The rules of each live client, keyed by its ``meta.config`` (what the request context holds).
_rules_by_config: weakref.WeakKeyDictionary[Any, ClientRules] = weakref.WeakKeyDictionary()
_sessions_with_handler: weakref.WeakSet[Any] = weakref.WeakSet()


def _before_parameter_build(params: Any, model: Any, context: Any, **_: Any) -> None:
    """Session-wide: apply the rules of the client whose request this is.

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


def _track(session: Any, client: Any, rules: ClientRules) -> None:
    """Make the session-wide handler see this client's rules (botocore clients)."""
    _rules_by_config[client.meta.config] = rules
    if session not in _sessions_with_handler:
        # Registered after this client was created: it only reaches the next ones.
        client.meta.events.register("before-parameter-build", _before_parameter_build)
        session.register("before-parameter-build", _before_parameter_build)
        _sessions_with_handler.add(session)


def _client_handler(rules: ClientRules) -> Callable[..., None]:
    """A per-client ``before-parameter-build`` handler (aiobotocore clients)."""

    def before_parameter_build(params: Any, model: Any, context: Any, **_: Any) -> None:
        try:
            if context:
                rules.apply(params, model, context)
        except Exception:
            layer_failed("the per-operation read timeout handler")

    return before_parameter_build


def _layered_arguments(
    session: Any, args: tuple, kwargs: dict, settings: Settings
) -> tuple[tuple, dict, Optional[Merged]]:
    """Arguments for the real ``create_client``; on any error, the function's own, unchanged."""
    try:
        user = argument(args, kwargs, CONFIG_INDEX, "config", None)
        merged = merge(user, session.get_default_client_config(), session, settings)
        if "config" in kwargs or len(args) <= CONFIG_INDEX:
            return args, {**kwargs, "config": merged.config}, merged
        layered = args[:CONFIG_INDEX] + (merged.config,) + args[CONFIG_INDEX + 1 :]
        return layered, kwargs, merged
    except Exception:
        layer_failed("the client Config merge")
        return args, kwargs, None


def create_client_wrapper(settings: Settings, native: bool) -> Wrapper:
    """The wrapper of ``botocore.session.Session.create_client``."""

    def create_client(wrapped: Callable[..., Any], session: Any, args: tuple, kwargs: dict) -> Any:
        new_args, new_kwargs, merged = _layered_arguments(session, args, kwargs, settings)
        if merged is None:
            return wrapped(*args, **kwargs)
        try:
            client = wrapped(*new_args, **new_kwargs)
        except Exception:
            layer_failed("create_client with the layer's Config")  # the guard's error: raised again
            # The function's own arguments decide: if they fail too, that error is the one it sees.
            return wrapped(*args, **kwargs)
        try:
            name = argument(args, kwargs, 0, "service_name", None)
            _track(session, client, client_rules(client, name, merged, settings, native))
        except Exception:
            layer_failed("the client's per-operation read timeouts")
        return client

    return create_client


def aio_create_client_wrapper(settings: Settings, native: bool) -> Wrapper:
    """The wrapper of ``aiobotocore.session.AioSession._create_client`` (a coroutine function).

    AioSession never calls botocore's ``create_client``; its config stays an ``AioConfig``.
    """

    def create_client(wrapped: Callable[..., Any], session: Any, args: tuple, kwargs: dict) -> Any:
        new_args, new_kwargs, merged = _layered_arguments(session, args, kwargs, settings)

        async def create() -> Any:
            if merged is None:
                return await wrapped(*args, **kwargs)
            try:
                client = await wrapped(*new_args, **new_kwargs)
            except Exception:
                layer_failed("create_client with the layer's Config")  # the guard's: raised again
                return await wrapped(*args, **kwargs)
            try:
                name = argument(args, kwargs, 0, "service_name", None)
                rules = client_rules(client, name, merged, settings, native)
                client.meta.events.register("before-parameter-build", _client_handler(rules))
            except Exception:
                layer_failed("the client's per-operation read timeouts")
            return client

        return create()

    return create_client
