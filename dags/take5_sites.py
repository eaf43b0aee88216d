"""One Airflow DAG per Take5 site, ``take5_<SITE_ID>``, from ``include/site_configs/*.yaml``.

Invalid configuration files are skipped here and reported by
``take5_site_config_errors.py``. The folder can be overridden with
``$TAKE5_SITE_CONFIGS``. See docs/site-config.md.

A worker running a task of one site builds that site's DAG only (Airflow's
parsing context, ``airflow.sdk.get_parsing_context()``); the dag-processor
builds them all. The building time is logged, so it shows in every task log.
"""

from take5_ops.airflow.factory import configs_folder, site_dags

globals().update(site_dags(configs_folder(__file__)))
