"""Regenerate the package picture of docs/architecture.md from the real imports (grimp).

Every top-level package or module of ``take5_ops`` is a node; an arrow A -> B
means that some module of A imports some module of B. Arrows implied by a
longer path are left out (transitive reduction), so the picture stays
readable; the full rules are the import-linter contracts in pyproject.toml.
Usage: ``python scripts/architecture_graph.py`` rewrites the block between the
``<!-- graph -->`` markers.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
KERNEL = {"errors", "naming", "siteconfig", "times", "geodesy", "progress", "smac"}  # drawn as one node
SKIP = {"__init__"}


def package_edges() -> set[tuple[str, str]]:
    """(importer, imported) between the top-level parts of take5_ops, the kernel as one node."""
    graph = grimp.build_graph("take5_ops")

    def node(module: str) -> str | None:
        top = module.split(".")[1] if "." in module else None
        return "kernel" if top in KERNEL else top

    edges = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = node(importer), node(imported)
            if a and b and a != b and a not in SKIP and b not in SKIP and a != "kernel":
                edges.add((a, b))
    return edges


def reduce(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Drop A -> C when A reaches C through another node."""
    out = {}
    for a, _ in edges:
        out.setdefault(a, set())
    for a, b in edges:
        out[a].add(b)

    def reaches(src: str, dst: str, skip: tuple[str, str]) -> bool:
        seen, todo = set(), [src]
        while todo:
            n = todo.pop()
            for m in out.get(n, ()):
                if (n, m) == skip or m in seen:
                    continue
                if m == dst:
                    return True
                seen.add(m)
                todo.append(m)
        return False

    return {(a, b) for a, b in edges if not reaches(a, b, (a, b))}


def mermaid(edges: set[tuple[str, str]]) -> str:
    lines = ["```mermaid", "flowchart TD"]
    lines += [f"    {a} --> {b}" for a, b in sorted(edges)]
    lines.append(f"    kernel[\"kernel: {' · '.join(sorted(KERNEL))}\"]")
    lines.append("```")
    return "\n".join(lines)


def main() -> None:
    text = DOC.read_text()
    block = "<!-- graph -->\n" + mermaid(reduce(package_edges())) + "\n<!-- /graph -->"
    new = re.sub(r"<!-- graph -->.*?<!-- /graph -->", lambda _: block, text, flags=re.S)
    DOC.write_text(new)
    print(f"{DOC}: {'rewritten' if new != text else 'unchanged'}")


if __name__ == "__main__":
    main()
