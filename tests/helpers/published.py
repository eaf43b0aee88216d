"""Published fake products (L1C and L2A) for the distribution tests: real publication through the pipeline."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from helpers.fake_products import SITE, make_product
from take5_ops.pipeline import publish, update_catalog
from take5_ops.products.product import Product
from take5_ops.products.workspace import upload_product
from take5_ops.storage import Buckets


def box(west: float, south: float, east: float, north: float) -> tuple[dict, list[float]]:
    """A footprint (GeoJSON polygon, bbox) of a lon/lat box."""
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}, [west, south, east, north]


def make_level(root: Path, acquired: datetime, level: str = "L1C", cloud: float | None = None,
               value: int = 1000, site_id: str = SITE, footprint: tuple[dict, list[float]] | None = None) -> Product:
    """A fake product folder of ``level`` of ``site_id``, with ``footprint`` (GeoJSON geometry, bbox; e.g.
    :func:`box`) in place of the fake grid's; an L2A one gets ``eo:cloud_cover`` = ``cloud``."""
    product = make_product(root, acquired, value=value, site_id=site_id)
    if footprint is not None:
        product.properties.update(geometry=footprint[0], bbox=footprint[1])
        product.write_manifest(Path(root) / product.name)
    if level == "L1C":
        return product
    name = product.name.replace("_L1C_", f"_{level}_")
    folder = Path(root) / name
    (Path(root) / product.name).rename(folder)
    files = []
    for f in product.files:
        new = f.name.replace(product.name, name)
        (folder / f.name).rename(folder / new)
        files.append(dataclasses.replace(f, name=new))
    (folder / "manifest.json").unlink()
    props = dict(product.properties)
    if cloud is not None:
        props["eo:cloud_cover"] = cloud
    out = Product(name, level, product.site_id, product.product_id, product.acquired, files, props)
    out.write_manifest(folder)
    return out


def publish_all(buckets: Buckets, site, root: Path, specs: list[tuple],
                footprint: tuple[dict, list[float]] | None = None) -> tuple[list[Product], dict]:
    """Make, process-upload and publish products ``(acquired, level, cloud, value)`` of ``site`` (with
    ``footprint``, as :func:`make_level`), then update the catalog."""
    products, published, accepted = [], [], []
    for i, (acquired, level, cloud, value) in enumerate(specs):
        product = make_level(Path(root) / f"p{i}", acquired, level, cloud, value, site.site_id, footprint)
        upload_product(buckets.work, product, Path(root) / f"p{i}" / product.name)
        item = {"product": product.to_dict(), "accepted": None if level == "L1A" else accepted_dict(product)}
        published.append(publish(buckets, site, item))
        if item["accepted"]:
            accepted.append(item["accepted"])
        products.append(product)
    return products, update_catalog(buckets, site, published, accepted)


def accepted_dict(product, etag: str = "etag-1", delivered_at: str = "2015-05-04T02:13:00Z") -> dict:
    """What intake returns for the delivery of ``product`` (Accepted.to_dict())."""
    return {
        "site_id": product.site_id, "product_id": product.product_id, "marker_etag": etag,
        "marker_last_modified": delivered_at, "delivered_at": delivered_at,
        "manifest": {"product_id": product.product_id, "site_id": product.site_id, "delivered_at": delivered_at,
                     "files": [{"name": "METADATA.DIM", "size": 1, "sha256": "0" * 64},
                               {"name": "IMAGERY.TIF", "size": 1, "sha256": "1" * 64}]},
        "acquired": product.acquired.isoformat().replace("+00:00", "Z"), "instrument": 2,
    }
