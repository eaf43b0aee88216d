"""Task callables of the site DAGs: each one call into :mod:`take5_ops.pipeline`.

``site`` is the site configuration as JSON (``SiteConfig.model_dump(mode="json")``,
fixed when the DAG was parsed), validated again here. The library is imported
inside the callables, never when a DAG file is parsed.
"""

from __future__ import annotations


def _site(site: dict):
    from take5_ops.siteconfig import SiteConfig

    return SiteConfig.model_validate(site)


MAP_INDEX_TEMPLATE = "{{ take5_product }}"


def _label(name: str) -> None:
    """Name the running mapped instance in the UI (rendered through ``MAP_INDEX_TEMPLATE``)."""
    from airflow.sdk import get_current_context

    get_current_context()["take5_product"] = name


def _buckets():
    from take5_ops.airflow.hooks import Take5Hook

    return Take5Hook().buckets()


def validate_deliveries(site: dict) -> list[dict]:
    """Check every pending delivery; quarantine rejects; return the accepted ones."""
    from take5_ops.pipeline import intake

    return intake(_buckets(), _site(site))


def l1c(site: dict, accepted: dict) -> dict:
    """Process one accepted delivery to L1C (one mapped instance).

    A delivery the processor rejects is quarantined by the library; the task
    then fails without retry (retrying cannot fix an input).
    """
    from airflow.sdk.exceptions import AirflowFailException

    from take5_ops.l1c import L1CError
    from take5_ops.pipeline import run_l1c

    _label(accepted["product_id"])
    try:
        return run_l1c(_buckets(), _site(site), accepted)
    except L1CError as exc:
        raise AirflowFailException(f"{accepted['product_id']} rejected by L1C (quarantined): {exc}") from exc


def publish(site: dict, product: dict) -> dict:
    """Publish one processed product (one mapped instance)."""
    from take5_ops.pipeline import publish as publish_product

    _label(product["product"]["name"])
    return publish_product(_buckets(), _site(site), product)


def update_catalog(site: dict, published, accepted: list[dict]) -> dict:
    """Update the site's Collection and the root catalog, commit the ledger.

    ``published`` holds the results of the publications that succeeded. After
    committing them, fails (without retry) when some accepted deliveries were
    not published, so that the run shows the failure; those stay pending.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from take5_ops.pipeline import update_catalog as update

    # A mapped task group that ran once hands its single result over unwrapped (seen with the
    # scheduler on Airflow 3.3.2 in the demo stack): make it a list again.
    results = [published] if isinstance(published, dict) else list(published)
    summary = update(_buckets(), _site(site), published=[p for p in results if p], accepted=list(accepted))
    if summary.get("not_published"):
        raise AirflowFailException(
            f"catalog and ledger updated for {summary['published']} product(s); not published, left pending: "
            + ", ".join(summary["not_published"])
        )
    return summary
