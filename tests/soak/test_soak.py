"""The soak, shortened for `make test`: 100 invocations of the mix in one warm sandbox, in
python3.11 mode and python3.12+ mode. `make bench` runs 1,000 (bench/results.md, "Soak")."""

from __future__ import annotations

import pytest
from conftest import mode_params
from soak_driver import BASELINE_AT, sandbox

INVOCATIONS = 100


@pytest.mark.parametrize("version", mode_params())
def test_soak(layer_opt, version) -> None:
    with sandbox(layer_opt, version) as soak:
        result = soak.run(INVOCATIONS, seed=14)
    assert result.problems() == []
    assert result.kinds["caught_timeout"] == result.guard_records == INVOCATIONS // 20
    assert result.kinds["sdk_stall"] == result.sdk_records == 2 * INVOCATIONS // 20
    assert result.probe["between_samples"] > 0 and result.probe["ticks"] > 0
    assert result.baseline is not None and result.curve[0][0] == BASELINE_AT
