"""Celery settings of the cluster (``[celery] celery_config_options =
take5_ops.airflow.celery_config.CELERY_CONFIG``): Airflow's defaults, and a broker outage that
delays the sending of tasks instead of failing them.

With Celery's default publish retry policy (3 quick retries), a task the scheduler sends while
Redis is down fails at once (``CELERY_SEND_ERR``) and burns one of its retries. Here a publication
keeps retrying past the scheduler's ``[celery] operation_timeout`` (1 s): Airflow's executor then
counts a timeout and sends the task again at its next loop, up to ``[celery]
task_publish_max_retries`` times (the cluster sets 300: minutes of broker outage; docs/deployment.md).
"""

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

CELERY_CONFIG = {
    **DEFAULT_CELERY_CONFIG,
    "task_publish_retry_policy": {"max_retries": 30, "interval_start": 0.5, "interval_step": 0.5, "interval_max": 2},
}
