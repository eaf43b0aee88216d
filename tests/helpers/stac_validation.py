"""Offline STAC validation for the tests: pystac's validator with local schemas.

pystac packages the core STAC schemas; the extension schemas it would fetch
from the network are vendored in ``tests/stac_schemas/`` (see its README).
Any schema that is neither fails instead of reaching for the network.
"""

from __future__ import annotations

import json
from pathlib import Path

from pystac.validation import JsonSchemaSTACValidator, validate_dict

SCHEMAS = Path(__file__).parent / "stac_schemas"


class OfflineValidator(JsonSchemaSTACValidator):
    """JSON-schema validation that never touches the network."""

    def __init__(self) -> None:
        super().__init__()
        for path in sorted(SCHEMAS.glob("*.json")):
            schema = json.loads(path.read_text())
            self.schema_cache[schema["$id"].rstrip("#")] = schema

    def _get_schema(self, schema_uri: str) -> dict:
        if schema_uri not in self.schema_cache:
            raise AssertionError(f"no local schema for {schema_uri} (vendor it in {SCHEMAS})")
        return self.schema_cache[schema_uri]


VALIDATOR = OfflineValidator()


def validate(doc: dict) -> list[str]:
    """Validate one STAC document (core + every extension it declares); return the schema URIs used."""
    return validate_dict(doc, validator=VALIDATOR)


def validate_tree(read, key: str = "catalog.json") -> dict[str, dict]:
    """Walk a catalog from ``key`` through child and item links, validating every document.

    ``read(key) -> bytes`` reads one object; returns every document by key.
    """
    seen: dict[str, dict] = {}
    todo = [key]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        doc = json.loads(read(key))
        validate(doc)
        seen[key] = doc
        base = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        for link in doc.get("links", []):
            if link["rel"] in ("child", "item"):
                todo.append(_join(base, link["href"]))
            elif link["rel"] in ("root", "parent", "collection"):
                read(_join(base, link["href"]))  # the target exists
    return seen


def _join(base: str, href: str) -> str:
    assert not href.startswith(("/", "http:", "https:", "s3:")), f"absolute href {href}"
    parts = [p for p in (base + href).split("/") if p not in ("", ".")]
    out: list[str] = []
    for p in parts:
        if p == "..":
            assert out, f"href {href} escapes the catalog"
            out.pop()
        else:
            out.append(p)
    return "/".join(out)

