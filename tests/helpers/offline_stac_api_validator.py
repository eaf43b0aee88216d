"""Run ``stac-api-validator`` (its command line, arguments unchanged) without the network.

stac-validator fetches the JSON schemas over HTTPS; here every schema URL is answered from local
copies: the core STAC 1.1.0 and GeoJSON schemas that pystac packages, the extension schemas vendored
in ``tests/helpers/stac_schemas``. Any other URL fails, as it would offline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pystac.validation
import requests

PYSTAC_SCHEMAS = Path(pystac.validation.__file__).parent / "jsonschemas"
LOCAL: dict[str, dict] = {}
for path in sorted((Path(__file__).parent / "stac_schemas").glob("*.json")):
    schema = json.loads(path.read_text())
    LOCAL[schema["$id"].rstrip("#")] = schema


def local_schema(url: str) -> dict:
    url = url.rstrip("#")
    if url in LOCAL:
        return LOCAL[url]
    name = url.rsplit("/", 1)[-1]
    if url.startswith("https://schemas.stacspec.org/v1.1.0/"):
        return json.loads((PYSTAC_SCHEMAS / "stac-spec" / "v1.1.0" / name).read_text())
    if url.startswith("https://geojson.org/schema/"):
        return json.loads((PYSTAC_SCHEMAS / "geojson" / name).read_text())
    raise requests.exceptions.ConnectionError(f"offline: no local copy of {url}")


class _Response:
    def __init__(self, url: str):
        self.data, self.status_code = local_schema(url), 200

    def raise_for_status(self) -> None:
        pass

    def json(self) -> dict:
        return self.data


def main() -> int:
    import stac_validator.utilities as utilities

    real_get = utilities.requests.get

    def get(url, *args, **kwargs):
        if url.startswith(("https://schemas.stacspec.org/", "https://geojson.org/", "https://stac-extensions.")):
            return _Response(url)
        return real_get(url, *args, **kwargs)

    utilities.requests = type("requests", (), {"get": staticmethod(get), "exceptions": requests.exceptions})
    from stac_api_validator.__main__ import main as validator

    return validator()


if __name__ == "__main__":
    sys.exit(main())
