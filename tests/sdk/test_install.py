"""install() is idempotent and fails open; the accounting record appears only when needed."""

from __future__ import annotations

import logging
import types
from typing import Any

import botocore.endpoint
import botocore.session
import pytest
from loopback import StallFirst
from timeout_guard import invocation, sdk, settings
from timeout_guard.sdk.wrapping import MARK, is_wrapped

from .helpers import client, in_invocation


def test_install_is_idempotent() -> None:
    assert sdk.install(botocore.session, settings.settings()) is True
    assert sdk.install(botocore.session, settings.settings()) is True
    wrapper = botocore.session.Session.__dict__["create_client"]
    assert getattr(wrapper, MARK, False)
    assert not getattr(wrapper.__wrapped__, MARK, False)  # wrapped once
    assert wrapper.__name__ == "create_client"
    per_attempt = botocore.endpoint.Endpoint.__dict__["_do_get_response"]
    assert getattr(per_attempt, MARK, False)
    assert not getattr(per_attempt.__wrapped__, MARK, False)


def test_uninstall_puts_botocore_back() -> None:
    original = botocore.session.Session.create_client.__wrapped__
    sdk.uninstall(botocore.session)
    try:
        assert botocore.session.Session.create_client is original
        assert not is_wrapped(botocore.endpoint.Endpoint, "_do_get_response")
    finally:
        sdk.install(botocore.session, settings.settings())


def test_unknown_per_attempt_methods_leave_the_config_part(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """A botocore without ``Endpoint._do_get_response`` (the end to end case, a patched copy of
    botocore, is in tests/faults): clients still get the layer's Config; the per-attempt part is
    left out, said once at DEBUG; on a botocore that cannot apply per-operation read timeouts
    itself (< 1.43.68) the layer's read timeout is left out too (long polls keep theirs)."""
    import botocore.httpsession

    native = hasattr(botocore.httpsession.URLLib3Session, "_get_request_timeout")
    sdk.uninstall(botocore.session)
    monkeypatch.delattr(botocore.endpoint.Endpoint, "_do_get_response")
    try:
        with caplog.at_level(logging.DEBUG, logger="timeout_guard"):
            assert sdk.install(botocore.session, settings.settings()) is True
        c = client("sqs", "http://127.0.0.1:9")
        assert (c.meta.config.connect_timeout, c.meta.config.read_timeout) == (
            2.0,
            5.0 if native else 60.0,
        )
        assert not is_wrapped(botocore.endpoint.Endpoint, "_needs_retry")
        lines = [r.getMessage() for r in caplog.records if r.name == "timeout_guard"]
        assert len(lines) == 1 and "Endpoint._do_get_response is missing" in lines[0]
        assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "timeout_guard")
    finally:
        sdk.uninstall(botocore.session)


def test_install_fails_open() -> None:
    empty = types.ModuleType("botocore.session")  # no Session
    assert sdk.install(empty, settings.settings()) is False
    broken = types.ModuleType("aiobotocore.session")
    broken.AioSession = object  # type: ignore[attr-defined]
    assert sdk.install(broken, settings.settings()) is False


def test_the_guards_error_while_patching_reaches_the_functions_import(monkeypatch: Any) -> None:
    """Fail-open is for the layer's own failures: the guard's error, raised by its alarm while
    the post-import hook patched botocore (in the function's import), goes on to the function,
    through the start-up's hook too."""
    from timeout_guard import LambdaTimeoutError, _startup

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise LambdaTimeoutError("the guard's alarm came here")

    fake = types.ModuleType("botocore.session")
    fake.Session = type("Session", (), {"create_client": lambda self: None})  # type: ignore[attr-defined]
    monkeypatch.setattr(sdk, "_patch_botocore", interrupted)
    with pytest.raises(LambdaTimeoutError):
        sdk.install(fake, settings.settings())
    with pytest.raises(LambdaTimeoutError):
        _startup._patch_sdk(fake)


def test_disabled_by_flag_leaves_botocore_alone(guard_env: Any) -> None:
    guard_env(TIMEOUT_GUARD_BOTOCORE="false")
    fake = types.ModuleType("botocore.session")

    class Session:
        def create_client(self) -> None:
            pass

    fake.Session = Session  # type: ignore[attr-defined]
    assert sdk.install(fake, settings.settings()) is False
    assert not is_wrapped(Session, "create_client")


def test_internal_error_leaves_the_functions_config(monkeypatch: Any) -> None:
    """Whatever fails inside the layer, the client is created as without it."""
    from botocore.config import Config
    from timeout_guard.sdk import clients

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("layer bug")

    monkeypatch.setattr(clients, "merge", broken)
    c = client("sqs", "http://127.0.0.1:9", config=Config(read_timeout=9))
    assert (c.meta.config.connect_timeout, c.meta.config.read_timeout) == (60, 9)


@pytest.fixture
def firehose(moto: Any) -> str:
    client("s3", moto.endpoint_url).create_bucket(Bucket="tg-acct-bucket")
    name = "tg-acct"
    fh = client("firehose", moto.endpoint_url)
    if name not in fh.list_delivery_streams()["DeliveryStreamNames"]:
        fh.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/r",
                "BucketARN": "arn:aws:s3:::tg-acct-bucket",
            },
        )
    return name


def test_one_record_when_a_call_retried(
    moto: Any, firehose: str, guard_env: Any, caplog: Any
) -> None:
    guard_env(TIMEOUT_GUARD_READ_TIMEOUT="0.5")
    with (
        caplog.at_level(logging.WARNING, logger="timeout_guard"),
        StallFirst(moto.endpoint_url, stall=1) as proxy,
        in_invocation(30),
    ):
        fh = client("firehose", proxy.endpoint_url)
        fh.put_record(DeliveryStreamName=firehose, Record={"Data": b"x"})
        fh.put_record(DeliveryStreamName=firehose, Record={"Data": b"y"})
    records = [r for r in caplog.records if r.name == "timeout_guard"]
    assert len(records) == 1, [r.getMessage() for r in records]
    message = records[0].getMessage()
    assert "2 calls, 1 retries, 1 timeouts" in message
    assert "firehose.PutRecord" in message
    fields = records[0].timeout_guard_sdk
    assert fields["slowest_operation"] == "firehose.PutRecord"
    assert fields["slowest_ms"] >= 500


def test_nothing_logged_when_all_went_well(moto: Any, firehose: str, caplog: Any) -> None:
    with caplog.at_level(logging.DEBUG, logger="timeout_guard"), in_invocation(30):
        fh = client("firehose", moto.endpoint_url)
        fh.put_record(DeliveryStreamName=firehose, Record={"Data": b"x"})
    assert [r for r in caplog.records if r.name == "timeout_guard"] == []
    assert invocation.current is None
