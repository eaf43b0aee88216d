"""Benchmark: replay of a full site's L2A series, 30 full-size dates, initialization included.

The series is made of the two full-size L1C products of ``bench_l2a`` (two
simulated 6000 x 6000 scenes on the 6600 x 6600 grid), re-dated every 5 days
alternately (name, ``_MTD.json`` acquisition time and manifest): simulating 30
full scenes would take over an hour and the processing time does not depend on
the date. The products go to a local work bucket (``LocalStore``); the whole
chain (``take5_ops.l2a.chain.run_l2a``: 6 backward + 30 forward steps with a
checkpoint each, downloads and uploads included) runs in a fresh process, timed.
``python bench/bench_l2a_replay.py [--work DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_l1c
import bench_l2a

DATES = 30
CHILD = """
import json, resource, sys, time
from take5_ops.l2a.chain import run_l2a
from take5_ops.siteconfig import load_site_config
from take5_ops.storage import LocalStore
site = load_site_config(sys.argv[1])
work, aux, dist = (LocalStore(p) for p in sys.argv[2:5])
t = time.perf_counter()
done = run_l2a(work, aux, dist, site)
print(json.dumps({"seconds": time.perf_counter() - t, "processed": done["processed"],
                  "products": len(done["to_publish"]), "skipped": len(done["skipped"]),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def redate(src: Path, when: datetime, root: Path):
    """A copy of the L1C folder ``src`` acquired at ``when`` (files hard-linked, MTD and manifest rewritten)."""
    from take5_ops.naming import ProductId, parse_product_name
    from take5_ops.products.product import MANIFEST, Product, ProductFile

    old = Product.from_json((src / MANIFEST).read_bytes())
    pid = parse_product_name(src.name)[0]
    new_pid = ProductId(when, pid.instrument, pid.site_id)
    name = new_pid.product_name("L1C")
    folder = root / name
    folder.mkdir(parents=True)
    stamp = f"{old.acquired:%Y-%m-%dT%H:%M:%SZ}"
    files = []
    for f in old.files:
        target = folder / f.name.replace(old.name, name)
        if f.name.endswith("_MTD.json"):
            text = (src / f.name).read_text().replace(old.name, name).replace(str(pid), str(new_pid))
            target.write_text(text.replace(stamp, f"{when:%Y-%m-%dT%H:%M:%SZ}"))
        else:
            os.link(src / f.name, target)
        files.append(ProductFile.from_path(target, f.asset, f.media_type, f.roles, f.title))
    product = Product(name, "L1C", old.site_id, str(new_pid), when, files, dict(old.properties))
    product.write_manifest(folder)
    return product, folder


def prepare(site_path: Path, work: Path) -> tuple[Path, Path, Path]:
    """The local buckets (work with 30 L1C products, aux with the DEM, an empty dist)."""
    from take5_ops.products.workspace import upload_product
    from take5_ops.storage import LocalStore

    sources = bench_l2a.prepare(site_path, work)
    buckets = work / "replay"
    shutil.rmtree(buckets, ignore_errors=True)
    store = LocalStore(buckets / "work")
    first = bench_l2a.DATES[0]
    site_id = site_path.stem
    for i in range(DATES):
        product, folder = redate(sources[i % 2], first + timedelta(days=5 * i), buckets / "l1c")
        upload_product(store, product, folder)
    (buckets / "aux" / site_id).mkdir(parents=True)
    shutil.copy(work / "sim" / "aux" / site_id / "DEM.tif", buckets / "aux" / site_id / "DEM.tif")
    (buckets / "dist").mkdir()
    return buckets / "work", buckets / "aux", buckets / "dist"


def run(site: str = "FrancePornic", work: Path | None = None) -> list[dict]:
    """Prepare the series (reusing ``bench_l2a``'s inputs in ``work``), time the replay, return the rows."""
    site_path = bench_l2a.ROOT / "include" / "site_configs" / f"{site}.yaml"
    work = Path(work or tempfile.mkdtemp(prefix="bench-l2a-"))
    stores = prepare(site_path, work)
    out = subprocess.run([sys.executable, "-c", CHILD, str(site_path), *map(str, stores)],
                         check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    minutes = r["seconds"] / 60
    return [
        {"measure": f"replay of a full site: {DATES} full-size dates, {r['processed']} steps (backward "
                    f"initialization + forward), checkpoints and transfers included",
         "value": f"{minutes:.1f} min ({r['seconds'] / r['processed']:.1f} s a step), {r['products']} products",
         "target": "measured and reported",
         "comparison": f"{DATES} × 120 s = {DATES * 2} min of L2A processing alone in 2015",
         "ok": r["processed"] > DATES and r["skipped"] == 0},
        {"measure": "replay peak memory (ru_maxrss)", "value": f"{r['peak_mb']:.0f} MB", "target": "≤ 3 GB",
         "comparison": "", "ok": r["peak_mb"] <= 3072},
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default="FrancePornic")
    parser.add_argument("--work", type=Path, help="folder kept between runs (the inputs are reused)")
    args = parser.parse_args()
    print(bench_l1c.table(run(args.site, args.work)))
