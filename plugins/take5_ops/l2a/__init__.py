"""Level 2A: surface reflectance and masks, multi-temporal (MACCS/MAJA method with SMAC).

:func:`process_date` processes one date against the prior composite;
:mod:`take5_ops.l2a.series` and :mod:`take5_ops.l2a.chain` order the dates of
a site. The product format is in ``docs/l2a-product.md``.
"""

from take5_ops.l2a.composite import STATE_FORMAT_VERSION, L2AStateError
from take5_ops.l2a.inputs import L2AInputError
from take5_ops.l2a.processor import STACK_ASSETS, STACK_DEPTH, DateResult, process_date

__all__ = ["STACK_ASSETS", "STACK_DEPTH", "STATE_FORMAT_VERSION", "DateResult", "L2AInputError", "L2AStateError",
           "process_date"]
