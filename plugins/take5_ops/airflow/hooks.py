"""The chain's stores from Airflow: the S3 connection and the bucket names.

Bucket names come, for each role (``l1a``, ``aux``, ``work``, ``dist``), from
the Airflow Variable ``take5_<role>_bucket``, else the environment variable
``TAKE5_<ROLE>_BUCKET``, else ``take5-<role>``. Everything is read when a task
or a trigger runs, never when a DAG file is parsed.
"""

from __future__ import annotations

import os

from airflow.sdk import BaseHook, Variable

ROLES = ("l1a", "aux", "work", "dist")


def bucket_name(role: str) -> str:
    """Name of the bucket of ``role``: Variable ``take5_<role>_bucket``, env ``TAKE5_<ROLE>_BUCKET``, default."""
    if role not in ROLES:
        raise ValueError(f"unknown bucket role {role!r} (one of {', '.join(ROLES)})")
    default = os.environ.get(f"TAKE5_{role.upper()}_BUCKET") or f"take5-{role}"
    return Variable.get(f"take5_{role}_bucket", default=default)


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
        """The four stores as :class:`take5_ops.pipeline.Buckets`."""
        from take5_ops.pipeline import Buckets

        return Buckets(**{role: self.store(role) for role in ROLES})
