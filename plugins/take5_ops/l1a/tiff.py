"""The structure of ``IMAGERY.TIF`` without decoding it: header, first IFD, strips or tiles.

:func:`check_tiff` reads the first image file directory of a classic TIFF
or BigTIFF and checks that it describes 4 bands of 8-bit unsigned samples of
the expected size, and that every strip or tile (offset + byte count) lies
inside the file: a truncated file is named as such. It reads a few KB, never
the pixels.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

from take5_ops.errors import TiffStructureError

WIDTH, LENGTH, BITS, COMPRESSION, STRIP_OFFSETS, SAMPLES, ROWS_PER_STRIP, STRIP_COUNTS = (
    256, 257, 258, 259, 273, 277, 278, 279)
PLANAR, TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_COUNTS, SAMPLE_FORMAT = 284, 322, 323, 324, 325, 339
MAX_BLOCKS = 10_000_000
_FORMATS = {1: "uint", 2: "int", 3: "float"}  # SampleFormat
_TYPES = {1: "B", 3: "H", 4: "I", 16: "Q"}  # BYTE, SHORT, LONG, LONG8: the types of the tags read here


def _tags(f, size: int) -> dict[int, tuple[int, ...]]:
    """The numeric tags of the first IFD of the open file ``f`` of ``size`` bytes."""
    head = f.read(16)
    if len(head) < 8 or head[:2] not in (b"II", b"MM"):
        raise TiffStructureError("not a readable GeoTIFF: no TIFF header (II or MM)")
    order = "<" if head[:2] == b"II" else ">"
    version = struct.unpack(order + "H", head[2:4])[0]
    if version == 42:
        ifd, count_fmt, entry_fmt, entry_size, inline = struct.unpack(order + "I", head[4:8])[0], "H", "HHI", 12, 4
    elif version == 43 and len(head) == 16:
        ifd, count_fmt, entry_fmt, entry_size, inline = struct.unpack(order + "Q", head[8:16])[0], "Q", "HHQ", 20, 8
    else:
        raise TiffStructureError(f"not a readable GeoTIFF: TIFF version {version}, expected 42 or 43 (BigTIFF)")
    if ifd < 8 or ifd >= size:
        raise TiffStructureError(f"not a readable GeoTIFF: its image directory (offset {ifd}) is past the end of "
                                 f"the file ({size} bytes): truncated, or not a TIFF")
    f.seek(ifd)
    raw = f.read(struct.calcsize(count_fmt))
    n = struct.unpack(order + count_fmt, raw)[0] if len(raw) == struct.calcsize(count_fmt) else 0
    entries = f.read(n * entry_size)
    if n == 0 or len(entries) < n * entry_size:
        raise TiffStructureError(f"not a readable GeoTIFF: truncated: its image directory (offset {ifd}) ends past "
                                 f"the end of the file ({size} bytes)")
    tags = {}
    for i in range(n):
        entry = entries[i * entry_size:(i + 1) * entry_size]
        tag, kind, count = struct.unpack(order + entry_fmt, entry[:entry_size - inline])
        if kind not in _TYPES or count > MAX_BLOCKS:
            continue
        nbytes = count * struct.calcsize(_TYPES[kind])
        if nbytes <= inline:
            data = entry[entry_size - inline:entry_size - inline + nbytes]
        else:
            offset = struct.unpack(order + ("I" if inline == 4 else "Q"), entry[entry_size - inline:])[0]
            if offset + nbytes > size:
                raise TiffStructureError(f"not a readable GeoTIFF: truncated: the values of TIFF tag {tag} end past "
                                         f"the end of the file ({size} bytes)")
            f.seek(offset)
            data = f.read(nbytes)
        tags[tag] = struct.unpack(f"{order}{count}{_TYPES[kind]}", data)
    return tags


def _one(tags: dict, tag: int, name: str, default: int | None = None) -> int:
    values = tags.get(tag)
    if not values:
        if default is None:
            raise TiffStructureError(f"no {name} (TIFF tag {tag})")
        return default
    return values[0]


def _check(tags: dict, size: int, ncols: int, nrows: int) -> None:
    width, length = _one(tags, WIDTH, "ImageWidth"), _one(tags, LENGTH, "ImageLength")
    samples = _one(tags, SAMPLES, "SamplesPerPixel", 1)
    kinds = sorted({f"{_FORMATS.get(fmt, 'unknown')}{bits}"
                    for bits in tags.get(BITS, (1,)) for fmt in tags.get(SAMPLE_FORMAT, (1,))})
    if samples != 4 or kinds != ["uint8"]:
        raise TiffStructureError(f"{samples} bands of {kinds}, expected 4 uint8 bands")
    if (width, length) != (ncols, nrows):
        raise TiffStructureError(f"{width} x {length} pixels, but METADATA.DIM Raster_Dimensions/NCOLS x NROWS "
                                 f"say {ncols} x {nrows}")
    planes = samples if _one(tags, PLANAR, "PlanarConfiguration", 1) == 2 else 1
    if TILE_OFFSETS in tags:
        tw, tl = _one(tags, TILE_WIDTH, "TileWidth"), _one(tags, TILE_LENGTH, "TileLength")
        if tw <= 0 or tl <= 0:
            raise TiffStructureError(f"tile size {tw} x {tl}")
        kind, expected = "tile", math.ceil(width / tw) * math.ceil(length / tl) * planes
        offsets, counts = tags[TILE_OFFSETS], tags.get(TILE_COUNTS, ())
    else:
        rows = min(_one(tags, ROWS_PER_STRIP, "RowsPerStrip", length), length) or 1
        kind, expected = "strip", math.ceil(length / rows) * planes
        offsets, counts = tags.get(STRIP_OFFSETS, ()), tags.get(STRIP_COUNTS, ())
    if len(offsets) != expected or len(counts) != expected:
        raise TiffStructureError(f"{len(offsets)} {kind} offsets and {len(counts)} byte counts, expected {expected}")
    for i, (offset, count) in enumerate(zip(offsets, counts)):
        if count and offset + count > size:
            raise TiffStructureError(f"not a readable GeoTIFF: truncated: {kind} {i} of {expected} (offset {offset}, "
                                     f"{count} bytes) ends past the end of the file ({size} bytes)")


def check_tiff(path: Path, ncols: int, nrows: int, href: str) -> None:
    """Raise :class:`TiffStructureError` naming ``href`` unless the TIFF at ``path`` is 4 bands of uint8 of
    ``ncols`` x ``nrows`` whose strips or tiles all lie inside the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            _check(_tags(f, size), size, ncols, nrows)
    except TiffStructureError as exc:
        raise TiffStructureError(f"{href}: {exc}") from None
    except (OSError, struct.error) as exc:
        raise TiffStructureError(f"{href}: not a readable GeoTIFF ({exc})") from None
