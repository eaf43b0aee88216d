#!/usr/bin/env python3
"""Page weight of the website with a full campaign: the root page (150 sites) and one site page (60 dates ×
3 levels), loaded in Debian's chromium from a moto S3 server.

``make bench-web``: writes, with publication's own code (``take5_ops.distribution.catalog`` and
``website``), the 150 sites' collections (each linking 60 × 3 Items), ``catalog.json``, the shared
files, the root page and one site's page with its 180 Items into a bucket of a moto server it starts;
opens each page in headless chromium, waits until the map is drawn (root) or the table is filled
(site page), and reads every response the page made (Resource Timing: body bytes, durations). Beside
each byte count: the same bytes gzip-compressed (what a web server or CDN with compression would send;
moto sends them as stored). Writes its own BENCHMARKS.md section.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from report import section_main  # noqa: E402

from helpers.browser import chromium  # noqa: E402
from helpers.net import free_port, wait_port  # noqa: E402
from take5_ops.distribution.access import set_public_read  # noqa: E402
from take5_ops.distribution.catalog import catalog_json, collection_json  # noqa: E402
from take5_ops.distribution.website import write_assets, write_root_page, write_site_page  # noqa: E402
from take5_ops.siteconfig import load_site_configs  # noqa: E402
from take5_ops.storage import S3Store, layout  # noqa: E402

DATES, LEVELS = 60, ("L1A", "L1C", "L2A")
START = datetime(2015, 4, 8, 10, 30, tzinfo=UTC)
TITLE = "## Website page weight"
ASSETS = ("XS1", "XS2", "XS3", "SWIR", "SAT", "EDG", "metadata", "thumbnail")


def make_item(site, day: int, level: str) -> tuple[str, dict]:
    """(href relative to the collection, Item) shaped like a published one (sizes, checksums, quicklook)."""
    when = START + timedelta(days=5 * day)
    name = f"SPOT5-HRG2-XS_{when:%Y%m%d-%H%M%S}-000_{level}_{site.site_id}_D_V1-0"
    lon, lat = site.center.lon, site.center.lat
    w, s, e, n = lon - 0.3, lat - 0.3, lon + 0.3, lat + 0.3
    props = {"datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "take5:level": level, "platform": "spot-5",
             "constellation": "spot", "instruments": ["hrg2"], "gsd": 10.0,
             "take5:l1a_product_id": name.replace(f"_{level}_", "_L1A_")}
    if level == "L2A":
        props["eo:cloud_cover"] = round((day * 13) % 100 + 0.5, 1)
    assets = {a: {"href": f"./v0123456789ab/{name}_{a}.tif", "file:size": 7_200_000 + day,
                  "file:checksum": "1220" + "ab" * 32, "roles": ["data"]} for a in ASSETS}
    assets["thumbnail"] = {"href": f"./v0123456789ab/{name}_QKL.jpg", "type": "image/jpeg", "roles": ["thumbnail"]}
    item = {"type": "Feature", "stac_version": "1.1.0", "id": name, "collection": site.site_id,
            "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
            "bbox": [w, s, e, n], "properties": props, "assets": assets, "links": []}
    return f"./{name}/{name}.json", item


def publish(dist: S3Store, page_site: str) -> list[str]:
    """The campaign's collections, catalog, shared files, root page and ``page_site``'s page; the site ids."""
    import json

    configs, errors = load_site_configs(ROOT / "include" / "site_configs")
    assert not errors, errors
    for k, site in enumerate(sorted(configs.values(), key=lambda s: s.site_id)):
        items = dict(make_item(site, d, lv) for d in range(DATES) for lv in LEVELS)
        dist.put_bytes(layout.collection_key(site.site_id), collection_json(site, items, LEVELS),
                       "application/json")
        if site.site_id == page_site:
            for href, item in items.items():
                dist.put_bytes(layout.site_prefix(site.site_id) + href.removeprefix("./"),
                               json.dumps(item).encode(), "application/json")
        if (k + 1) % 50 == 0:
            print(f"[bench-web] {k + 1}/{len(configs)} collections written", flush=True)
    dist.put_bytes(layout.CATALOG_KEY, catalog_json(list(configs)), "application/json")
    write_assets(dist)
    write_site_page(dist, page_site)
    write_root_page(dist)
    return sorted(configs)


RESOURCES_JS = """() => [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
    .map(e => ({url: e.name, bytes: e.decodedBodySize, kind: e.initiatorType, end: e.responseEnd,
                dcl: e.domContentLoadedEventEnd || null, load: e.loadEventEnd || null}))"""


def measure(context, url: str, ready: str) -> dict:
    """Open ``url``, wait for the selector ``ready``; every response's bytes (raw and gzip) and the timings."""
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    t0 = time.perf_counter()
    page.goto(url, wait_until="load")
    page.wait_for_selector(ready, state="attached", timeout=60_000)
    drawn = time.perf_counter() - t0
    entries = page.evaluate(RESOURCES_JS)
    page.close()
    assert not errors, errors
    rows, missing = [], 0
    for e in entries:
        try:
            with urllib.request.urlopen(e["url"], timeout=30) as r:
                body = r.read()
        except urllib.error.HTTPError:  # the generated Items' quicklooks (not in the bucket)
            missing += 1
            continue
        assert len(body) == e["bytes"], (e["url"], len(body), e["bytes"])
        rows.append({"name": e["url"].rsplit("/", 1)[-1], "bytes": len(body), "gzip": len(gzip.compress(body, 6))})
    nav = entries[0]
    return {"rows": sorted(rows, key=lambda r: -r["bytes"]), "dcl": nav["dcl"] / 1000, "load": nav["load"] / 1000,
            "ready": drawn, "missing": missing}


def run() -> dict:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # moto takes any credentials
        os.environ.setdefault(key, "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    exe = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    profile = Path(tempfile.mkdtemp(prefix="take5-bench-web-"))
    try:
        wait_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        dist = S3Store.from_endpoint("take5-bench-web", endpoint)
        dist.client.create_bucket(Bucket=dist.bucket)
        set_public_read(dist)  # the pages are read anonymously, as users read them
        page_site = "FrancePornic"
        t0 = time.perf_counter()
        sites = publish(dist, page_site)
        written = time.perf_counter() - t0
        base = f"{endpoint}/{dist.bucket}/"
        with chromium(profile) as context:
            pages = {"root page (`index.html`)": measure(context, base + "index.html",
                                                         ".leaflet-overlay-pane path:nth-of-type(150)"),
                     f"site page (`{page_site}/index.html`)": measure(
                         context, base + f"{page_site}/index.html", "#products tbody tr:nth-of-type(180)")}
        return {"sites": len(sites), "written": written, "pages": pages, "load": os.getloadavg()[0]}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)


def _kb(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n >= 10240 else f"{n / 1024:.1f} KiB"


def section(r: dict) -> str:
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [TITLE, "", f"Written by `make bench-web` on {when}. {r['sites']} site collections of {DATES} dates × "
             f"{len(LEVELS)} levels written by publication's code in {r['written']:.0f} s (load average {r['load']:.1f}); pages loaded in Debian's "
             "chromium (headless) from a moto S3 server on the same machine. *gzip*: the same bytes compressed "
             "(level 6), what a server with compression would send (moto sends them as stored).", "",
             "| page | requests | bytes | gzip | DOMContentLoaded | load | drawn (map / table filled) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for title, p in r["pages"].items():
        rows = p["rows"]
        lines.append(f"| {title} | {len(rows)} | {_kb(sum(x['bytes'] for x in rows))} | "
                     f"{_kb(sum(x['gzip'] for x in rows))} | {p['dcl']:.2f} s | {p['load']:.2f} s | {p['ready']:.2f} s |")
    lines += ["", "| page: file | bytes | gzip |", "|---|---:|---:|"]
    for title, p in r["pages"].items():
        for x in p["rows"][:6]:
            lines.append(f"| {title.split(' (')[0]}: `{x['name']}` | {_kb(x['bytes'])} | {_kb(x['gzip'])} |")
    missing = sum(p["missing"] for p in r["pages"].values())
    lines += ["", "How: `bench/bench_web.py` (see its docstring). The generated Items have no quicklook files: "
              f"failed requests ({missing} here) are not counted; the site page loads its quicklooks lazily "
              "(`loading=\"lazy\"`), a real one weighs 20–60 KiB."]
    return "\n".join(lines)


def main() -> int:
    return section_main(__doc__, TITLE, lambda: section(run()))


if __name__ == "__main__":
    sys.exit(main())
