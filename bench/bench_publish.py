"""Benchmark: publication of a full-size L2A product (6600 x 6600 grid) against a bare boto3 upload.

A product folder with the L2A's files (4 SRE int16 COGs, CLM/MG2/SAT/EDG uint8
COGs, AOT int16 COG, quicklook, metadata; noise-like but spatially correlated
values, so they compress like real scenes) is made once and kept in ``--work``.
A moto S3 server is started by the benchmark; in the same run and on the same
endpoint it times:

- the bare baseline: ``boto3`` ``upload_file`` (default settings) of the same
  files to a bucket;
- the publication: ``pipeline.publish`` (server-side copies to a
  content-version folder, each verified, the Item) and
  ``pipeline.update_catalog`` (collection, Metalinks, pages, catalog), from a
  fresh work bucket into a fresh distribution bucket;
- before it, and reported with it as the whole path: ``pipeline.upload_product``
  (the processors' verified multipart uploads to the work bucket).

Each is run ``--rounds`` times, alternating; the best of each is kept.
``run(processing_seconds=...)`` adds the ratio to the product's L1C + L2A
processing time. ``python bench/bench_publish.py [--work DIR] [--processing-seconds S]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_l1c

from helpers.net import free_port, wait_port

ROOT = Path(__file__).resolve().parents[1]
SITE = "FrancePornic"
ACQUIRED = datetime(2015, 4, 29, 11, 0, 11, tzinfo=UTC)
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
STRIP = 512


def _field(rng: np.random.Generator, rows: int, width: int, base: float, spread: float, noise: float) -> np.ndarray:
    """A strip of a smooth random field (bilinear zoom of a coarse grid) plus pixel noise."""
    coarse = rng.normal(base, spread, (rows // 64 + 2, width // 64 + 2))
    y = np.linspace(0, coarse.shape[0] - 1.001, rows)
    x = np.linspace(0, coarse.shape[1] - 1.001, width)
    y0, x0 = y.astype(int), x.astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy + rng.normal(0, noise, (rows, width))


# file key: (dtype, base, spread, noise, nodata) of the L2A files (docs/l2a-product.md)
RASTERS = {"SRE_XS1": ("int16", 900, 300, 40, -10000), "SRE_XS2": ("int16", 800, 350, 40, -10000),
           "SRE_XS3": ("int16", 2600, 600, 60, -10000), "SRE_SWIR": ("int16", 1900, 450, 50, -10000),
           "AOT": ("int16", 120, 30, 2, -10000), "CLM": ("uint8", 0, 0, 0, None), "MG2": ("uint8", 0, 0, 0, None),
           "SAT": ("uint8", 0, 0, 0, None), "EDG": ("uint8", 0, 0, 0, None)}


def make_product(site, out: Path):
    """Write (once) a full-size L2A product folder; return its :class:`~take5_ops.products.product.Product`."""
    from pyproj import Transformer

    from take5_ops.naming import ProductId
    from take5_ops.products import cog
    from take5_ops.products.product import MANIFEST, Product, ProductFile
    from take5_ops.products.quicklook import write_quicklook

    pid = ProductId(ACQUIRED, 2, site.site_id)
    name = pid.product_name("L2A")
    folder = out / name
    if (folder / MANIFEST).exists():
        return Product.from_json((folder / MANIFEST).read_bytes())
    folder.mkdir(parents=True, exist_ok=True)
    g = site.grid
    transform = g.transform
    rng = np.random.default_rng(5)
    files = []
    for key, (dtype, base, spread, noise, nodata) in RASTERS.items():
        path = folder / f"{name}_{key}.tif"
        with cog.memory_raster(dtype, g.crs, transform, (g.height, g.width), nodata) as mem:
            for row in range(0, g.height, STRIP):
                rows = min(STRIP, g.height - row)
                if dtype == "uint8":  # sparse bit masks: clouds and their shadows in blobs
                    data = (_field(rng, rows, g.width, 0, 1, 0) > 1.2).astype("uint8") * 3
                else:
                    data = np.clip(_field(rng, rows, g.width, base, spread, noise), 1, 15000).astype(dtype)
                mem.write(data, 1, window=((row, row + rows), (0, g.width)))
            cog.write_cog(mem, path, "nearest" if dtype == "uint8" else "average")
        files.append(ProductFile.from_path(path, key, cog.COG_MEDIA_TYPE, ("data",), key))
    qkl = folder / f"{name}_QKL.jpg"
    write_quicklook({b: folder / f"{name}_SRE_{b}.tif" for b in ("XS1", "XS2", "XS3")}, qkl, 0.0001, -10000)
    files.append(ProductFile.from_path(qkl, "thumbnail", "image/jpeg", ("thumbnail",), "Quicklook"))
    mtd = folder / f"{name}_MTD.json"
    mtd.write_text(json.dumps({"name": name, "benchmark": True}, sort_keys=True))
    files.append(ProductFile.from_path(mtd, "metadata", "application/json", ("metadata",), "Product metadata"))
    west, north = g.ulx, g.uly
    east, south = west + g.width * g.resolution, north - g.height * g.resolution
    lon, lat = Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True).transform(
        [west, east, east, west, west], [north, north, south, south, north])
    product = Product(name, "L2A", site.site_id, str(pid), ACQUIRED, files, {
        "geometry": {"type": "Polygon", "coordinates": [[[round(x, 7), round(y, 7)] for x, y in zip(lon, lat)]]},
        "bbox": [min(lon), min(lat), max(lon), max(lat)], "proj:code": g.crs,
        "proj:shape": [g.height, g.width], "proj:transform": list(transform), "eo:cloud_cover": 12.0,
        "take5:delivered_at": "2015-05-04T02:13:00Z"})
    product.write_manifest(folder)
    return product


def _moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    exe = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=proc)
    except RuntimeError:
        proc.terminate()
        raise
    return proc, f"http://127.0.0.1:{port}"


def time_bare(endpoint: str, folder: Path, bucket: str) -> float:
    """boto3 ``upload_file`` (default TransferConfig) of every file of ``folder``."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=bucket)
    t = time.perf_counter()
    for path in sorted(folder.iterdir()):
        client.upload_file(str(path), bucket, f"{SITE}/{folder.name}/{path.name}")
    return time.perf_counter() - t


def time_ours(endpoint: str, site, product, folder: Path, suffix: str) -> tuple[float, float]:
    """Seconds of ``upload_product`` to a fresh work bucket, then of ``publish`` + ``update_catalog`` into a
    fresh distribution bucket (server-side copies, verification, Item, collection, Metalinks, pages)."""
    from take5_ops.pipeline import publish, update_catalog
    from take5_ops.products.workspace import upload_product
    from take5_ops.storage import Buckets, S3Store

    work = S3Store.from_endpoint(f"work-{suffix}", endpoint)
    stores = {role: S3Store(work.client, f"{role}-{suffix}") for role in ("l1a", "aux", "dist")}
    for store in (work, *stores.values()):
        store.client.create_bucket(Bucket=store.bucket)
    buckets = Buckets(work=work, **stores)
    t0 = time.perf_counter()
    upload_product(buckets.work, product, folder)
    t1 = time.perf_counter()
    done = publish(buckets, site, {"product": product.to_dict()})
    update_catalog(buckets, site, [done], [])
    return t1 - t0, time.perf_counter() - t1


def run(work: Path | None = None, rounds: int = 3, processing_seconds: float | None = None,
        product_folder: Path | None = None) -> list[dict]:
    """Time both uploads of a product folder (``product_folder``, e.g. the L2A benchmark's real product,
    else a synthetic full-size one made once in ``work``) on one moto server; return the benchmark rows."""
    from take5_ops.products.product import MANIFEST, Product
    from take5_ops.siteconfig import load_site_config

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.pop("TAKE5_PUBLIC_URL", None)
    site = load_site_config(ROOT / "include" / "site_configs" / f"{SITE}.yaml")
    work = Path(work or tempfile.mkdtemp(prefix="bench-publish-"))
    if product_folder is not None:
        product, folder = Product.from_json((Path(product_folder) / MANIFEST).read_bytes()), Path(product_folder)
    else:
        product = make_product(site, work)
        folder = work / product.name
    size = sum(p.stat().st_size for p in folder.iterdir())
    proc, endpoint = _moto()
    try:
        bare, upload, publish = [], [], []
        for r in range(rounds):
            bare.append(time_bare(endpoint, folder, f"bare-{r}"))
            up, pub = time_ours(endpoint, site, product, folder, str(r))
            upload.append(up)
            publish.append(pub)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    base, best = min(bare), min(publish)
    whole = min(u + p for u, p in zip(upload, publish))
    mb = size / 1e6
    rows = [
        {"measure": f"publish a full-size L2A product ({len(product.files)} files, {mb:.0f} MB): server-side "
                    "copies work -> dist, each verified, Item, collection, Metalinks, pages (moto server)",
         "value": f"{best:.1f} s", "target": "≤ 1.25x bare upload",
         "comparison": f"bare boto3 upload_file of the same files {base:.1f} s ({mb / base:.0f} MB/s)",
         "ok": best <= 1.25 * base},
        {"measure": "publish time against the bare upload of the same bytes", "value": f"{best / base:.2f}x",
         "target": "≤ 1.25x", "comparison": f"best of {rounds} alternating rounds", "ok": best <= 1.25 * base},
        {"measure": "whole path: verified multipart upload to the work bucket + publish, against the bare upload",
         "value": f"{whole / base:.2f}x", "target": "reported (the target is on publication)",
         "comparison": f"upload {min(upload):.1f} s + publish {best:.1f} s; moto copies in Python at upload speed "
                       "(an S3 CopyObject stays inside the server)", "ok": True},
    ]
    if processing_seconds:
        share = best / processing_seconds
        rows.append({"measure": "publish time against the product's L1C + L2A processing time",
                     "value": f"{100 * share:.0f} %", "target": "≤ 25 %",
                     "comparison": f"processing {processing_seconds:.1f} s (in 2015 publication took longer)",
                     "ok": share <= 0.25})
    return rows


def main_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="folder kept between runs (the product is reused)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processing-seconds", type=float, help="the product's L1C + L2A processing time")
    return parser.parse_args()


if __name__ == "__main__":
    args = main_args()
    print(bench_l1c.table(run(args.work, args.rounds, args.processing_seconds)))
