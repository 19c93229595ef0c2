"""The layer's settings go UNDER the function's choices (README: "Whose settings win").

Each case: the environment, how the client is created, and the client's effective
(connect timeout, read timeout, retry mode, total attempts). Layer defaults: 2 s, 5 s,
standard, 3 attempts. No request is sent: only the created clients are inspected.
"""

from __future__ import annotations

from typing import Any, Callable

import boto3
import botocore.session
import pytest
from botocore.config import Config
from timeout_guard.sdk.merge import merge
from timeout_guard.settings import Settings

from .helpers import REGION, effective

URL = "http://127.0.0.1:9"  # never contacted


def plain(config: Any = None) -> Callable[[], Any]:
    def make() -> Any:
        kwargs = {} if config is None else {"config": config}
        return botocore.session.get_session().create_client(
            "sqs", region_name=REGION, endpoint_url=URL, **kwargs
        )

    return make


def with_default(default: Config, config: Any = None) -> Callable[[], Any]:
    def make() -> Any:
        session = botocore.session.get_session()
        session.set_default_client_config(default)
        kwargs = {} if config is None else {"config": config}
        return session.create_client("sqs", region_name=REGION, endpoint_url=URL, **kwargs)

    return make


def positional(config: Config) -> Callable[[], Any]:
    def make() -> Any:
        session = botocore.session.get_session()
        # service_name, region_name, api_version, use_ssl, verify, endpoint_url,
        # aws_access_key_id, aws_secret_access_key, aws_session_token, config
        return session.create_client(
            "sqs", REGION, None, True, None, URL, "testing", "testing", None, config
        )

    return make


def after_construction(name: str, value: Any) -> Callable[[], Any]:
    def make() -> Any:
        config = Config()
        setattr(config, name, value)
        return plain(config)()

    return make


def default_after_construction(name: str, value: Any) -> Callable[[], Any]:
    def make() -> Any:
        default = Config()
        setattr(default, name, value)
        return with_default(default, Config(user_agent_extra="x"))()

    return make


def boto3_resource(config: Any = None) -> Callable[[], Any]:
    def make() -> Any:
        kwargs = {} if config is None else {"config": config}
        resource = boto3.session.Session(region_name=REGION).resource(
            "sqs", endpoint_url=URL, **kwargs
        )
        return resource.meta.client

    return make


def boto3_client(config: Any = None) -> Callable[[], Any]:
    def make() -> Any:
        kwargs = {} if config is None else {"config": config}
        return boto3.session.Session(region_name=REGION).client("sqs", endpoint_url=URL, **kwargs)

    return make


def configured(configure: Callable[[Any], None]) -> Callable[[], Any]:
    """A client from a session the function configured in code first."""

    def make() -> Any:
        session = botocore.session.get_session()
        configure(session)
        return session.create_client("sqs", region_name=REGION, endpoint_url=URL)

    return make


def _config_store(mode: str) -> Callable[[Any], None]:
    return lambda s: s.get_component("config_store").set_config_variable("defaults_mode", mode)


CASES = [
    ("layer defaults", {}, plain(), (2.0, 5.0, "standard", 3)),
    ("TIMEOUT_GUARD_* values", {
        "TIMEOUT_GUARD_CONNECT_TIMEOUT": "1.5", "TIMEOUT_GUARD_READ_TIMEOUT": "2.5",
        "TIMEOUT_GUARD_MAX_ATTEMPTS": "4", "TIMEOUT_GUARD_RETRY_MODE": "adaptive",
    }, plain(), (1.5, 2.5, "adaptive", 4)),
    ("explicit read wins", {}, plain(Config(read_timeout=9)), (2.0, 9, "standard", 3)),
    ("explicit connect wins", {}, plain(Config(connect_timeout=7)), (7, 5.0, "standard", 3)),
    ("explicit 60 s is a choice too", {}, plain(Config(read_timeout=60)), (2.0, 60, "standard", 3)),
    ("retries mode only: keeps layer attempts", {},
     plain(Config(retries={"mode": "legacy"})), (2.0, 5.0, "legacy", 3)),
    ("retries max_attempts counts retries", {},
     plain(Config(retries={"max_attempts": 1})), (2.0, 5.0, "standard", 2)),
    ("total_max_attempts wins over max_attempts", {},
     plain(Config(retries={"total_max_attempts": 4, "max_attempts": 9})),
     (2.0, 5.0, "standard", 4)),
    ("session default config", {}, with_default(Config(read_timeout=11)),
     (2.0, 11, "standard", 3)),
    ("session default under client config, option by option", {},
     with_default(Config(read_timeout=11), Config(connect_timeout=3)), (3, 11, "standard", 3)),
    ("attribute set after construction", {}, after_construction("read_timeout", 13),
     (2.0, 13, "standard", 3)),
    ("default config attribute set after construction", {},
     default_after_construction("connect_timeout", 6), (6, 5.0, "standard", 3)),
    ("AWS_MAX_ATTEMPTS beats layer attempts", {"AWS_MAX_ATTEMPTS": "7"}, plain(),
     (2.0, 5.0, "standard", 7)),
    ("AWS_RETRY_MODE beats layer mode", {"AWS_RETRY_MODE": "legacy"}, plain(),
     (2.0, 5.0, "legacy", 3)),
    ("explicit retries beat AWS_MAX_ATTEMPTS", {"AWS_MAX_ATTEMPTS": "7"},
     plain(Config(retries={"max_attempts": 1})), (2.0, 5.0, "standard", 2)),
    ("explicit mode beats AWS_RETRY_MODE", {"AWS_RETRY_MODE": "legacy"},
     plain(Config(retries={"mode": "adaptive"})), (2.0, 5.0, "adaptive", 3)),
    ("AWS_DEFAULTS_MODE keeps its connect timeout", {"AWS_DEFAULTS_MODE": "standard"}, plain(),
     (3.1, 5.0, "standard", 3)),
    ("AWS_DEFAULTS_MODE with a Config of the function's", {"AWS_DEFAULTS_MODE": "standard"},
     plain(Config(read_timeout=8)), (3.1, 8, "standard", 3)),
    ("explicit connect beats AWS_DEFAULTS_MODE", {"AWS_DEFAULTS_MODE": "standard"},
     plain(Config(connect_timeout=4)), (4, 5.0, "standard", 3)),
    ("legacy AWS_DEFAULTS_MODE: layer connect", {"AWS_DEFAULTS_MODE": "legacy"}, plain(),
     (2.0, 5.0, "standard", 3)),
    ("AWS_DEFAULTS_MODE=Legacy, any case: layer connect", {"AWS_DEFAULTS_MODE": "Legacy"},
     plain(), (2.0, 5.0, "standard", 3)),
    ("defaults_mode from session.set_config_variable",
     {}, configured(lambda s: s.set_config_variable("defaults_mode", "standard")),
     (3.1, 5.0, "standard", 3)),
    ("defaults_mode set on the session's config_store", {}, configured(_config_store("standard")),
     (3.1, 5.0, "standard", 3)),
    ("legacy defaults_mode on the config_store: layer connect", {},
     configured(_config_store("legacy")), (2.0, 5.0, "standard", 3)),
    ("positional config (10th parameter)", {}, positional(Config(read_timeout=9)),
     (2.0, 9, "standard", 3)),
    ("boto3.client", {}, boto3_client(), (2.0, 5.0, "standard", 3)),
    ("boto3.resource (passes its own Config)", {}, boto3_resource(), (2.0, 5.0, "standard", 3)),
    ("boto3.resource with the function's Config", {},
     boto3_resource(Config(read_timeout=9, retries={"mode": "legacy"})), (2.0, 9, "legacy", 3)),
]


@pytest.mark.parametrize(
    ("env", "make", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_precedence(guard_env: Any, env: dict, make: Callable[[], Any], expected: tuple) -> None:
    guard_env(**env)
    assert effective(make()) == expected


def test_profile_retry_settings_beat_layer(guard_env: Any, tmp_path: Any) -> None:
    profile = tmp_path / "config"
    profile.write_text("[default]\nmax_attempts = 6\nretry_mode = legacy\n")
    guard_env(AWS_CONFIG_FILE=str(profile))
    assert effective(plain()()) == (2.0, 5.0, "legacy", 6)


def test_function_choices_survive_without_layer_values_leaking() -> None:
    """The function's own Config object is not modified (the layer works on a copy)."""
    mine = Config(read_timeout=9, retries={"mode": "legacy"})
    plain(mine)()
    assert mine.connect_timeout == 60
    assert mine.retries == {"mode": "legacy"}
    assert "connect_timeout" not in mine._user_provided_options


def test_config_subclass_keeps_its_class() -> None:
    class MyConfig(Config):
        pass

    mine = MyConfig(read_timeout=9)
    merged = merge(mine, None, botocore.session.get_session(), Settings({}))
    assert type(merged.config) is MyConfig
    assert (merged.config.connect_timeout, merged.config.read_timeout) == (2.0, 9)
    assert merged.config.retries == {"total_max_attempts": 3, "mode": "standard"}
