#!/usr/bin/env python3
"""A local SMTP server (aiosmtpd) that stores every message it receives as a ``.eml`` file."""

from __future__ import annotations

import argparse
import hashlib
import signal
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class FolderHandler:
    """Writes each message to ``<folder>/<UTC time>-<digest>.eml``."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        name = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + hashlib.sha1(data).hexdigest()[:10]
        (self.folder / f"{name}.eml").write_bytes(data)
        print(f"stored {name}.eml from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}", flush=True)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--folder", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller = Controller(FolderHandler(args.folder), hostname=args.host, port=args.port)
    controller.start()
    print(f"SMTP sink on {args.host}:{args.port}, storing into {args.folder}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
