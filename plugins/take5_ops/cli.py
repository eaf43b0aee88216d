"""The ``take5`` command line: ``take5 --help`` lists every command.

Each command lives in its own module of :mod:`take5_ops.commands` and exposes
``register(subparsers)``; heavy imports happen inside the command, so that
``take5 --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMAND_MODULES = (
    "take5_ops.commands.simulate",
    "take5_ops.commands.run_site",
    "take5_ops.commands.validate_configs",
    "take5_ops.commands.deliver",
    "take5_ops.commands.reprocess",
    "take5_ops.commands.reprocess_versions",
    "take5_ops.commands.search",
    "take5_ops.commands.cart",
    "take5_ops.commands.withdraw",
    "take5_ops.commands.validate_l2a",
    "take5_ops.commands.audit",
    "take5_ops.commands.accounts",
    "take5_ops.commands.api_sync",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="take5", description="SPOT5 Take5 production chain.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("botocore", "boto3", "s3transfer", "urllib3", "rasterio"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear message, not a traceback, for expected errors
        if args.verbose:
            raise
        print(f"take5 {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
