"""Where everything goes: every key of every bucket, and nothing else.

One function per kind of object, grouped by bucket, so that a reader, a
writer, the SLA, the dashboard, reprocessing and the tests all ask the same
place (like pystac's ``layout``). Prefixes end with ``/``; keys are relative
to their bucket.

=============  ============================================================
bucket         keys
=============  ============================================================
``l1a``        ``<SITE>/<PRODUCT_ID>/{METADATA.DIM,IMAGERY.TIF,PREVIEW.JPG,DELIVERY.OK}``
``aux``        ``<SITE>/DEM.tif``
``work``       ``ledger/<SITE>/<PRODUCT_ID>.json``,
               ``quarantine/<SITE>/<PRODUCT_ID>/<ETAG>.json``,
               ``products/<SITE>/<NAME>/...``, ``withdrawn/<SITE>/<NAME>.json``,
               ``l2a/<SITE>/{steps,init/<START>}/<STEP>.{json,tif}``, ``l2a/<SITE>/status.json``,
               ``sla/<SITE>/{published.json,notified.json,sent/<TIME>Z.json}``,
               ``sla/digest/<YEAR>-W<WEEK>.json``, ``accounts/download-stats.json``,
               ``airflow-logs/...`` (the cluster's task logs)
``dist``       ``catalog.json``, ``index.html``, ``sites.json``, ``config.json``, ``assets/<FILE>``,
               ``<SITE>/collection.json``, ``<SITE>/index.html``, ``<SITE>/products.json``,
               ``<SITE>/<SITE>_<LEVEL>.meta4``, ``<SITE>/<NAME>/<NAME>.json``,
               ``<SITE>/<NAME>/<VERSION>/<FILE>``
=============  ============================================================
"""

from __future__ import annotations

from datetime import date, datetime

# --- l1a: the producer's deliveries (docs/delivery-contract.md) ---------------------------------------------


def site_prefix(site_id: str) -> str:
    """A site's folder, in the L1A, aux and distribution buckets."""
    return f"{site_id}/"


def delivery_prefix(site_id: str, product_id: str) -> str:
    """One delivery's folder in the L1A bucket."""
    return f"{site_id}/{product_id}/"


# --- aux ------------------------------------------------------------------------------------------------------


def dem_key(site_id: str) -> str:
    """The site's DEM on its grid."""
    return f"{site_id}/DEM.tif"


# --- work -----------------------------------------------------------------------------------------------------

LEDGER, QUARANTINE, PRODUCTS, WITHDRAWN, L2A, SLA = "ledger", "quarantine", "products", "withdrawn", "l2a", "sla"
AUDIT = "audit"


def ledger_prefix(site_id: str | None = None) -> str:
    """The ledger of one site (of every site when ``site_id`` is None)."""
    return f"{LEDGER}/{site_id}/" if site_id else f"{LEDGER}/"


def ledger_key(site_id: str, product_id: str) -> str:
    """The last ``DELIVERY.OK`` acted upon for a delivery, and the outcome."""
    return f"{ledger_prefix(site_id)}{product_id}.json"


def ledger_product_id(key: str) -> str | None:
    """The PRODUCT_ID a ledger key names, ``None`` for another key."""
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == LEDGER and parts[2].endswith(".json"):
        return parts[2][: -len(".json")]
    return None


def quarantine_prefix(site_id: str | None = None) -> str:
    """Rejected deliveries of one site (of every site when ``site_id`` is None)."""
    return f"{QUARANTINE}/{site_id}/" if site_id else f"{QUARANTINE}/"


def quarantine_product_prefix(site_id: str, product_id: str) -> str:
    """The rejections of one delivery (one record per ``DELIVERY.OK`` rejected)."""
    return f"{quarantine_prefix(site_id)}{product_id}/"


def quarantine_key(site_id: str, product_id: str, safe_etag: str) -> str:
    """One rejected delivery (its ``DELIVERY.OK`` ETag, made safe for a key) with its reason."""
    return f"{quarantine_product_prefix(site_id, product_id)}{safe_etag}.json"


def products_prefix(site_id: str) -> str:
    """Every processed product of a site, before publication."""
    return f"{PRODUCTS}/{site_id}/"


def product_prefix(site_id: str, name: str) -> str:
    """One processed product's folder (its files and ``manifest.json``)."""
    return f"{products_prefix(site_id)}{name}/"


def product_name_of(key: str) -> str | None:
    """The product name a key under ``products/<SITE>/`` names, ``None`` for another key."""
    parts = key.split("/")
    return parts[2] if len(parts) >= 4 and parts[0] == PRODUCTS else None


def withdrawn_key(site_id: str, name: str) -> str:
    """The record of a withdrawn product: it is never published again."""
    return f"{WITHDRAWN}/{site_id}/{name}.json"


def l2a_prefix(site_id: str) -> str:
    """A site's L2A series: step records, states and the status document."""
    return f"{L2A}/{site_id}/"


def l2a_steps_prefix(site_id: str) -> str:
    """Forward steps of the series."""
    return f"{l2a_prefix(site_id)}steps/"


def l2a_init_prefix(site_id: str, start: date | None = None) -> str:
    """Backward (initialization) steps: of every segment, or of the segment starting on ``start``."""
    return f"{l2a_prefix(site_id)}init/" + (f"{start:%Y%m%d}/" if start else "")


def l2a_step_prefix(site_id: str, step_name: str, init_start: date | None = None) -> str:
    """A step's record (``.json``) and state (``.tif``): a forward step, or a backward one of ``init_start``'s
    initialization."""
    base = l2a_init_prefix(site_id, init_start) if init_start else l2a_steps_prefix(site_id)
    return base + step_name


def l2a_step_kind(key: str) -> tuple[str, str] | None:
    """``("steps", "")`` or ``("init", "<START>")`` for a step key of the L2A series, else ``None``."""
    parts = key.split("/")
    if len(parts) == 4 and parts[0] == L2A and parts[2] == "steps":
        return "steps", ""
    if len(parts) == 5 and parts[0] == L2A and parts[2] == "init":
        return "init", parts[3]
    return None


def l2a_status_key(site_id: str) -> str:
    """The series' status document (read by the SLA and the dashboard)."""
    return f"{l2a_prefix(site_id)}status.json"


def sla_published_key(site_id: str) -> str:
    """First publication time of each product of a site."""
    return f"{SLA}/{site_id}/published.json"


def sla_journal_prefix(site_id: str) -> str:
    """The alerts sent for a site, one record per sending."""
    return f"{SLA}/{site_id}/sent/"


def sla_journal_key(site_id: str, sent_at: datetime) -> str:
    """One record of sent alerts: two checks racing never overwrite each other's record."""
    return f"{sla_journal_prefix(site_id)}{sent_at:%Y-%m-%dT%H%M%S}Z.json"


def sla_index_key(site_id: str) -> str:
    """The index of the journal (what was notified)."""
    return f"{SLA}/{site_id}/notified.json"


def sla_mail_error_key(site_id: str) -> str:
    """The last failed sending of a site's alerts (``digest`` for the weekly digest)."""
    return f"{SLA}/{site_id}/mail_error.json"


def sla_prefix() -> str:
    """Every SLA record."""
    return f"{SLA}/"


def sla_digest_key(day: date) -> str:
    """The record that the ops list's weekly digest of ``day``'s ISO week was sent."""
    year, week, _ = day.isocalendar()
    return f"{SLA}/digest/{year}-W{week:02d}.json"


def download_stats_key() -> str:
    """The accounts server's download statistics per site and level (docs/distribution.md, "Accounts")."""
    return "accounts/download-stats.json"


def audit_key() -> str:
    """The last audit's result (``take5 audit``, the ``take5_audit`` DAG), shown on the dashboard."""
    return f"{AUDIT}/last.json"


def task_logs_prefix() -> str:
    """Where the cluster's workers upload their task logs (Airflow's remote logging lays out the keys below)."""
    return "airflow-logs/"


# --- dist: what users see (docs/catalog.md) -------------------------------------------------------------------

CATALOG_KEY = "catalog.json"
ROOT_PAGE_KEY = "index.html"
SITES_INDEX_KEY = "sites.json"  # the website's list of sites (map, search)
WEB_CONFIG_KEY = "config.json"  # the website's settings (order_url)


def web_asset_key(name: str) -> str:
    """A file the pages share: stylesheet, scripts, the map's library and outlines."""
    return f"assets/{name}"


def collection_key(site_id: str) -> str:
    """A site's STAC Collection."""
    return f"{site_id}/collection.json"


def site_page_key(site_id: str) -> str:
    """A site's web page."""
    return f"{site_id}/index.html"


def site_products_key(site_id: str) -> str:
    """The website's index of a site's products (search, cart)."""
    return f"{site_id}/products.json"


def metalink_key(site_id: str, level: str) -> str:
    """A site's Metalink of one level (every file of every product of that level)."""
    return f"{site_id}/{site_id}_{level}.meta4"


def published_prefix(site_id: str, name: str) -> str:
    """A published product's folder: its Item and its version folders."""
    return f"{site_id}/{name}/"


def item_key(site_id: str, name: str) -> str:
    """A product's STAC Item: the switch that makes a version visible."""
    return f"{published_prefix(site_id, name)}{name}.json"


def item_name_of(site_id: str, key: str) -> str | None:
    """The product name when ``key`` is a product's Item in the distribution bucket (``item_key``), else ``None``."""
    parts = key.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == site_id and parts[2] == f"{parts[1]}.json" else None


def version_prefix(site_id: str, name: str, version: str) -> str:
    """The files of one content version of a published product."""
    return f"{published_prefix(site_id, name)}{version}/"
