"""One Airflow DAG per Take5 site, ``take5_<SITE_ID>``, from ``include/site_configs/*.yaml``.

Invalid configuration files are skipped here and reported by
``take5_site_config_errors.py``. The folder can be overridden with
``$TAKE5_SITE_CONFIGS``. See docs/site-config.md.
"""

from take5_ops.airflow.factory import configs_folder, site_dags

globals().update(site_dags(configs_folder(__file__)))
