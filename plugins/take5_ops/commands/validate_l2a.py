"""``take5 validate-l2a``: the L2A on the hard simulated scenarios, measured against their truth."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "validate-l2a",
        help="run the hard L2A scenarios and write the validation report",
        description="Simulate every scenario of take5_ops.sim.scenarios (or those named), process them to L1C "
        "and L2A, measure them against the truth and write the report (Markdown) and one picture per scenario.",
    )
    p.add_argument("--out", type=Path, default=Path("docs/l2a-validation.md"), help="the report")
    p.add_argument("--images", type=Path, default=Path("docs/img"), help="folder of the pictures")
    p.add_argument("--scenario", action="append", default=[], help="a scenario name (repeatable; default: all)")
    p.add_argument("--work", type=Path, help="working folder kept afterwards (default: a temporary one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from take5_ops.sim import validation
    from take5_ops.sim.scenarios import SCENARIOS

    unknown = [s for s in args.scenario if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="take5-validate-l2a-") as tmp:
        for name in args.scenario or SCENARIOS:
            scenario = SCENARIOS[name]
            entries = validation.run(scenario, (args.work or Path(tmp)) / name)
            results[name] = (scenario, validation.measure(entries))
            show = entries[scenario.show] if "CLM" in entries[scenario.show] else next(e for e in entries if "CLM" in e)
            validation.picture(show, args.images / f"l2a-{name}.png")
            print(f"{name}: " + (", ".join(validation.misses(results[name][1]).values()) or "every target met"))
    images = os.path.relpath(args.images, args.out.parent)
    args.out.write_text(validation.report(results, images), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0
