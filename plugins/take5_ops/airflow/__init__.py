"""The Airflow layer of take5: the only part of the package that imports Airflow.

- :mod:`~take5_ops.airflow.factory` builds one DAG per site from the site
  configurations (and a sentinel DAG that reports invalid ones);
- :mod:`~take5_ops.airflow.sensors` / :mod:`~take5_ops.airflow.triggers`: the
  deferrable wait for a pending delivery;
- :mod:`~take5_ops.airflow.tasks`: the task callables, each a thin call into
  :mod:`take5_ops.pipeline`;
- :mod:`~take5_ops.airflow.hooks`: the stores from the Airflow connection.

Nothing here imports numpy, rasterio, boto3 or pystac at module level: the DAG
files import this package at parse time.
"""
