"""BENCHMARKS.md sections: how each benchmark writes its own and its command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def write_section(path: Path, title: str, text: str) -> None:
    """Replace the section ``title`` (up to the next ``## ``) of the Markdown file ``path`` by ``text``, or
    add it at the end."""
    old = path.read_text() if path.exists() else ""
    if title in old:
        start = old.index(title)
        end = old.find("\n## ", start + len(title))
        old = old[:start] + old[end + 1:] if end >= 0 else old[:start]
    path.write_text(old.rstrip("\n") + "\n\n" + text + "\n")


def section_main(doc: str, title: str, measure: Callable[[], str]) -> int:
    """The command line of a benchmark with one section: ``--out`` (default BENCHMARKS.md); runs ``measure``
    (which returns the section's Markdown), prints the section and writes it."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BENCHMARKS)
    args = parser.parse_args()
    text = measure()
    print(text)
    write_section(args.out, title, text)
    return 0
