"""The STAC API's copy of the catalog: the distribution bucket's Collections and Items in pgstac.

The static catalog in the distribution bucket is the source of truth; the STAC API
(stac-fastapi-pgstac, docs/distribution.md) serves a copy of it from its PostgreSQL
database, written here through pgstac's own SQL functions (``upsert_items``,
``delete_item``, ``upsert_collection``). The API server itself is read-only: no
transaction endpoint is exposed to the public.

The copy differs from the static documents only where a server needs it to: asset
hrefs are absolute (the public URLs of the bucket), the static links are dropped (the
server makes its own) and one ``alternate`` link names the static document.

Order with the static catalog (docs/distribution.md, "Sync"): the API changes *first*,
then the static switch. Publication upserts the API Item, then PUTs the static Item;
withdrawal deletes the API Item, then takes the static Item off its listings and the
bucket. A failed API write raises :class:`~take5_ops.errors.StacApiError` before the
static state changes, so the static catalog is never half-switched and the rerun
repeats both (upsert and delete by id are idempotent). A failure after the API write
leaves the API one product ahead of the bucket until the rerun (or ``take5 api-sync``).
"""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from take5_ops.distribution.access import public_base_url, public_urls
from take5_ops.errors import StacApiError
from take5_ops.naming import is_site_id
from take5_ops.storage import Store, layout, read_json

log = logging.getLogger(__name__)

STATIC_REL = "alternate"  # the link of an API document to its static twin
COORD_DIGITS = 9  # geometry compared to 1e-9 degree (PostGIS returns its own float text)
QUERYABLES = {  # beyond pgstac's defaults (id, geometry, datetime, eo:cloud_cover)
    "take5:level": {"title": "Processing level", "type": "string", "enum": ["L1A", "L1C", "L2A"]},
    "platform": {"title": "Platform", "type": "string"},
}


def _absolute(doc_key: str, href: str, url_for: Callable[[str], str]) -> str:
    if urlsplit(href).scheme:
        return href
    return url_for(posixpath.normpath(posixpath.join(posixpath.dirname(doc_key), href)))


def api_item(doc: dict, item_key: str, url_for: Callable[[str], str]) -> dict:
    """The API copy of the static Item ``doc`` stored at ``item_key``: absolute asset hrefs, one
    ``alternate`` link to the static Item instead of the static links."""
    out = {k: v for k, v in doc.items() if k != "links"}
    out["assets"] = {k: {**a, "href": _absolute(item_key, a["href"], url_for)} for k, a in doc.get("assets", {}).items()}
    out["links"] = [{"rel": STATIC_REL, "href": url_for(item_key), "type": "application/json",
                     "title": "static STAC Item"}]
    return out


def api_collection(doc: dict, collection_key: str, url_for: Callable[[str], str]) -> dict:
    """The API copy of the static Collection ``doc``: no Item links (the API searches its Items),
    absolute asset hrefs (the Metalinks), an ``alternate`` link to the static Collection."""
    out = {k: v for k, v in doc.items() if k != "links"}
    if "assets" in doc:
        out["assets"] = {k: {**a, "href": _absolute(collection_key, a["href"], url_for)}
                         for k, a in doc["assets"].items()}
    out["links"] = [{"rel": STATIC_REL, "href": url_for(collection_key), "type": "application/json",
                     "title": "static STAC Collection"}]
    return out


def provisional_collection(item: dict) -> dict:
    """A Collection for the first Item of a site, before the site's collection.json exists (the
    catalog update of the same run replaces it with the real one)."""
    return {
        "type": "Collection", "stac_version": item.get("stac_version", "1.1.0"), "id": item["collection"],
        "description": f"SPOT5 Take5 products of the site {item['collection']}", "license": "other", "links": [],
        "extent": {"spatial": {"bbox": [item["bbox"]]},
                   "temporal": {"interval": [[item["properties"]["datetime"], item["properties"]["datetime"]]]}},
    }


def _rounded(value):
    if isinstance(value, float):
        return round(value, COORD_DIGITS)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def same_item(wanted: dict, stored: dict) -> bool:
    """True when the API holds ``wanted``: equal JSON, the geometry compared to 1e-9 degree."""
    def norm(doc):
        doc = json.loads(json.dumps(doc))
        geometry = doc.pop("geometry", None) or {}
        return doc, geometry.get("type"), _rounded(geometry.get("coordinates"))

    return norm(wanted) == norm(stored)


class StacApiIndex:
    """The API's pgstac database at ``dsn`` (a ``postgresql://`` URL): one connection per call."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        parts = urlsplit(dsn)
        self.where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"  # no password in messages

    @contextmanager
    def cursor(self, what: str) -> Iterator:
        """A cursor in one transaction (committed on success); any database error becomes a
        :class:`StacApiError` naming ``what``."""
        import psycopg2

        try:
            conn = psycopg2.connect(self.dsn, connect_timeout=10)
        except psycopg2.Error as exc:
            raise StacApiError(f"STAC API database {self.where}: cannot connect ({what}): {exc}".strip()) from exc
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SET search_path TO pgstac, public")
                yield cur
        except psycopg2.Error as exc:
            raise StacApiError(f"STAC API database {self.where}: {what} failed: {exc}".strip()) from exc
        finally:
            conn.close()

    def collection_ids(self) -> list[str]:
        with self.cursor("listing the collections") as cur:
            cur.execute("SELECT id FROM collections ORDER BY id")
            return [r[0] for r in cur.fetchall()]

    def collection(self, collection_id: str) -> dict | None:
        with self.cursor(f"reading collection {collection_id}") as cur:
            cur.execute("SELECT content FROM collections WHERE id = %s", (collection_id,))
            row = cur.fetchone()
        return row[0] if row else None

    def upsert_collection(self, doc: dict) -> None:
        with self.cursor(f"writing collection {doc['id']}") as cur:
            cur.execute("SELECT upsert_collection(%s::jsonb)", (json.dumps(doc),))

    def ensure_collection(self, doc: dict) -> bool:
        """Create the collection ``doc`` unless one with its id exists; True if created."""
        with self.cursor(f"creating collection {doc['id']}") as cur:
            cur.execute("SELECT 1 FROM collections WHERE id = %s", (doc["id"],))
            if cur.fetchone():
                return False
            cur.execute("SELECT upsert_collection(%s::jsonb)", (json.dumps(doc),))
            return True

    def delete_collection(self, collection_id: str) -> bool:
        """Delete a collection and its Items; False when there was none."""
        with self.cursor(f"deleting collection {collection_id}") as cur:
            cur.execute("SELECT 1 FROM collections WHERE id = %s", (collection_id,))
            if not cur.fetchone():
                return False
            cur.execute("SELECT delete_collection(%s)", (collection_id,))
            return True

    def upsert_items(self, docs: list[dict]) -> None:
        if docs:
            with self.cursor(f"writing {len(docs)} Item(s) ({docs[0]['id']}...)") as cur:
                cur.execute("SELECT upsert_items(%s::jsonb)", (json.dumps(docs),))

    def delete_item(self, collection_id: str, item_id: str) -> bool:
        """Delete one Item; False when there was none."""
        with self.cursor(f"deleting Item {collection_id}/{item_id}") as cur:
            cur.execute("DELETE FROM items WHERE collection = %s AND id = %s", (collection_id, item_id))
            return cur.rowcount > 0

    def items(self, collection_id: str) -> dict[str, dict]:
        """The collection's Items as the API serves them (hydrated), by id."""
        with self.cursor(f"reading the Items of {collection_id}") as cur:
            cur.execute("SELECT id, content_hydrate(items) FROM items WHERE collection = %s", (collection_id,))
            return dict(cur.fetchall())


def index_for(dsn: str | None) -> StacApiIndex | None:
    """The index of the setting :func:`take5_ops.storage.buckets.stac_api_db` (``None``: no API)."""
    return StacApiIndex(dsn) if dsn else None


def publish_item(api: StacApiIndex, dist: Store, item_key: str, doc: dict) -> None:
    """Upsert the API copy of the Item ``doc`` (to be written at ``item_key``); its collection is
    created first when the API has none (:func:`provisional_collection`)."""
    url_for = public_urls(public_base_url(dist))
    site_id = doc["collection"]
    static = read_json(dist, layout.collection_key(site_id))
    api.ensure_collection(api_collection(static, layout.collection_key(site_id), url_for) if static
                          else provisional_collection(doc))
    api.upsert_items([api_item(doc, item_key, url_for)])


def sync_collection(api: StacApiIndex, dist: Store, site_id: str) -> str:
    """Make the API's collection of ``site_id`` the static one; none in the bucket: the API's goes
    too (with its Items). Returns ``"written"``, ``"deleted"`` or ``"absent"``."""
    key = layout.collection_key(site_id)
    static = read_json(dist, key)
    if static is None:
        return "deleted" if api.delete_collection(site_id) else "absent"
    api.upsert_collection(api_collection(static, key, public_urls(public_base_url(dist))))
    return "written"


@dataclass
class SiteDiff:
    """How the API differs from the bucket for one site: Item ids missing, extra or different,
    and whether the collection itself differs."""

    site_id: str
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)
    collection: bool = False

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.different or self.collection)


def _static_items(dist: Store, site_id: str) -> dict[str, tuple[str, dict]]:
    """The site's static Items by id: (key, document)."""
    found = {}
    for info in dist.list(layout.site_prefix(site_id)):
        name = layout.item_name_of(site_id, info.key)
        doc = read_json(dist, info.key) if name else None
        if doc is not None:
            found[name] = (info.key, doc)
    return found


def diff_site(api: StacApiIndex, dist: Store, site_id: str) -> tuple[SiteDiff, dict[str, dict]]:
    """Compare the API with the bucket for one site; also returns the wanted API Items by id."""
    url_for = public_urls(public_base_url(dist))
    wanted = {name: api_item(doc, key, url_for) for name, (key, doc) in _static_items(dist, site_id).items()}
    stored = api.items(site_id)
    diff = SiteDiff(site_id, sorted(set(wanted) - set(stored)), sorted(set(stored) - set(wanted)),
                    sorted(n for n in set(wanted) & set(stored) if not same_item(wanted[n], stored[n])))
    static = read_json(dist, layout.collection_key(site_id))
    want_collection = api_collection(static, layout.collection_key(site_id), url_for) if static else None
    have = api.collection(site_id)
    diff.collection = (json.loads(json.dumps(want_collection)) if want_collection else None) != have
    return diff, wanted


def sync_site(api: StacApiIndex, dist: Store, site_id: str) -> SiteDiff:
    """Bring the API in line with the bucket for one site (collection, Items upserted or deleted by
    id); returns what differed before. Idempotent: a second call finds nothing to do."""
    diff, wanted = diff_site(api, dist, site_id)
    if diff.clean:
        return diff
    if wanted and read_json(dist, layout.collection_key(site_id)) is None:  # published, not yet linked
        api.ensure_collection(provisional_collection(next(iter(wanted.values()))))
    else:
        sync_collection(api, dist, site_id)
    api.upsert_items([wanted[n] for n in diff.missing + diff.different])
    for name in diff.extra:
        api.delete_item(site_id, name)
    return diff


def sites_to_sync(api: StacApiIndex, dist: Store) -> list[str]:
    """Every site with a folder in the bucket or a collection in the API."""
    return sorted({s for s in dist.list_dirs("") if is_site_id(s)} | set(api.collection_ids()))


def ensure_queryables(api: StacApiIndex) -> None:
    """Declare the take5 queryables (:data:`QUERYABLES`) for the CQL2 filter; idempotent."""
    with api.cursor("declaring the queryables") as cur:
        for name, definition in QUERYABLES.items():
            cur.execute("SELECT 1 FROM queryables WHERE name = %s", (name,))
            if not cur.fetchone():
                cur.execute("INSERT INTO queryables (name, definition) VALUES (%s, %s::jsonb)",
                            (name, json.dumps(definition)))
