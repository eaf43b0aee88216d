"""The one rule that names the buckets and the S3 endpoint, and :class:`Buckets`, the chain's four stores.

For each role (``l1a``, ``aux``, ``work``, ``dist``) the bucket name is, in
this order:

1. the Airflow Variable ``take5_<role>_bucket``, when running under Airflow
   (the tasks, the triggers and the dashboard pass their Variable lookup as
   ``variables``): operators change it in the UI without a restart;
2. the environment variable ``TAKE5_<ROLE>_BUCKET`` (the command line, the
   stack, the tests);
3. ``take5-<role>``.

The endpoint is ``TAKE5_S3_ENDPOINT`` (unset: AWS) for the command line and
the dashboard; the Airflow tasks take it from the ``aws_default`` connection.

The STAC API's database (the pgstac index that publication keeps in step,
docs/distribution.md) follows the same rule: the Airflow Variable
``take5_stac_api_db``, else ``TAKE5_STAC_API_DB``, else none (static catalog only).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from take5_ops.storage.base import Store

ROLES = ("l1a", "aux", "work", "dist")
ENDPOINT_ENV = "TAKE5_S3_ENDPOINT"
STAC_API_VARIABLE, STAC_API_ENV = "take5_stac_api_db", "TAKE5_STAC_API_DB"

Variables = Callable[[str], "str | None"]


def variable_name(role: str) -> str:
    """The Airflow Variable that names the bucket of ``role``."""
    return f"take5_{role}_bucket"


def env_name(role: str) -> str:
    """The environment variable that names the bucket of ``role``."""
    return f"TAKE5_{role.upper()}_BUCKET"


def default_name(role: str) -> str:
    """The bucket of ``role`` when nothing names it."""
    return f"take5-{role}"


def bucket_name(role: str, variables: Variables | None = None) -> str:
    """The bucket of ``role``: Variable (when ``variables`` is given), else environment, else default."""
    if role not in ROLES:
        raise ValueError(f"unknown bucket role {role!r} (one of {', '.join(ROLES)})")
    name = variables(variable_name(role)) if variables else None
    return name or os.environ.get(env_name(role)) or default_name(role)


def bucket_names(variables: Variables | None = None) -> dict[str, str]:
    """Every role's bucket by :func:`bucket_name`."""
    return {role: bucket_name(role, variables) for role in ROLES}


def endpoint() -> str | None:
    """The S3 endpoint URL of ``TAKE5_S3_ENDPOINT``; ``None`` for AWS."""
    return os.environ.get(ENDPOINT_ENV) or None


def stac_api_db(variables: Variables | None = None) -> str | None:
    """The PostgreSQL URL of the STAC API's database: Variable (when ``variables`` is given), else
    environment; ``None``: no API, the static catalog only."""
    value = (variables(STAC_API_VARIABLE) if variables else None) or os.environ.get(STAC_API_ENV)
    return value.strip() or None if value else None


@dataclass
class Buckets:
    """The four stores of the chain, and the STAC API's database URL (``None``: static catalog only)."""

    l1a: Store
    aux: Store
    work: Store
    dist: Store
    api: str | None = None

    @classmethod
    def s3(cls, client=None, variables: Variables | None = None) -> Buckets:
        """S3 buckets named by :func:`bucket_name`, through one client (``client``, else one for
        :func:`endpoint`): the same server for all, so that copies stay server side."""
        from take5_ops.storage.s3 import S3Store

        names = bucket_names(variables)
        if client is None:
            client = S3Store.from_endpoint(names["l1a"], endpoint()).client
        return cls(**{role: S3Store(client, name) for role, name in names.items()}, api=stac_api_db(variables))

    @classmethod
    def local(cls, l1a: Path, aux: Path, work: Path, out: Path) -> Buckets:
        """Local folders laid out like the buckets (``take5 run-site``)."""
        from take5_ops.storage.local import LocalStore

        return cls(LocalStore(l1a), LocalStore(aux), LocalStore(work), LocalStore(out))
