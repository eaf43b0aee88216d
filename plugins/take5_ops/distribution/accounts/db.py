"""The accounts database: PostgreSQL, schema ``accounts`` (its own database in the stack:
``take5_accounts``). Tables: ``account``, ``token``, ``orders`` and ``order_line`` (one per site and
level of an order: the download statistics). :class:`AccountsDB` holds a small connection pool;
every method is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS accounts;
CREATE TABLE IF NOT EXISTS accounts.account (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    licence_version text,
    licence_accepted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);
CREATE TABLE IF NOT EXISTS accounts.token (
    id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts.account (id) ON DELETE CASCADE,
    name text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    last_used_at timestamptz
);
CREATE TABLE IF NOT EXISTS accounts.orders (
    id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts.account (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    via text NOT NULL,
    products integer NOT NULL,
    files integer NOT NULL,
    bytes bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts.order_line (
    order_id bigint NOT NULL REFERENCES accounts.orders (id) ON DELETE CASCADE,
    site text NOT NULL,
    level text NOT NULL,
    products integer NOT NULL,
    files integer NOT NULL,
    bytes bigint NOT NULL,
    PRIMARY KEY (order_id, site, level)
);
CREATE INDEX IF NOT EXISTS token_account ON accounts.token (account_id);
CREATE INDEX IF NOT EXISTS orders_account ON accounts.orders (account_id);
"""


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    password_hash: str
    licence_version: str | None
    licence_accepted_at: datetime | None
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class Order:
    id: int
    created_at: datetime
    via: str
    products: int
    files: int
    bytes: int


@dataclass(frozen=True)
class OrderLine:
    """One site and level of an order."""

    site: str
    level: str
    products: int
    files: int
    bytes: int


_ACCOUNT = "id, email, password_hash, licence_version, licence_accepted_at, created_at, disabled_at"
_TOKEN = "id, name, created_at, expires_at, revoked_at, last_used_at"


class AccountsDB:
    """The accounts tables over a psycopg2 connection pool (``url``: a libpq URL)."""

    def __init__(self, url: str, max_connections: int = 5):
        from psycopg2.pool import ThreadedConnectionPool

        self.pool = ThreadedConnectionPool(1, max_connections, url, connect_timeout=10)

    def close(self) -> None:
        self.pool.closeall()

    @contextmanager
    def cursor(self) -> Iterator:
        conn = self.pool.getconn()
        try:
            with conn, conn.cursor() as cur:  # commit on success, roll back on error
                yield cur
        finally:
            self.pool.putconn(conn)

    def create_schema(self) -> None:
        with self.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(5105)")  # two servers starting at once
            cur.execute(SCHEMA)

    # -- accounts -------------------------------------------------------------------------------------------------
    def create_account(self, email: str, password_hash: str, licence_version: str) -> Account | None:
        """The new account; ``None`` if the e-mail is taken."""
        with self.cursor() as cur:
            cur.execute(f"INSERT INTO accounts.account (email, password_hash, licence_version, licence_accepted_at) "
                        f"VALUES (%s, %s, %s, now()) ON CONFLICT (email) DO NOTHING RETURNING {_ACCOUNT}",
                        (email, password_hash, licence_version))
            row = cur.fetchone()
        return Account(*row) if row else None

    def account(self, *, id: int | None = None, email: str | None = None) -> Account | None:
        with self.cursor() as cur:
            if id is not None:
                cur.execute(f"SELECT {_ACCOUNT} FROM accounts.account WHERE id = %s", (id,))
            else:
                cur.execute(f"SELECT {_ACCOUNT} FROM accounts.account WHERE email = %s", (email,))
            row = cur.fetchone()
        return Account(*row) if row else None

    def accounts(self) -> list[tuple[Account, int, int]]:
        """Every account with its live token count and its order count."""
        with self.cursor() as cur:
            cur.execute(f"SELECT {', '.join('a.' + c.strip() for c in _ACCOUNT.split(','))}, "
                        "(SELECT count(*) FROM accounts.token t WHERE t.account_id = a.id AND t.revoked_at IS NULL "
                        " AND t.expires_at > now()), "
                        "(SELECT count(*) FROM accounts.orders o WHERE o.account_id = a.id) "
                        "FROM accounts.account a ORDER BY a.email")
            return [(Account(*r[:7]), r[7], r[8]) for r in cur.fetchall()]

    def set_password_hash(self, account_id: int, password_hash: str) -> None:
        with self.cursor() as cur:
            cur.execute("UPDATE accounts.account SET password_hash = %s WHERE id = %s", (password_hash, account_id))

    def accept_licence(self, account_id: int, version: str) -> None:
        with self.cursor() as cur:
            cur.execute("UPDATE accounts.account SET licence_version = %s, licence_accepted_at = now() WHERE id = %s",
                        (version, account_id))

    def set_disabled(self, email: str, disabled: bool) -> bool:
        """Disable (or enable again) an account; its tokens stop working with it. False if no such account."""
        with self.cursor() as cur:
            cur.execute("UPDATE accounts.account SET disabled_at = CASE WHEN %s THEN coalesce(disabled_at, now()) "
                        "END WHERE email = %s", (disabled, email))
            return cur.rowcount == 1

    # -- tokens ---------------------------------------------------------------------------------------------------
    def create_token(self, account_id: int, name: str, token_hash: str, days: int) -> Token:
        with self.cursor() as cur:
            cur.execute(f"INSERT INTO accounts.token (account_id, name, token_hash, expires_at) "
                        f"VALUES (%s, %s, %s, now() + make_interval(days => %s)) RETURNING {_TOKEN}",
                        (account_id, name, token_hash, days))
            return Token(*cur.fetchone())

    def tokens(self, account_id: int) -> list[Token]:
        with self.cursor() as cur:
            cur.execute(f"SELECT {_TOKEN} FROM accounts.token WHERE account_id = %s ORDER BY id", (account_id,))
            return [Token(*r) for r in cur.fetchall()]

    def revoke_token(self, account_id: int, token_id: int) -> bool:
        with self.cursor() as cur:
            cur.execute("UPDATE accounts.token SET revoked_at = coalesce(revoked_at, now()) "
                        "WHERE id = %s AND account_id = %s", (token_id, account_id))
            return cur.rowcount == 1

    def account_of_token(self, token_hash: str) -> Account | None:
        """The account of a live token (not revoked, not expired), noting its use; else ``None``."""
        with self.cursor() as cur:
            cur.execute("UPDATE accounts.token SET last_used_at = now() WHERE token_hash = %s "
                        "AND revoked_at IS NULL AND expires_at > now() RETURNING account_id", (token_hash,))
            row = cur.fetchone()
        return self.account(id=row[0]) if row else None

    # -- orders ---------------------------------------------------------------------------------------------------
    def record_order(self, account_id: int, via: str, lines: list[OrderLine]) -> Order:
        with self.cursor() as cur:
            cur.execute("INSERT INTO accounts.orders (account_id, via, products, files, bytes) "
                        "VALUES (%s, %s, %s, %s, %s) RETURNING id, created_at, via, products, files, bytes",
                        (account_id, via, sum(x.products for x in lines), sum(x.files for x in lines),
                         sum(x.bytes for x in lines)))
            order = Order(*cur.fetchone())
            cur.executemany("INSERT INTO accounts.order_line (order_id, site, level, products, files, bytes) "
                            "VALUES (%s, %s, %s, %s, %s, %s)",
                            [(order.id, x.site, x.level, x.products, x.files, x.bytes) for x in lines])
        return order

    def orders(self, account_id: int, limit: int = 50) -> list[Order]:
        with self.cursor() as cur:
            cur.execute("SELECT id, created_at, via, products, files, bytes FROM accounts.orders "
                        "WHERE account_id = %s ORDER BY id DESC LIMIT %s", (account_id, limit))
            return [Order(*r) for r in cur.fetchall()]

    def totals(self) -> list[tuple[str, str, int, int, int, int]]:
        """Per site and level: orders, products, files and bytes ordered (every account)."""
        with self.cursor() as cur:
            cur.execute("SELECT site, level, count(DISTINCT order_id), sum(products), sum(files), sum(bytes) "
                        "FROM accounts.order_line GROUP BY site, level ORDER BY site, level")
            return [(s, lv, int(o), int(p), int(f), int(b)) for s, lv, o, p, f, b in cur.fetchall()]
