"""Put the layer's timeouts and retry settings UNDER the function's own choices.

Order: a value the function set in its Config (passed to ``create_client`` or set
as the session's default config, in the constructor or as an attribute afterwards) wins option
by option, and inside ``retries`` key by key; ``AWS_MAX_ATTEMPTS`` / ``AWS_RETRY_MODE``
(environment or profile) win over the layer's retry defaults; a non-legacy ``AWS_DEFAULTS_MODE``
keeps its own connect timeout; otherwise the ``TIMEOUT_GUARD_*`` values apply.

The result is a copy of the function's Config (same class, so an ``AioConfig`` stays one) in
which every option that must survive botocore's own ``default_config.merge(config)`` is recorded
as user-provided: ``Config.merge`` only keeps recorded options.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Optional

from botocore.config import Config

from ..alarm import raised_in_the_function
from ..settings import Settings

_UNSET = object()
_DEFAULTS: dict[str, Any] = dict(Config.OPTION_DEFAULTS)
_SKIP = {"inject_host_prefix"}  # a property with a private "UNSET" marker: never infer it


class Merged:
    """The config to create the client with, and what the function chose itself.

    A plain class: ``@dataclass`` compiles its methods with ``exec`` while this module loads,
    which was most of the module's share of a cold start.
    """

    __slots__ = ("config", "own_read", "user_chose_read")

    def __init__(self, config: Config, own_read: float, user_chose_read: bool) -> None:
        self.config = config
        self.own_read = own_read  # the read timeout without the layer (own, else botocore's)
        self.user_chose_read = user_chose_read


def chosen(config: Optional[Config], name: str) -> Any:
    """The function's own value for one option of one Config, or ``_UNSET``.

    Constructor arguments are recorded in ``_user_provided_options``; an attribute set after
    construction is found by comparing it with a fresh Config's default.
    """
    if config is None:
        return _UNSET
    provided = getattr(config, "_user_provided_options", {})
    if name in provided:
        return provided[name]
    value = getattr(config, name, _UNSET)
    if value is _UNSET:
        return _UNSET
    default = _DEFAULTS.get(name, _UNSET)
    if name == "connect_timeout" and value is None:
        return _UNSET  # a non-legacy defaults_mode Config's own default
    return _UNSET if value == default else value


def _first(configs: tuple[Optional[Config], ...], name: str) -> Any:
    for config in configs:
        value = chosen(config, name)
        if value is not _UNSET:
            return value
    return _UNSET


def _copy_with_all_choices(base: Config) -> Config:
    """A shallow copy whose every chosen option is recorded (survives ``Config.merge``)."""
    new = copy.copy(base)
    provided = dict(getattr(base, "_user_provided_options", {}))
    for name in _DEFAULTS:
        if name in provided or name in _SKIP:
            continue
        value = chosen(base, name)
        if value is not _UNSET:
            provided[name] = value
    new._user_provided_options = provided
    return new


def _set(config: Config, name: str, value: Any) -> None:
    setattr(config, name, value)
    config._user_provided_options[name] = value


def layer_retries(user: Any, settings: Settings, session: Any) -> dict[str, Any]:
    """``retries`` merged key by key: the function's keys, then the environment, then the layer."""
    retries: dict[str, Any] = dict(user) if isinstance(user, dict) else {}
    has_attempts = "total_max_attempts" in retries or "max_attempts" in retries
    if not has_attempts and _config_variable(session, "max_attempts") is None:
        # ``max_attempts`` counts retries and ``total_max_attempts`` silently wins over it, so
        # the layer adds its total only when the function set neither.
        retries["total_max_attempts"] = settings.max_attempts
    if "mode" not in retries and _config_variable(session, "retry_mode") is None:
        retries["mode"] = settings.retry_mode
    return retries


def _config_variable(session: Any, name: str) -> Any:
    """A setting the USER made (instance variable, environment, profile), or None.

    ``session.get_config_variable`` cannot tell: newer botocore answers ``retry_mode`` with
    its own default ('standard') when nothing is set.
    """
    try:
        value = session.instance_variables().get(name)
        if value is not None:
            return value
        config_name, env_names, _default, _convert = session.session_var_map[name]
        if isinstance(env_names, str):
            env_names = [env_names]
        for env_name in env_names or ():
            if os.environ.get(env_name):
                return os.environ[env_name]
        if config_name is not None:
            return session.get_scoped_config().get(config_name)
    except Exception as error:  # a broken profile: botocore reports it the way it always does
        if raised_in_the_function(error):
            raise  # a SIGALRM handler's (the guard's), raised while botocore read the profile
        return None
    return None


def merge(
    user_config: Optional[Config],
    default_config: Optional[Config],
    session: Any,
    settings: Settings,
) -> Merged:
    """The Config to pass to ``create_client`` in place of ``user_config``."""
    configs = (user_config, default_config)
    base = user_config if user_config is not None else default_config
    merged = _copy_with_all_choices(base) if base is not None else Config()
    if base is None:
        merged._user_provided_options = {}

    # A choice found in either Config is recorded on the result: botocore's own
    # ``default.merge(config)`` keeps recorded options only.
    read = _first(configs, "read_timeout")
    _set(merged, "read_timeout", settings.read_timeout if read is _UNSET else read)

    connect = _first(configs, "connect_timeout")
    if connect is not _UNSET:
        _set(merged, "connect_timeout", connect)
    else:
        mode = _first(configs, "defaults_mode")
        if mode is _UNSET or mode is None:
            mode = _session_defaults_mode(session)
        mode = mode.lower() if isinstance(mode, str) else mode  # botocore lowercases it too
        if mode not in (None, "legacy") and _supports_defaults_mode_connect():
            # None lets botocore take the defaults mode's connect timeout from its config store
            # (the way a Config with its own defaults_mode does), instead of the 60 s default
            # that any other Config carries.
            _set(merged, "connect_timeout", None)
        else:
            _set(merged, "connect_timeout", settings.connect_timeout)

    # The function's own retries as botocore would see them: the per-client Config's dict
    # replaces the session default's whole (Config.merge is shallow).
    user_retries = _first(configs, "retries")
    _set(merged, "retries", layer_retries(user_retries, settings, session))

    own_read = read if isinstance(read, (int, float)) else float(_DEFAULTS["read_timeout"])
    return Merged(merged, float(own_read), isinstance(read, (int, float)))


def _session_defaults_mode(session: Any) -> Any:
    """The session's ``defaults_mode`` as botocore resolves it for a new client.

    botocore reads it from the session's ``config_store`` component, which sees the
    environment, the profile, ``set_config_variable`` and values set on the component itself
    (``'legacy'`` when nothing is set).
    """
    try:
        return session.get_component("config_store").get_config_variable("defaults_mode")
    except Exception as error:  # a botocore without the component: the user's own settings
        if raised_in_the_function(error):
            raise
        return _config_variable(session, "defaults_mode")


def _supports_defaults_mode_connect() -> bool:
    """botocore versions with defaults modes resolve a None connect timeout from the mode."""
    try:
        from botocore.args import ClientArgsCreator
    except ImportError:
        return False
    return hasattr(ClientArgsCreator, "_compute_connect_timeout")
