"""L2A accuracy on the hard scenarios of the simulator (``take5_ops.sim.scenarios``), against the targets.

Each scenario is simulated, processed to L1C and L2A in order from an empty
state and measured from its 4th date by ``take5_ops.sim.validation`` (the
figures of ``docs/l2a-validation.md``). A target is asserted where there are
at least ``validation.MIN_PIXELS`` truth pixels to measure it; the targets not
reached today are listed in :data:`OUT_OF_REACH` with the figure to hold.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from take5_ops.sim import validation
from take5_ops.sim.scenarios import SCENARIOS
from take5_ops.sim.scene import BURNT, HARVESTED, SMOKE

EXPECTED_BITS = {"savanna-fires": BURNT, "scars-by-clouds": BURNT, "smoke-plume": SMOKE | BURNT, "harvest": HARVESTED}
# Targets out of reach today (docs/l2a-product.md says why, docs/l2a-validation.md shows them): the figure
# reached, with a little slack, which must not get worse. Every other target is asserted as such.
OUT_OF_REACH = {
    "savanna-fires": {"changed_flagged": 0.47},
    "scars-by-clouds": {"changed_flagged": 0.39, "mae_visible": 0.0125},
    "smoke-plume": {"cloud_recall": 0.86, "shadow_recall": 0.73},
    "sand-clouds": {"shadow_recall": 0.68, "mae_visible": 0.0087},
    "snow-clouds": {"shadow_recall": 0.48},
    "low-sun": {"false_alarm": 0.075, "shadow_recall": 0.71, "mae_visible": 0.010},
    "harvest": {"false_alarm": 0.036, "changed_flagged": 0.40},
    "pooled": {"shadow_recall": 0.76, "changed_flagged": 0.33},
}


def check(name: str, n: Counter) -> None:
    """Every target met, or missed by no more than :data:`OUT_OF_REACH` records."""
    r, known = validation.rates(n), OUT_OF_REACH.get(name, {})
    print(f"{name}: " + ", ".join(f"{k} {r[k]:.4f}" for k in validation.TARGETS))
    assert set(validation.misses(n)) <= set(known), validation.misses(n)
    for key, bound in known.items():
        assert r[key] >= bound if validation.TARGETS[key][0] == ">=" else r[key] <= bound, (key, r[key], bound)


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
def test_scenario_against_the_targets(measured, name):
    n, bits = measured(name)
    assert bits & EXPECTED_BITS.get(name, 0) == EXPECTED_BITS.get(name, 0), "the scenario lacks its event"
    assert n["cloud"] >= validation.MIN_PIXELS and n["mae_n"] >= 10 * validation.MIN_PIXELS, n
    check(name, n)


def test_pooled_figures_against_the_targets(measured):
    pooled = sum((measured(name)[0] for name in SCENARIOS), Counter())
    assert pooled["changed"] >= validation.MIN_PIXELS and pooled["shadow"] >= validation.MIN_PIXELS
    check("pooled", pooled)


def test_a_blind_processor_misses_the_targets():
    """The measure can fail: flagging nothing misses clouds and shadows; flagging everything raises false alarms."""
    mask = np.zeros((100, 100), np.uint8)
    mask[:30] = 1  # cloud
    mask[30:50] = 2  # shadow
    mask[60:, :50] = BURNT
    shape = mask.shape

    def entry(clm):
        return {"result": None, "mask": mask, "surface": np.full((4, *shape), 0.1, np.float32),
                "EDG": np.zeros(shape, np.uint8), "CLM": clm, "SRE": np.full((4, *shape), 0.1)}

    for clm, missed in ((np.zeros(shape, np.uint8), {"cloud_recall", "shadow_recall"}),
                        (np.full(shape, 3, np.uint8), {"false_alarm", "changed_flagged"})):
        n = validation.measure([entry(clm)] * (validation.SKIP + 2))
        assert missed <= set(validation.misses(n))
