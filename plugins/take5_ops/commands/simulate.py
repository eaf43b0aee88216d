"""``take5 simulate``: synthetic campaigns (DEM, L1A deliveries, truth) following the delivery contract."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate L1A deliveries (and their truth) for sites and a date range",
        description="Write <OUT>/aux/<SITE>/DEM.tif, <OUT>/l1a/<SITE>/<PRODUCT_ID>/ deliveries "
        "(DELIVERY.OK last) and <OUT>/truth/<SITE>/<PRODUCT_ID>/ for every acquisition of the "
        "sites between --start and --end (every 5 days on each site's cycle day).",
    )
    p.add_argument("--site-config", type=Path, action="append", default=[], help="a site YAML (repeatable)")
    p.add_argument("--sites-dir", type=Path, help="folder of site YAML files")
    p.add_argument("--sites", help="comma-separated site ids to take from --sites-dir (default: all)")
    p.add_argument("--start", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", type=date.fromisoformat, required=True, help="last day, YYYY-MM-DD (inclusive)")
    p.add_argument("--size", type=int, default=1000, help="L1A pixels per side (6000 = full scene)")
    p.add_argument("--out", type=Path, default=Path("var/sim"), help="output root")
    p.add_argument("--no-truth", dest="truth", action="store_false", help="skip the truth folders")
    p.add_argument("--seed", type=int, default=0, help="variant of the landscape and weather")
    p.add_argument("--burn", type=date.fromisoformat, metavar="DATE",
                   help="add a burnt area near each site centre from DATE on")
    p.set_defaults(func=run)


def _sites(args):
    from take5_ops.siteconfig import load_site_config, load_site_configs

    sites = [load_site_config(p) for p in args.site_config]
    if args.sites_dir:
        configs, errors = load_site_configs(args.sites_dir)
        for path, message in errors.items():
            print(f"skipping {path}: {message}")
        wanted = args.sites.split(",") if args.sites else sorted(configs)
        missing = [s for s in wanted if s not in configs]
        if missing:
            raise ValueError(f"no valid site config in {args.sites_dir} for: {', '.join(missing)}")
        sites += [configs[s] for s in wanted]
    if not sites:
        raise ValueError("give --site-config or --sites-dir")
    return sites


def run(args: argparse.Namespace) -> int:
    from take5_ops.progress import Progress
    from take5_ops.sim import Burn, acquisition_dates, simulate_campaign

    if args.end < args.start:
        raise ValueError(f"--end {args.end} is before --start {args.start}")
    if not 16 <= args.size <= 20000:
        raise ValueError(f"--size {args.size}: expected 16..20000 pixels")
    sites = _sites(args)
    events = {}
    if args.burn:
        for s in sites:
            left, bottom, right, top = s.grid.bounds
            events[s.site_id] = (Burn(args.burn, left + 0.3 * (right - left), bottom + 0.6 * (top - bottom),
                                      0.15 * (right - left)),)
    total = sum(len(acquisition_dates(s, args.start, args.end)) for s in sites)
    with Progress(total, "simulate") as bar:
        folders = simulate_campaign(sites, args.out, args.start, args.end, size=args.size, truth=args.truth,
                                    seed=args.seed, events=events, progress=bar)
    print(f"{len(folders)} deliveries for {len(sites)} sites written under {args.out / 'l1a'}")
    return 0
