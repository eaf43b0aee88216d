"""Benchmark: L2A of a full-size scene (6600 x 6600 grid), nominal mode (prior state from an earlier date).

Four dates 5 days apart are simulated (6000 x 6000 L1A) and processed to L1C
once, in subprocesses, and kept in ``--work``; each date's L2A makes the next
one's prior state. Timed in fresh subprocesses (wall time, peak RSS): the
second date's L2A with the first as its stack, and the fourth's with the three
before it, as the chain runs in production. :func:`run` returns the rows.
``python bench/bench_l2a.py [--site FrancePornic] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_l1c import table

ROOT = Path(__file__).resolve().parents[1]
DATES = tuple(datetime(2015, 4, 24, 10, 34, 50, tzinfo=UTC) + timedelta(days=5 * k) for k in range(4))

PREPARE = """
import sys
from datetime import datetime
from pathlib import Path
from take5_ops.l1c.processor import process_l1c
from take5_ops.sim import simulate_product
from take5_ops.siteconfig import load_site_config
site, work = load_site_config(sys.argv[1]), Path(sys.argv[3])
folder = simulate_product(site, datetime.fromisoformat(sys.argv[2]), work / "sim", size=6000, truth=False,
                          preview=False, cloud_cover=0.3)
print(process_l1c(folder, work / "sim" / "aux" / site.site_id / "DEM.tif", site, work / "l1c").name)
"""

CHILD = """
import json, resource, sys, time
from pathlib import Path
from take5_ops.l2a import process_date
from take5_ops.siteconfig import load_site_config
site = load_site_config(sys.argv[1])
l1c, dem, prior, state, out = (Path(a) if a != "-" else None for a in sys.argv[2:5] + sys.argv[6:8])
recent = [Path(a) for a in sys.argv[5].split(",") if a != "-"]  # the recent dates, newest first
t, cpu = time.perf_counter(), time.process_time()
r = process_date(l1c, dem, site, prior, recent, state, out)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - cpu, "aot": r.aot,
                  "cloud_cover": r.cloud_cover,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def prepare(site_path: Path, work: Path, count: int = len(DATES)) -> list[Path]:
    """The L1C folders of the first ``count`` dates (made once, reused from ``work``)."""
    out = []
    for when in DATES[:count]:
        done = sorted((work / "l1c").glob(f"*{when:%Y%m%d-%H%M%S}*_L1C_*/manifest.json"))
        if done:
            out.append(done[0].parent)
            continue
        name = subprocess.run([sys.executable, "-c", PREPARE, str(site_path), when.isoformat(), str(work)],
                              check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        out.append(work / "l1c" / name)
    return out


def l2a(site_path: Path, *args, plugins: Path | None = None, prelude: str = "") -> dict:
    """One L2A date in a fresh process (``CHILD``'s arguments); ``plugins``: the library to import first (another
    version of the code), ``prelude``: Python run before it (e.g. a constant changed)."""
    env = {**os.environ, "PYTHONPATH": str(plugins)} if plugins else None
    result = subprocess.run([sys.executable, "-c", prelude + CHILD, str(site_path), *map(str, args)],
                            check=True, capture_output=True, text=True, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(site: str = "FrancePornic", work: Path | None = None) -> list[dict]:
    """Prepare (or reuse) the inputs, time the nominal L2A with one stack date and with the production's three,
    return the benchmark rows."""
    site_path = ROOT / "include" / "site_configs" / f"{site}.yaml"
    work = Path(work or tempfile.mkdtemp(prefix="bench-l2a-"))
    dates = prepare(site_path, work)
    dem = work / "sim" / "aux" / site / "DEM.tif"
    states = [work / f"state-{k + 1}.tif" for k in range(len(dates))]
    if not states[0].is_file():
        l2a(site_path, dates[0], dem, "-", "-", states[0], "-")
    out = work / "l2a"
    r = l2a(site_path, dates[1], dem, states[0], dates[0], states[1], out)
    if not states[2].is_file():
        l2a(site_path, dates[2], dem, states[1], f"{dates[1]},{dates[0]}", states[2], "-")
    r3 = l2a(site_path, dates[3], dem, states[2], ",".join(map(str, dates[2::-1])), states[3], work / "l2a-3")
    return [
        {"measure": "L2A per full scene (6600² grid, nominal: prior state + 1 stack date, 9 COGs + quicklook)",
         "value": f"{r['seconds']:.1f} s", "target": "≤ 40 s", "comparison": "120 s in the 2015 production",
         "ok": r["seconds"] <= 40, "seconds": r["seconds"], "product": product_folder(out)},
        {"measure": "L2A peak memory (ru_maxrss)", "value": f"{r['peak_mb']:.0f} MB", "target": "≤ 3 GB",
         "comparison": f"cloud cover {r['cloud_cover']:.0%}, AOT {r['aot']:.2f}", "ok": r["peak_mb"] <= 3072},
        {"measure": "L2A per full scene as in production: prior state + the 3 recent dates (the 4th date)",
         "value": f"{r3['seconds']:.1f} s, peak {r3['peak_mb']:.0f} MB", "target": "≤ 40 s, ≤ 3 GB",
         "comparison": f"1 stack date: {r['seconds']:.1f} s (same run); cloud cover {r3['cloud_cover']:.0%}, "
                       f"AOT {r3['aot']:.2f}", "ok": r3["seconds"] <= 40 and r3["peak_mb"] <= 3072},
    ]


def product_folder(out: Path) -> Path | None:
    """The L2A product folder written in ``out`` (``None`` when the date was too cloudy)."""
    done = sorted(out.glob("*_L2A_*/manifest.json"))
    return done[-1].parent if done else None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default="FrancePornic")
    parser.add_argument("--work", type=Path, help="folder kept between runs (the inputs are reused)")
    args = parser.parse_args()
    print(table(run(args.site, args.work)))
