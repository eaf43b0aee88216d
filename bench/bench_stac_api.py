#!/usr/bin/env python3
"""STAC API search latency with a full campaign loaded: 150 collections × 60 dates × 3 levels (27 000 Items).

``make bench-api``: starts its own PostgreSQL + PostGIS and STAC API on free ports (``tests/helpers/
stac_api.py``), loads generated Items (shaped like the published ones, no processing) through the same
code as publication (:class:`~take5_ops.distribution.stacapi.StacApiIndex`), then runs the same
searches two ways on the same database: over HTTP with a small asyncio load generator (httpx,
``CONCURRENCY`` requests in flight) and as direct SQL (``pgstac.search(jsonb)``, one at a time). Writes
its own BENCHMARKS.md section.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from report import section_main  # noqa: E402

from helpers.stac_api import StacApiServer  # noqa: E402
from take5_ops.distribution.stacapi import StacApiIndex  # noqa: E402

SITES, DATES, LEVELS = 150, 60, ("L1A", "L1C", "L2A")
CONCURRENCY = 8
REQUESTS = 300  # per search kind over HTTP
SQL_REPEATS = 100  # per search kind in SQL
TITLE = "## STAC API search"
START = datetime(2015, 4, 8, 10, 30, tzinfo=UTC)


def site_id(i: int) -> str:
    return f"BenchSite{i:03d}"


def _box(i: int) -> list[float]:
    lon, lat = -170 + (i * 37) % 340, -60 + (i * 23) % 120
    return [lon, lat, lon + 0.6, lat + 0.6]


def make_item(i: int, day: int, level: str) -> dict:
    w, s, e, n = _box(i)
    when = START + timedelta(days=5 * day, minutes=i % 50)
    name = f"SPOT5-HRG2-XS_{when:%Y%m%d-%H%M%S}-000_{level}_{site_id(i)}_D_V1-0"
    base = f"https://take5.example.org/{site_id(i)}/{name}/v0123456789ab/{name}"
    props = {"datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "take5:level": level, "platform": "spot-5",
             "constellation": "spot", "instruments": ["hrg2"], "gsd": 10.0, "proj:code": "EPSG:32630",
             "view:incidence_angle": 12.3, "take5:l1a_product_id": name.replace(f"_{level}_", "_L1A_")}
    if level == "L2A":
        props["eo:cloud_cover"] = round((i * 7 + day * 13) % 100 + 0.5, 1)
    assets = {b: {"href": f"{base}_{b}.tif", "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                  "roles": ["data"], "file:size": 7_200_000, "file:checksum": "1220" + "ab" * 32}
              for b in ("XS1", "XS2", "XS3", "SWIR", "SAT", "EDG")}
    assets["thumbnail"] = {"href": f"{base}_QKL.jpg", "type": "image/jpeg", "roles": ["thumbnail"]}
    return {"type": "Feature", "stac_version": "1.1.0", "id": name, "collection": site_id(i),
            "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
            "bbox": [w, s, e, n], "properties": props, "assets": assets,
            "links": [{"rel": "alternate", "href": f"{base}.json", "type": "application/json"}],
            "stac_extensions": []}


def make_collection(i: int) -> dict:
    end = START + timedelta(days=5 * DATES)
    return {"type": "Collection", "stac_version": "1.1.0", "id": site_id(i), "description": f"bench site {i}",
            "license": "other", "links": [], "extent": {"spatial": {"bbox": [_box(i)]}, "temporal": {
                "interval": [[START.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")]]}}}


def load(api: StacApiIndex) -> float:
    t0 = time.monotonic()
    for i in range(SITES):
        api.upsert_collection(make_collection(i))
        api.upsert_items([make_item(i, d, lv) for d in range(DATES) for lv in LEVELS])
        if (i + 1) % 25 == 0:
            print(f"loaded {i + 1}/{SITES} collections ({(i + 1) * DATES * len(LEVELS)} Items)", flush=True)
    return time.monotonic() - t0


def searches(rng: random.Random) -> dict[str, callable]:
    """Search bodies by kind; each call draws new values (site, month, box) so no two are alike."""
    def month():
        d = START + timedelta(days=rng.randrange(0, 5 * DATES - 30))
        return f"{d:%Y-%m-%d}T00:00:00Z/{d + timedelta(days=30):%Y-%m-%d}T00:00:00Z"

    def level(lv):
        return {"op": "=", "args": [{"property": "take5:level"}, lv]}

    return {
        "one site, one level, a month": lambda: {"collections": [site_id(rng.randrange(SITES))],
                                                 "filter": level(rng.choice(LEVELS)), "datetime": month(),
                                                 "limit": 100},
        "bbox (20°×20°) + L2A cloud ≤ 20 % (CQL2)": lambda: {
            "bbox": (lambda w, s: [w, s, w + 20, s + 20])(rng.uniform(-170, 150), rng.uniform(-60, 40)),
            "filter": {"op": "and", "args": [level("L2A"), {"op": "<=", "args": [
                {"property": "eo:cloud_cover"}, 20]}]}, "limit": 100},
        "all sites, a month, newest first": lambda: {"datetime": month(), "limit": 100,
                                                     "sortby": [{"field": "properties.datetime", "direction": "desc"}]},
    }


def percentiles(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000, "n": len(values)}


async def http_run(url: str, make_body, n: int, concurrency: int) -> tuple[dict, float, int]:
    import httpx

    latencies, returned = [], 0
    queue = [make_body() for _ in range(n)]

    async def worker(client):
        nonlocal returned
        while queue:
            body = queue.pop()
            t0 = time.perf_counter()
            r = await client.post(f"{url}/search", json=body)
            latencies.append(time.perf_counter() - t0)
            r.raise_for_status()
            returned += len(r.json()["features"])

    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return percentiles(latencies), n / (time.perf_counter() - t0), returned // n


def sql_run(dsn: str, make_body, n: int) -> tuple[dict, int]:
    import psycopg2

    latencies, returned = [], 0
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET search_path TO pgstac, public")
        for _ in range(n):
            body = make_body()
            t0 = time.perf_counter()
            cur.execute("SELECT search(%s::jsonb)", (json.dumps(body),))
            result = cur.fetchone()[0]
            latencies.append(time.perf_counter() - t0)
            returned += len(result["features"])
    conn.close()
    return percentiles(latencies), returned // n


def run() -> dict:
    server = StacApiServer().start()
    try:
        api = StacApiIndex(server.db_url)
        load_s = load(api)
        rows = []
        for kind, make_body in searches(random.Random(5)).items():
            asyncio.run(http_run(server.url, make_body, 20, 2))  # warm the server's pool and pgstac's caches
            one, _, _ = asyncio.run(http_run(server.url, make_body, REQUESTS // 3, 1))
            many, rate, returned = asyncio.run(http_run(server.url, make_body, REQUESTS, CONCURRENCY))
            sql, sql_returned = sql_run(server.db_url, make_body, SQL_REPEATS)
            rows.append({"kind": kind, "api_1": one, "api_c": many, "rate": rate, "sql": sql,
                         "returned": returned, "sql_returned": sql_returned})
            print(f"{kind}: API p95 {many['p95']:.0f} ms at {CONCURRENCY} in flight, {one['p95']:.0f} ms alone; "
                  f"SQL p95 {sql['p95']:.0f} ms", flush=True)
        return {"load_s": load_s, "rows": rows}
    finally:
        server.stop()


def section(result: dict) -> str:
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    n = SITES * DATES * len(LEVELS)
    lines = [TITLE, "",
             f"Written by `make bench-api` on {when} ({os.cpu_count()} cores, shared with the load generator and "
             f"other work). {SITES} collections × {DATES} dates × {len(LEVELS)} levels = {n} Items loaded in "
             f"{result['load_s']:.0f} s through `StacApiIndex.upsert_items` (publication's code).", "",
             f"| search (POST /search, limit 100) | Items returned (mean) | API p50 / p95 / p99, {CONCURRENCY} in "
             "flight (ms) | API requests/s | API p50 / p95, one at a time (ms) | SQL `pgstac.search` p50 / p95 (ms) |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        c, one, sql = r["api_c"], r["api_1"], r["sql"]
        lines.append(f"| {r['kind']} | {r['returned']} | {c['p50']:.0f} / {c['p95']:.0f} / {c['p99']:.0f} | "
                     f"{r['rate']:.1f} | {one['p50']:.0f} / {one['p95']:.0f} | {sql['p50']:.0f} / {sql['p95']:.0f} |")
    lines += ["", f"How: `bench/bench_stac_api.py`. Each request draws its own site, month or box (seeded). The load "
              f"generator is an asyncio client (httpx) keeping {CONCURRENCY} requests in flight for {REQUESTS} "
              f"requests per kind, then {REQUESTS // 3} one at a time; the SQL column runs the same bodies through "
              f"`pgstac.search(jsonb)` over one psycopg2 connection, {SQL_REPEATS} per kind: the difference is "
              "the server's own cost (HTTP, validation, links). One uvicorn worker, 5 database connections."]
    return "\n".join(lines)


def main() -> int:
    return section_main(__doc__, TITLE, lambda: section(run()))


if __name__ == "__main__":
    sys.exit(main())
