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
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_l1c
import bench_l2a
import bench_l2a_replay
import bench_publish
import dag_parse

METHOD = """How: `bench/bench_l1c.py` simulates one full-size scene (6000 × 6000 L1A,
FrancePornic's 6600 × 6600 grid; the simulation is not timed), runs
`gdalwarp -rpc -to RPC_DEM=… -r bilinear -co TILED=YES -co COMPRESS=DEFLATE
-multi -wo NUM_THREADS=2` on it (GDAL's exact RPC+DEM transformer, as gdalwarp
uses by default with a DEM), then the whole L1C processor in a fresh process
(`ru_maxrss` of the children for the peak memory). `bench/bench_l2a.py`
simulates four full-size dates 5 days apart and makes their L1C, then times,
in fresh processes, the second date's L2A with the first date's state as its
prior and the first date as its stack (nominal mode), and the fourth date's
with the third's state and the three dates before it (as the chain runs in
production). `bench/bench_l2a_replay.py` replays a whole series of 30
full-size dates through the L2A chain (local buckets; the dates are the two
L1C products re-dated every 5 days). `bench/bench_publish.py` publishes the L2A
product of `bench_l2a` to a moto S3 server and uploads the same files with a
bare boto3 `upload_file` to the same server, alternating, best of 3.
`bench/dag_parse.py` sums the parse durations printed by `airflow dags report`
on `dags/`.
"""


KEPT = "## Task overhead on the embedded stack"  # bench/bench_task_overhead.py's section


def sections(work: Path):
    """(title, rows) of every benchmark, in order: the publication one uses the L2A product and the
    L1C + L2A processing times measured before it."""
    l1c = bench_l1c.run(work=work / "l1c")
    yield "Level 1C", l1c
    l2a = bench_l2a.run(work=work / "l2a")
    yield "Level 2A", l2a + bench_l2a_replay.run(work=work / "l2a")
    yield "Publication", bench_publish.run(work / "publish", processing_seconds=l1c[0]["seconds"] + l2a[0]["seconds"],
                                           product_folder=l2a[0]["product"])
    yield "DAG parsing", dag_parse.run()


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
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {machine()}.",
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
    parser.add_argument("--work", type=Path, help="folder for the benchmarks' inputs, kept and reused "
                        "(default: a temporary folder)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="take5-bench-") as tmp:
        for title, rows in sections(args.work or Path(tmp)):
            print(f"benchmark: {title} done", flush=True)
            results.append((title, rows))
    text = render(results)
    old = args.out.read_text() if args.out.exists() else ""
    if KEPT in old:  # by `make bench-overhead` and `make bench-campaign` (after it), which need whole stacks: kept
        text = text.rstrip("\n") + "\n\n" + old[old.index(KEPT):]
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
