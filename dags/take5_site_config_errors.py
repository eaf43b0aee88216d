"""Reports invalid site configurations as an Airflow import error of this file.

The import error names every invalid file and field; the valid sites' DAGs
(``take5_sites.py``, another file, so they stay active) load regardless.
"""

from take5_ops.airflow.factory import configs_folder, invalid_configs_dag

dag = invalid_configs_dag(configs_folder(__file__))
