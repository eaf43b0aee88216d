"""Read errors of the L1C's input files (``IMAGERY.TIF``, ``METADATA.DIM``, the DEM) as :class:`L1CError`.

GDAL reports a failed read as ``Read failed. See previous exception for
details.``; :func:`reading` names the file and gives GDAL's own reason,
so that the rejection says what is wrong (retrying cannot help).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rasterio.errors import RasterioError

from take5_ops.errors import L1CError


def _reasons(exc: BaseException) -> str:
    """The messages of ``exc`` and of the exceptions it was raised from, innermost first, without GDAL's pointer."""
    seen, chain = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc).replace("See previous exception for details.", "").strip()
        if text:
            chain.append(text)
        exc = exc.__cause__ or exc.__context__
    return "; ".join(reversed(chain)) or "unknown error"


@contextmanager
def reading(path: Path | str, what: str = "read failed") -> Iterator[None]:
    """Turn a rasterio or OS error raised inside into ``L1CError("<path>: <what> (<reasons>)")``."""
    try:
        yield
    except (RasterioError, OSError) as exc:
        raise L1CError(f"{path}: {what} ({_reasons(exc)})") from exc
