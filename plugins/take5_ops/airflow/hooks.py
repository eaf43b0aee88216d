"""The chain's stores from Airflow: the S3 connection and the bucket names.

Bucket names follow the one rule of :mod:`take5_ops.storage.buckets`, with the
Airflow Variables first (``take5_<role>_bucket``); the tasks, the triggers and
the dashboard all come here. Everything is read when a task, a trigger or a
page request runs, never when a DAG file is parsed.
"""

from __future__ import annotations

from airflow.sdk import BaseHook, Variable


def variable(name: str) -> str | None:
    """An Airflow Variable, ``None`` when not set."""
    return Variable.get(name, default=None)


def bucket_name(role: str) -> str:
    """Name of the bucket of ``role`` (:func:`take5_ops.storage.buckets.bucket_name`, Variables first)."""
    from take5_ops.storage.buckets import bucket_name as rule

    return rule(role, variable)


class Take5Hook(BaseHook):
    """S3 stores of the chain through the Airflow AWS connection ``aws_conn_id``.

    The connection's ``endpoint_url`` extra is honoured (an S3-compatible
    server); one boto3 client serves every bucket, so that copies between
    buckets stay server side.
    """

    def __init__(self, aws_conn_id: str = "aws_default"):
        super().__init__()
        self.aws_conn_id = aws_conn_id
        self._client = None

    def get_conn(self):
        """The boto3 S3 client of the connection (created once)."""
        if self._client is None:
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            self._client = S3Hook(aws_conn_id=self.aws_conn_id).get_conn()
        return self._client

    def store(self, role: str):
        """The :class:`~take5_ops.storage.S3Store` of one bucket role."""
        from take5_ops.storage import S3Store

        return S3Store(self.get_conn(), bucket_name(role))

    def buckets(self):
        """The four stores as :class:`take5_ops.storage.Buckets`."""
        from take5_ops.storage import Buckets

        return Buckets.s3(self.get_conn(), variable)
