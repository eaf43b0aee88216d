"""STAC documents of the distribution bucket, built with pystac.

Layout (docs/catalog.md): ``catalog.json`` at the root, one Collection per
site at ``<SITE_ID>/collection.json`` and one Item per product at
``<SITE_ID>/<NAME>/<NAME>.json`` next to its assets. Every link and asset
href is relative (pystac's ``SELF_CONTAINED`` style, no ``self`` links), so
the same tree works in the bucket served over HTTP and in a local folder.
The JSON is canonical (sorted keys and links, no wall-clock time): the same
inputs give the same bytes, which is what lets publication skip rewrites.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pystac
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from pystac.extensions.view import ViewExtension

from take5_ops.distribution.metalink import MEDIA_TYPE as METALINK_MEDIA_TYPE
from take5_ops.errors import CatalogError
from take5_ops.naming import parse_product_name, product_version
from take5_ops.products.product import REFLECTANCE_NODATA, REFLECTANCE_SCALE, Product
from take5_ops.siteconfig import SiteConfig
from take5_ops.storage import layout

CATALOG_ID = "take5"
MULTIHASH_SHA256 = "1220"  # multihash prefix: sha2-256, 32 bytes
# band: (common name, centre wavelength µm, full width µm), contract section 4
SPECTRAL_BANDS = {
    "XS1": ("green", 0.545, 0.09),
    "XS2": ("red", 0.645, 0.07),
    "XS3": ("nir", 0.835, 0.11),
    "SWIR": ("swir16", 1.665, 0.17),
}
MASK_ASSETS = ("SAT", "EDG", "CLM", "MG2")  # uint8 bit masks
AOT_ASSET, AOT_SCALE = "AOT", 0.001  # L2A: int16 AOT550 x 1000, no-data -10000
# Item property prefixes and the extension that defines them
PROPERTY_EXTENSIONS = {"proj:": ProjectionExtension, "view:": ViewExtension, "eo:": EOExtension}
# the processor version of every Item (``version``, ``processing:software``), extensions pystac does not model
VERSION_EXTENSIONS = ("https://stac-extensions.github.io/processing/v1.1.0/schema.json",
                      "https://stac-extensions.github.io/version/v1.1.0/schema.json")
INTERNAL_PROPERTIES = frozenset({"geometry", "bbox", "take5:l1a_marker_etag"})
PROVIDERS = (
    pystac.Provider("CNES", roles=[pystac.ProviderRole.LICENSOR, pystac.ProviderRole.PRODUCER],
                    url="https://cnes.fr"),
    pystac.Provider("SPOT5 Take5 production chain (take5)",
                    roles=[pystac.ProviderRole.PROCESSOR, pystac.ProviderRole.HOST]),
)
LICENSE = "other"


def to_json(doc: dict) -> bytes:
    """Canonical JSON bytes of a STAC document (sorted keys and links)."""
    doc = dict(doc)
    doc["links"] = sorted(doc.get("links", []), key=lambda link: (link["rel"], link["href"]))
    return (json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def _links(obj: pystac.STACObject, links: list[tuple[str, str, str | None]]) -> None:
    for rel, href, title in links:
        obj.add_link(pystac.Link(rel, href, media_type=pystac.MediaType.JSON, title=title))


def build_item(product: Product, asset_dir: str = "") -> pystac.Item:
    """The STAC Item of a product, from its manifest alone (no raster is opened).

    ``asset_dir``: the folder of the assets relative to the Item (publication's
    content version, docs/catalog.md); empty: next to the Item."""
    props = product.properties
    where = f"manifest of {product.name}"
    for field in ("geometry", "bbox"):
        if not props.get(field):
            raise CatalogError(f"{where}: missing properties.{field}")
    properties = {k: props[k] for k in sorted(props) if k not in INTERNAL_PROPERTIES}
    properties.setdefault("platform", "spot-5")
    properties.setdefault("constellation", "spot")
    properties.setdefault("instruments", [f"hrg{parse_product_name(product.name)[0].instrument}"])
    if "proj:transform" in props:
        properties.setdefault("gsd", abs(float(props["proj:transform"][0])))
    properties.setdefault("take5:l1a_product_id", product.product_id)
    properties["take5:level"] = product.level
    version = product_version(product.name)  # the processor's (naming.PROCESSOR_VERSIONS), not the content's
    properties.update({"version": version, "processing:level": product.level,
                       "processing:software": {f"take5-{product.level.lower()}": version}})
    acquired = product.acquired if product.acquired.tzinfo else product.acquired.replace(tzinfo=UTC)
    item = pystac.Item(product.name, props["geometry"], list(props["bbox"]), acquired, properties,
                       collection=product.site_id)
    for prefix, extension in PROPERTY_EXTENSIONS.items():
        if any(k.startswith(prefix) for k in properties):
            extension.add_to(item)
    for f in product.files:
        if f.asset is None:
            continue
        asset = pystac.Asset(f"./{asset_dir}/{f.name}" if asset_dir else f"./{f.name}", title=f.title, media_type=f.media_type, roles=list(f.roles))
        item.add_asset(f.asset, asset)
        file_ext = FileExtension.ext(asset, add_if_missing=True)
        file_ext.size = f.size
        file_ext.checksum = MULTIHASH_SHA256 + f.sha256
        if f.asset in SPECTRAL_BANDS:
            common, centre, width = SPECTRAL_BANDS[f.asset]
            EOExtension.ext(asset, add_if_missing=True).bands = [
                Band.create(name=f.asset, common_name=common, center_wavelength=centre,
                            full_width_half_max=width)]
            RasterExtension.ext(asset, add_if_missing=True).bands = [
                RasterBand.create(data_type=DataType.INT16, nodata=REFLECTANCE_NODATA,
                                  scale=REFLECTANCE_SCALE, offset=0.0, spatial_resolution=properties.get("gsd"))]
        elif f.asset in MASK_ASSETS:
            RasterExtension.ext(asset, add_if_missing=True).bands = [
                RasterBand.create(data_type=DataType.UINT8, spatial_resolution=properties.get("gsd"))]
        elif f.asset == AOT_ASSET:
            RasterExtension.ext(asset, add_if_missing=True).bands = [
                RasterBand.create(data_type=DataType.INT16, nodata=REFLECTANCE_NODATA, scale=AOT_SCALE, offset=0.0,
                                  spatial_resolution=properties.get("gsd"))]
    item.stac_extensions = sorted({*item.stac_extensions, *VERSION_EXTENSIONS})
    _links(item, [("root", "../../catalog.json", "SPOT5 Take5"),
                  ("parent", "../collection.json", product.site_id),
                  ("collection", "../collection.json", product.site_id)])
    return item


def item_json(product: Product, asset_dir: str = "") -> bytes:
    """Canonical JSON of the product's Item (assets in ``asset_dir``, see :func:`build_item`)."""
    return to_json(build_item(product, asset_dir).to_dict(include_self_link=False, transform_hrefs=False))


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def build_collection(site: SiteConfig, items: dict[str, dict], metalinks: tuple[str, ...] = ()) -> pystac.Collection:
    """The site's Collection linking ``items`` (Item dicts by their href relative
    to the collection); extent and summaries come from the items themselves.
    ``metalinks``: the levels whose Metalink is published, added as assets."""
    if not items:
        raise CatalogError(f"collection {site.site_id}: no items")
    bboxes = [d["bbox"] for d in items.values()]
    times = sorted(_parse_time(d["properties"]["datetime"]) for d in items.values())
    bbox = [min(b[0] for b in bboxes), min(b[1] for b in bboxes), max(b[2] for b in bboxes), max(b[3] for b in bboxes)]
    summaries = {
        "platform": sorted({d["properties"].get("platform", "spot-5") for d in items.values()}),
        "constellation": sorted({d["properties"]["constellation"] for d in items.values()
                                 if "constellation" in d["properties"]}),
        "instruments": sorted({i for d in items.values() for i in d["properties"].get("instruments", [])}),
        "gsd": sorted({d["properties"]["gsd"] for d in items.values() if "gsd" in d["properties"]}),
        "proj:code": sorted({d["properties"]["proj:code"] for d in items.values() if "proj:code" in d["properties"]}),
        "eo:bands": [{"name": b, "common_name": c, "center_wavelength": w, "full_width_half_max": fw}
                     for b, (c, w, fw) in SPECTRAL_BANDS.items()],
    }
    collection = pystac.Collection(
        id=site.site_id,
        title=f"SPOT5 Take5 {site.name} ({site.country})",
        description=site.description or f"SPOT5 Take5 products of the site {site.name}, {site.country}: "
        "the images as delivered (L1A), orthorectified top-of-atmosphere (L1C) and surface (L2A) reflectance, "
        "every 5 days in 2015.",
        extent=pystac.Extent(pystac.SpatialExtent([bbox]), pystac.TemporalExtent([[times[0], times[-1]]])),
        license=LICENSE,
        providers=list(PROVIDERS),
        keywords=["SPOT5", "Take5", site.country, *site.tags],
        summaries=pystac.Summaries({k: v for k, v in summaries.items() if v}),
    )
    for level in sorted(metalinks):
        collection.add_asset(f"metalink-{level}", pystac.Asset(
            f"./{layout.metalink_key(site.site_id, level).split('/')[-1]}", media_type=METALINK_MEDIA_TYPE,
            roles=["metadata"], title=f"Metalink 4 of every {level} product of {site.site_id}"))
    EOExtension.add_to(collection)
    ProjectionExtension.add_to(collection)
    collection.stac_extensions.sort()
    _links(collection, [("root", "../catalog.json", "SPOT5 Take5"), ("parent", "../catalog.json", "SPOT5 Take5")])
    _links(collection, [("item", href, d["id"]) for href, d in sorted(items.items())])
    return collection


def collection_json(site: SiteConfig, items: dict[str, dict], metalinks: tuple[str, ...] = ()) -> bytes:
    return to_json(build_collection(site, items, metalinks).to_dict(include_self_link=False, transform_hrefs=False))


def item_links(collection: dict) -> list[str]:
    """Relative hrefs of the Items a Collection document links."""
    return sorted({link["href"] for link in collection.get("links", []) if link.get("rel") == "item"})


def catalog_json(site_ids: list[str]) -> bytes:
    """The root catalog: one child link per site collection."""
    catalog = pystac.Catalog(CATALOG_ID, "SPOT5 Take5 (2015): 150 sites imaged every 5 days, "
                             "Level 1A, 1C and 2A products.", title="SPOT5 Take5")
    _links(catalog, [("root", "./catalog.json", "SPOT5 Take5")])
    _links(catalog, [("child", f"./{layout.collection_key(s)}", s) for s in sorted(set(site_ids))])
    return to_json(catalog.to_dict(include_self_link=False, transform_hrefs=False))


def child_sites(catalog: dict) -> list[str]:
    """Site ids of the collections a root catalog document links."""
    return sorted(link["href"].split("/")[-2] for link in catalog.get("links", [])
                  if link.get("rel") == "child" and link.get("href", "").endswith("/collection.json"))
