"""The Airflow layer's own failure."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException

from take5_ops.errors import Take5Error


class EarlierFailures(Take5Error, AirflowFailException):
    """A failure that only reports earlier ones of the run (their tasks e-mailed already): not e-mailed."""
