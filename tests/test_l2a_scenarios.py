"""L2A accuracy on the hard scenarios of the simulator (``take5_ops.sim.scenarios``), against the targets.

Each scenario is simulated, processed to L1C and L2A in order from an empty
state and measured from its 4th date by ``take5_ops.sim.validation`` (the
figures of ``docs/l2a-validation.md``). A target is asserted where there are
at least ``validation.MIN_PIXELS`` truth pixels to measure it.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from take5_ops.sim import validation
from take5_ops.sim.scenarios import SCENARIOS
from take5_ops.sim.scene import BURNT, HARVESTED, SMOKE

EXPECTED_BITS = {"savanna-fires": BURNT, "scars-by-clouds": BURNT, "smoke-plume": SMOKE | BURNT, "harvest": HARVESTED}


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """Counts per scenario, and the truth bits seen in each scenario, computed once on first use."""
    cache = {}

    def get(name: str) -> tuple[Counter, int]:
        if name not in cache:
            entries = validation.run(SCENARIOS[name], tmp_path_factory.mktemp(name))
            bits = int(np.bitwise_or.reduce([np.bitwise_or.reduce(e["mask"].ravel()) for e in entries]))
            cache[name] = (validation.measure(entries), bits)
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_meets_the_targets(measured, name):
    n, bits = measured(name)
    assert bits & EXPECTED_BITS.get(name, 0) == EXPECTED_BITS.get(name, 0), "the scenario lacks its event"
    assert n["cloud"] >= validation.MIN_PIXELS and n["mae_n"] >= 10 * validation.MIN_PIXELS, n
    r = validation.rates(n)
    print(f"{name}: " + ", ".join(f"{k} {r[k]:.4f}" for k in validation.TARGETS))
    assert validation.misses(n) == {}


def test_pooled_figures_meet_the_targets(measured):
    pooled = sum((measured(name)[0] for name in SCENARIOS), Counter())
    assert pooled["changed"] >= validation.MIN_PIXELS and pooled["shadow"] >= validation.MIN_PIXELS
    assert validation.misses(pooled) == {}


def test_a_blind_processor_misses_the_targets():
    """The measure can fail: flagging nothing misses clouds and shadows; flagging everything raises false alarms."""
    mask = np.zeros((100, 100), np.uint8)
    mask[:30] = 1  # cloud
    mask[30:50] = 2  # shadow
    mask[60:, :50] = BURNT
    shape = mask.shape
    entry = lambda clm: {"result": None, "mask": mask, "surface": np.full((4, *shape), 0.1, np.float32),
                         "EDG": np.zeros(shape, np.uint8), "CLM": clm, "SRE": np.full((4, *shape), 0.1)}
    for clm, missed in ((np.zeros(shape, np.uint8), {"cloud_recall", "shadow_recall"}),
                        (np.full(shape, 3, np.uint8), {"false_alarm", "changed_flagged"})):
        n = validation.measure([entry(clm)] * (validation.SKIP + 2))
        assert missed <= set(validation.misses(n))
