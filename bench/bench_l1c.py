"""Benchmark: L1C of a full-size scene (6000 x 6000 L1A onto the 6600 x 6600 site grid).

Side by side in the same run: the L1C processor (wall time, peak memory, in a
subprocess) and Debian's ``gdalwarp`` doing only the RPC + DEM warp of the
same scene onto the same grid. Prints a markdown table; :func:`run` returns
the rows. ``python bench/bench_l1c.py [--site FrancePornic] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACQUIRED = datetime(2015, 4, 29, 11, 0, 11, tzinfo=UTC)

CHILD = """
import json, resource, sys, time
from pathlib import Path
from take5_ops.l1c.processor import process_l1c
from take5_ops.siteconfig import load_site_config
site = load_site_config(sys.argv[1])
t = time.perf_counter()
process_l1c(Path(sys.argv[2]), Path(sys.argv[3]), site, Path(sys.argv[4]))
print(json.dumps({"seconds": time.perf_counter() - t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


SIMULATE = """
import sys
from datetime import datetime
from pathlib import Path
from take5_ops.sim import simulate_product
from take5_ops.siteconfig import load_site_config
print(simulate_product(load_site_config(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), Path(sys.argv[3]),
                       size=6000, truth=False, preview=False))
"""


def simulate(site_path: Path, work: Path) -> tuple[Path, Path]:
    """The full-size delivery and DEM (simulated once in a subprocess, truth off, kept in ``work``).

    A subprocess keeps this process small: a child's peak RSS counts its parent's pages until exec.
    """
    site_id = site_path.stem
    done = sorted((work / "sim" / "l1a" / site_id).glob("*/DELIVERY.OK"))
    if done:
        folder = done[0].parent
    else:
        out = subprocess.run([sys.executable, "-c", SIMULATE, str(site_path), ACQUIRED.isoformat(), str(work / "sim")],
                             check=True, capture_output=True, text=True).stdout
        folder = Path(out.strip().splitlines()[-1])
    return folder, work / "sim" / "aux" / site_id / "DEM.tif"


def time_l1c(site_path: Path, folder: Path, dem: Path, out: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, str(site_path), str(folder), str(dem), str(out)],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def time_gdalwarp(site_path: Path, folder: Path, dem: Path, out: Path) -> dict:
    import yaml

    from take5_ops.siteconfig import Grid

    g = Grid.model_validate(yaml.safe_load(site_path.read_text())["grid"])
    left, bottom, right, top = g.bounds
    cmd = ["gdalwarp", "-q", "-overwrite", "-rpc", "-to", f"RPC_DEM={dem}", "-t_srs", g.crs,
           "-te", str(left), str(bottom), str(right), str(top), "-tr", str(g.resolution), str(g.resolution),
           "-r", "bilinear", "-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", "-multi", "-wo", "NUM_THREADS=2",
           str(folder / "IMAGERY.TIF"), str(out)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def run(site: str = "FrancePornic", work: Path | None = None) -> list[dict]:
    """Simulate (or reuse) the scene, time L1C and gdalwarp, return the benchmark rows."""
    site_path = ROOT / "include" / "site_configs" / f"{site}.yaml"
    work = Path(work or tempfile.mkdtemp(prefix="bench-l1c-"))
    folder, dem = simulate(site_path, work)
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    warp = time_gdalwarp(site_path, folder, dem, work / "gdalwarp.tif")  # first: RUSAGE_CHILDREN is a max
    l1c = time_l1c(site_path, folder, dem, out)
    ratio = l1c["seconds"] / warp["seconds"]
    return [
        {"measure": "L1C per full scene (6000² L1A -> 6600² grid, 6 COGs + quicklook)",
         "value": f"{l1c['seconds']:.1f} s", "target": "≤ 20 s", "comparison": "60 s in the 2015 production",
         "ok": l1c["seconds"] <= 20, "seconds": l1c["seconds"]},
        {"measure": "L1C against gdalwarp (RPC + DEM warp only, bilinear, deflate, 2 threads)",
         "value": f"{ratio:.2f}x", "target": "≤ 1.5x", "comparison": f"gdalwarp {warp['seconds']:.1f} s",
         "ok": ratio <= 1.5},
        {"measure": "L1C peak memory (ru_maxrss)", "value": f"{l1c['peak_mb']:.0f} MB", "target": "≤ 1.5 GB",
         "comparison": f"gdalwarp {warp['peak_mb']:.0f} MB", "ok": l1c["peak_mb"] <= 1536},
    ]


def table(rows: list[dict]) -> str:
    lines = ["| measure | value | target | for comparison |", "|---|---|---|---|"]
    lines += [f"| {r['measure']} | {r['value']} | {r['target']} | {r['comparison']} |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default="FrancePornic")
    parser.add_argument("--work", type=Path, help="folder kept between runs (the simulation is reused)")
    args = parser.parse_args()
    print(table(run(args.site, args.work)))
