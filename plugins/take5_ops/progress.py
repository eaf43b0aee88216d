"""A small progress bar for long command-line work (stderr, no dependency)."""

from __future__ import annotations

import sys
import time


class Progress:
    """``with Progress(total, "L1C") as p: ... p.advance(label)``; silent when not a TTY unless forced."""

    def __init__(self, total: int, title: str, stream=None, force: bool = False):
        self.total = max(total, 1)
        self.title = title
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = force or self.stream.isatty()
        self.start = time.monotonic()

    def __enter__(self) -> Progress:
        self._draw("")
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

    def advance(self, label: str = "", step: int = 1) -> None:
        self.done = min(self.done + step, self.total)
        self._draw(label)

    def _draw(self, label: str) -> None:
        elapsed = time.monotonic() - self.start
        width = 30
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        line = f"{self.title} [{bar}] {self.done}/{self.total} {elapsed:5.1f}s {label}"
        if self.enabled:
            self.stream.write("\r" + line[:120].ljust(120))
            self.stream.flush()
        else:
            self.stream.write(line + "\n")
