"""``take5 accounts``: the operators' side of accounts mode: list the accounts, disable or enable one,
download statistics per site and level (docs/operations.md, "Accounts")."""

from __future__ import annotations

import argparse
import os


def register(sub) -> None:
    p = sub.add_parser(
        "accounts",
        help="list, disable or enable the users' accounts (accounts mode); download statistics",
        description="Work on the accounts database of accounts mode (TAKE5_ACCOUNTS_DB, a PostgreSQL URL; "
        "make run prints it). A disabled account can neither sign in nor use its API tokens; the links of "
        "orders it already made stay valid until they expire (7 days).",
    )
    p.add_argument("--db", default=os.environ.get("TAKE5_ACCOUNTS_DB"),
                   help="PostgreSQL URL of the accounts database (default: $TAKE5_ACCOUNTS_DB)")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="every account: e-mail, state, licence, active tokens, orders")
    actions.add_parser("stats", help="orders, products, files and bytes ordered per site and level")
    for verb in ("disable", "enable"):
        a = actions.add_parser(verb, help=f"{verb} an account")
        a.add_argument("email")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from take5_ops.distribution.accounts.db import AccountsDB

    if not args.db:
        raise ValueError("no accounts database: give --db or set TAKE5_ACCOUNTS_DB")
    db = AccountsDB(args.db, max_connections=1)
    try:
        if args.action == "list":
            rows = db.accounts()
            print(f"{'e-mail':40} {'state':9} {'licence':8} {'tokens':>6} {'orders':>6}  created")
            for account, tokens, orders in rows:
                state = "disabled" if account.disabled_at else "active"
                print(f"{account.email:40} {state:9} {account.licence_version or '-':8} {tokens:6d} {orders:6d}  "
                      f"{account.created_at:%Y-%m-%d}")
            print(f"{len(rows)} account(s)")
        elif args.action == "stats":
            print(f"{'site':32} {'level':5} {'orders':>6} {'products':>8} {'files':>7} {'MB':>10}")
            for site, level, orders, products, files, size in db.totals():
                print(f"{site:32} {level:5} {orders:6d} {products:8d} {files:7d} {size / 1e6:10.1f}")
        else:
            email = args.email.strip().lower()
            if not db.set_disabled(email, args.action == "disable"):
                raise ValueError(f"no account {email}")
            print(f"{email}: {args.action}d")
    finally:
        db.close()
    return 0
