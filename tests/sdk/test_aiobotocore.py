"""aiobotocore clients get the same settings; AioConfig stays AioConfig.

Skipped unless aiobotocore is installed: it pins its own botocore (3.10.0: botocore
>=1.43.115,<1.43.118), so it cannot sit next to the main .venv's botocore 1.44.5. Run it with
its own venv: ``tests/sdk/run_other_sdk.sh tests/requirements-aiobotocore.txt 3.11
tests/sdk/test_aiobotocore.py`` (``make test`` does).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

aiobotocore_session = pytest.importorskip("aiobotocore.session")

from timeout_guard import sdk, settings  # noqa: E402
from timeout_guard.sdk import clients  # noqa: E402


def _client(session: Any, service: str, **kwargs: Any) -> Any:
    """An aiobotocore client of ``service`` for port 9 of 127.0.0.1 (nothing listens there)."""
    return session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )


def test_aio_clients_get_layer_settings_under_their_own() -> None:
    from aiobotocore.config import AioConfig

    assert sdk.install(aiobotocore_session, settings.settings()) is True
    assert sdk.install(aiobotocore_session, settings.settings()) is True
    seen: dict[str, Any] = {}

    async def main() -> None:
        session = aiobotocore_session.get_session()
        config = AioConfig(read_timeout=9, connector_args={"keepalive_timeout": 3})
        async with _client(session, "stepfunctions", config=config) as c:
            cfg = c.meta.config
            seen["config"] = (type(cfg).__name__, cfg.connect_timeout, cfg.read_timeout)
            seen["retries"] = cfg.retries
            seen["connector_args"] = cfg.connector_args

            def capture(params: Any, **_: Any) -> None:
                context = params["context"]
                seen["read"] = (context.get("read_timeout"), context.get(clients.OP_READ))

            c.meta.events.register_first("before-call", capture)
            with pytest.raises(Exception):  # noqa: B017 - nothing listens on port 9
                await c.get_activity_task(activityArn="arn:a")

    asyncio.run(main())
    assert seen["config"] == ("AioConfig", 2.0, 9)
    assert seen["retries"] == {"total_max_attempts": 3, "mode": "standard"}
    assert seen["connector_args"] == {"keepalive_timeout": 3}
    assert seen["read"] == (70.0, 70.0)


def test_the_guards_error_while_an_aio_client_is_created_reaches_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As for botocore (test_fail_open): the guard's error, raised once inside aiobotocore's
    client creation (as its alarm would), is not taken for the layer's Config failing: no second
    creation without the layer's Config."""
    from aiobotocore.client import AioClientCreator
    from timeout_guard import LambdaTimeoutError

    assert sdk.install(aiobotocore_session, settings.settings()) is True
    original = AioClientCreator.create_client
    calls: list[int] = []

    async def guard_fires_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise LambdaTimeoutError("the guard's alarm came here")
        return await original(*args, **kwargs)

    monkeypatch.setattr(AioClientCreator, "create_client", guard_fires_once)

    async def main() -> None:
        session = aiobotocore_session.get_session()
        async with _client(session, "sqs"):
            pass

    with pytest.raises(LambdaTimeoutError, match="the guard's alarm came here"):
        asyncio.run(main())
    assert calls == [1]
