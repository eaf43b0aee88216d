"""The campaign simulator: synthetic deliveries that follow the L1A contract, with their truth.

See ``docs/simulator.md``. Entry points: :func:`simulate_product`,
:func:`simulate_campaign`, :func:`acquisition_dates`, :func:`write_dem`.
"""

from take5_ops.sim.campaign import simulate_campaign, simulate_product
from take5_ops.sim.scene import Cloud, Sky, Smoke, acquisition_dates
from take5_ops.sim.surface import Burn, Harvest
from take5_ops.sim.terrain import write_dem

__all__ = ["Burn", "Cloud", "Harvest", "Sky", "Smoke", "acquisition_dates", "simulate_campaign", "simulate_product",
           "write_dem"]
