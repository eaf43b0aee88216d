"""take5_ops: the SPOT5 Take5 production chain as a plain Python library.

Everything here but :mod:`take5_ops.airflow` runs without Airflow.
"""

__version__ = "0.1.0"
