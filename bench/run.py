#!/usr/bin/env python3
"""``make bench``: run every benchmark and write ``BENCHMARKS.md``.

Each benchmark module has ``run() -> list[row]``; a row has ``measure``,
``value``, ``target``, ``comparison`` (a baseline measured in the same run,
or a historical figure) and ``ok``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_l1c  # noqa: E402
import dag_parse  # noqa: E402

METHOD = """How: `bench/bench_l1c.py` simulates one full-size scene (6000 × 6000 L1A,
FrancePornic's 6600 × 6600 grid; the simulation is not timed), runs
`gdalwarp -rpc -to RPC_DEM=… -r bilinear -co TILED=YES -co COMPRESS=DEFLATE
-multi -wo NUM_THREADS=2` on it (GDAL's exact RPC+DEM transformer, as gdalwarp
uses by default with a DEM), then the whole L1C processor in a fresh process
(`ru_maxrss` of the children for the peak memory). `bench/dag_parse.py` sums
the parse durations printed by `airflow dags report` on `dags/`.
"""

SECTIONS = (
    ("Level 1C", bench_l1c.run),
    ("DAG parsing", dag_parse.run),
)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import rasterio

    gdal = subprocess.run(["gdalinfo", "--version"], capture_output=True, text=True).stdout.split(",")[0].strip()
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, "
            f"rasterio {rasterio.__version__} (GDAL {rasterio.__gdal_version__}), Debian gdalwarp: {gdal}")


def render(results: list[tuple[str, list[dict]]]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {machine()}.",
        "Baselines in the \"for comparison\" column were measured in the same run unless they are 2015 figures.",
        "",
    ]
    for title, rows in results:
        lines += [f"## {title}", "", "| measure | value | target | for comparison | met |", "|---|---|---|---|---|"]
        lines += [f"| {r['measure']} | {r['value']} | {r['target']} | {r['comparison']} | "
                  f"{'yes' if r['ok'] else '**no**'} |" for r in rows]
        lines.append("")
    lines.append(METHOD)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    results = []
    for title, run in SECTIONS:
        print(f"benchmark: {title} ...", flush=True)
        results.append((title, run()))
    text = render(results)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
