"""``take5 validate-configs``: check every site configuration of a folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("validate-configs", help="validate site configuration files")
    p.add_argument("folder", type=Path, nargs="?", default=Path("include/site_configs"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from take5_ops.siteconfig import load_site_configs

    configs, errors = load_site_configs(args.folder)
    for message in errors.values():
        print(message)
    print(f"{len(configs)} valid, {len(errors)} invalid site configuration(s) in {args.folder}")
    return 1 if errors else 0
