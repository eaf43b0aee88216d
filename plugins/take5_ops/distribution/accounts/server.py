"""Run the accounts server: ``python -m take5_ops.distribution.accounts.server`` (the stack does,
in accounts mode), on ``TAKE5_ACCOUNTS_HOST``:``TAKE5_ACCOUNTS_PORT`` with :class:`~.settings.Settings`."""

from __future__ import annotations

import logging
import sys

from take5_ops.distribution.accounts.settings import Settings
from take5_ops.errors import InputError


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except (InputError, OSError) as exc:
        print(f"take5 accounts server: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    from take5_ops.distribution.accounts.web import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                proxy_headers=False, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
