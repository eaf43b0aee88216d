"""``METADATA.DIM``: the DIMAP 1.1 ``SPOTSCENE_1A`` document of an L1A product.

:func:`read_dimap` reads the elements listed in the delivery contract
(section 5) from untrusted bytes, without DTDs, entities or network access,
and names the missing or bad element in its error. :func:`write_dimap` writes
the same elements (the simulator uses it).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from take5_ops.errors import MetadataError

BANDS = ("XS1", "XS2", "XS3", "SWIR")
SOURCE = "Dataset_Sources/Source_Information/Scene_Source"


@dataclass(frozen=True)
class FramePoint:
    lon: float
    lat: float
    row: float
    col: float


@dataclass(frozen=True)
class BandInfo:
    """One ``Spectral_Band_Info`` plus the band's solar irradiance."""

    index: int  # 1-based TIFF band
    name: str  # XS1, XS2, XS3 or SWIR
    unit: str
    gain: float
    bias: float
    solar_irradiance: float  # W m-2 µm-1


@dataclass(frozen=True)
class L1AMetadata:
    dataset_name: str
    vertices: tuple[FramePoint, ...]  # four corners
    center: FramePoint
    orientation: float  # degrees clockwise from north of the image "up"
    ncols: int
    nrows: int
    grid_reference: str  # KKKJJJ
    shift_value: int
    acquired: datetime  # UTC
    instrument: int  # 1 or 2
    incidence_angle: float  # signed, degrees
    viewing_angle: float
    sun_azimuth: float
    sun_elevation: float
    bands: dict[str, BandInfo] = field(default_factory=dict)  # by name

    @property
    def view_zenith(self) -> float:
        """|INCIDENCE_ANGLE|, degrees (contract section 6)."""
        return abs(self.incidence_angle)

    @property
    def view_azimuth(self) -> float:
        """Degrees from north, 0..360 (contract section 6)."""
        delta = 90.0 if self.incidence_angle >= 0 else -90.0
        return (self.orientation + delta) % 360.0

    @property
    def sun_zenith(self) -> float:
        return 90.0 - self.sun_elevation


def _text(root, path: str, source: str) -> str:
    el = root.find(path)
    if el is None or el.text is None or not el.text.strip():
        raise MetadataError(f"{source}: missing element {path}")
    return el.text.strip()


def _num(root, path: str, source: str, kind=float):
    text = _text(root, path, source)
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise MetadataError(f"{source}: element {path}: {text!r} is not a valid {kind.__name__}")
    return value


def _point(el, path: str, source: str) -> FramePoint:
    return FramePoint(
        *(_num(el, tag, f"{source}: {path}") for tag in ("FRAME_LON", "FRAME_LAT", "FRAME_ROW", "FRAME_COL"))
    )


def _expect(root, path: str, expected: str, source: str) -> None:
    value = _text(root, path, source)
    if value != expected:
        raise MetadataError(f"{source}: element {path} is {value!r}, expected {expected!r}")


def read_dimap(data: bytes, source: str = "METADATA.DIM") -> L1AMetadata:
    """Parse a ``METADATA.DIM`` document; ``source`` names it in error messages."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise MetadataError(f"{source}: forbidden XML construct ({type(exc).__name__})") from None
    except (ET.ParseError, ValueError, LookupError) as exc:  # ValueError, LookupError: an encoding expat lacks
        raise MetadataError(f"{source}: not well-formed XML ({exc})") from None
    if root.tag != "Dimap_Document":
        raise MetadataError(f"{source}: root element is {root.tag!r}, expected 'Dimap_Document'")
    fmt = root.find("Metadata_Id/METADATA_FORMAT")
    _expect(root, "Metadata_Id/METADATA_FORMAT", "DIMAP", source)
    if fmt.get("version") != "1.1":
        raise MetadataError(f"{source}: element Metadata_Id/METADATA_FORMAT@version is {fmt.get('version')!r}, expected '1.1'")
    _expect(root, "Metadata_Id/METADATA_PROFILE", "SPOTSCENE_1A", source)

    vertices = tuple(_point(v, "Dataset_Frame/Vertex", source) for v in root.findall("Dataset_Frame/Vertex"))
    if len(vertices) != 4:
        raise MetadataError(f"{source}: element Dataset_Frame/Vertex: {len(vertices)} found, expected 4")
    center_el = root.find("Dataset_Frame/Scene_Center")
    if center_el is None:
        raise MetadataError(f"{source}: missing element Dataset_Frame/Scene_Center")

    nbands = _num(root, "Raster_Dimensions/NBANDS", source, int)
    if nbands != 4:
        raise MetadataError(f"{source}: element Raster_Dimensions/NBANDS is {nbands}, expected 4")
    _expect(root, "Raster_Encoding/NBITS", "8", source)
    _expect(root, "Raster_Encoding/DATA_TYPE", "UNSIGNED", source)
    href = root.find("Data_Access/Data_File/DATA_FILE_PATH")
    if href is None or href.get("href") != "IMAGERY.TIF":
        raise MetadataError(f"{source}: element Data_Access/Data_File/DATA_FILE_PATH@href must be 'IMAGERY.TIF'")

    _expect(root, f"{SOURCE}/MISSION", "SPOT", source)
    _expect(root, f"{SOURCE}/MISSION_INDEX", "5", source)
    _expect(root, f"{SOURCE}/INSTRUMENT", "HRG", source)
    instrument = _num(root, f"{SOURCE}/INSTRUMENT_INDEX", source, int)
    if instrument not in (1, 2):
        raise MetadataError(f"{source}: element {SOURCE}/INSTRUMENT_INDEX is {instrument}, expected 1 or 2")
    _expect(root, f"{SOURCE}/SENSOR_CODE", "J", source)
    day_text = _text(root, f"{SOURCE}/IMAGING_DATE", source)
    time_text = _text(root, f"{SOURCE}/IMAGING_TIME", source)
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day_text):
        raise MetadataError(f"{source}: element {SOURCE}/IMAGING_DATE is {day_text!r}, expected YYYY-MM-DD")
    if not re.fullmatch(r"[0-9]{2}:[0-9]{2}:[0-9]{2}", time_text):
        raise MetadataError(f"{source}: element {SOURCE}/IMAGING_TIME is {time_text!r}, expected HH:MM:SS")
    try:
        acquired = datetime.strptime(f"{day_text} {time_text}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise MetadataError(f"{source}: element {SOURCE}/IMAGING_DATE or IMAGING_TIME: impossible {day_text!r} {time_text!r}") from None
    grid = _text(root, f"{SOURCE}/GRID_REFERENCE", source)
    if not re.fullmatch(r"[0-9]{6}", grid):
        raise MetadataError(f"{source}: element {SOURCE}/GRID_REFERENCE is {grid!r}, expected KKKJJJ")

    irradiance = {}
    path = "Data_Strip/Sensor_Calibration/Solar_Irradiance/Band_Solar_Irradiance"
    for el in root.findall(path):
        index = _num(el, "BAND_INDEX", f"{source}: {path}", int)
        value = _num(el, "SOLAR_IRRADIANCE_VALUE", f"{source}: {path}")
        if index in irradiance or value <= 0:
            raise MetadataError(f"{source}: element {path}: repeated BAND_INDEX {index} or non-positive value {value}")
        irradiance[index] = value
    bands: dict[str, BandInfo] = {}
    path = "Image_Interpretation/Spectral_Band_Info"
    for el in root.findall(path):
        where = f"{source}: {path}"
        index = _num(el, "BAND_INDEX", where, int)
        name = _text(el, "BAND_DESCRIPTION", where)
        if name not in BANDS:
            raise MetadataError(f"{where}/BAND_DESCRIPTION: unknown band {name!r}")
        if name in bands:
            raise MetadataError(f"{where}/BAND_DESCRIPTION: band {name} given twice")
        if not 1 <= index <= 4 or any(b.index == index for b in bands.values()):
            raise MetadataError(f"{where}/BAND_INDEX: bad or repeated index {index} for {name}")
        if index not in irradiance:
            raise MetadataError(f"{source}: missing element Band_Solar_Irradiance for BAND_INDEX {index}")
        gain = _num(el, "PHYSICAL_GAIN", where)
        if gain <= 0:
            raise MetadataError(f"{where}/PHYSICAL_GAIN: must be positive, got {gain}")
        bands[name] = BandInfo(index, name, _text(el, "PHYSICAL_UNIT", where), gain,
                               _num(el, "PHYSICAL_BIAS", where), irradiance[index])
    if set(bands) != set(BANDS):
        raise MetadataError(f"{source}: element {path}: bands {sorted(bands)} found, expected {list(BANDS)}")

    sun_elevation = _num(root, f"{SOURCE}/SUN_ELEVATION", source)
    if not 0 < sun_elevation <= 90:
        raise MetadataError(f"{source}: element {SOURCE}/SUN_ELEVATION is {sun_elevation}, expected 0..90")
    ncols = _num(root, "Raster_Dimensions/NCOLS", source, int)
    nrows = _num(root, "Raster_Dimensions/NROWS", source, int)
    if ncols <= 0 or nrows <= 0:
        raise MetadataError(f"{source}: element Raster_Dimensions/NCOLS, NROWS: {ncols} x {nrows} is not a size")
    return L1AMetadata(
        dataset_name=_text(root, "Dataset_Id/DATASET_NAME", source),
        vertices=vertices,
        center=_point(center_el, "Dataset_Frame/Scene_Center", source),
        orientation=_num(root, "Dataset_Frame/SCENE_ORIENTATION", source),
        ncols=ncols,
        nrows=nrows,
        grid_reference=grid,
        shift_value=_num(root, f"{SOURCE}/SHIFT_VALUE", source, int),
        acquired=acquired,
        instrument=instrument,
        incidence_angle=_num(root, f"{SOURCE}/INCIDENCE_ANGLE", source),
        viewing_angle=_num(root, f"{SOURCE}/VIEWING_ANGLE", source),
        sun_azimuth=_num(root, f"{SOURCE}/SUN_AZIMUTH", source),
        sun_elevation=sun_elevation,
        bands=bands,
    )


def _sub(parent, tag: str, text=None, **attrib):
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = str(text)
    return el


def _write_point(parent, tag: str, p: FramePoint):
    el = _sub(parent, tag)
    for name, value in (("FRAME_LON", p.lon), ("FRAME_LAT", p.lat), ("FRAME_ROW", p.row), ("FRAME_COL", p.col)):
        _sub(el, name, repr(float(value)))


def write_dimap(meta: L1AMetadata, band_order: tuple[str, ...] = ("XS3", "XS2", "XS1", "SWIR")) -> bytes:
    """Serialise ``meta`` as a DIMAP 1.1 ``SPOTSCENE_1A`` document (UTF-8 bytes).

    ``band_order`` only orders the ``Spectral_Band_Info`` elements; each band
    keeps its own ``BAND_INDEX``.
    """
    root = ET.Element("Dimap_Document", {"name": "METADATA.DIM"})
    mid = _sub(root, "Metadata_Id")
    _sub(mid, "METADATA_FORMAT", "DIMAP", version="1.1")
    _sub(mid, "METADATA_PROFILE", "SPOTSCENE_1A")
    _sub(_sub(root, "Dataset_Id"), "DATASET_NAME", meta.dataset_name)
    frame = _sub(root, "Dataset_Frame")
    for v in meta.vertices:
        _write_point(frame, "Vertex", v)
    _write_point(frame, "Scene_Center", meta.center)
    _sub(frame, "SCENE_ORIENTATION", repr(float(meta.orientation)))
    dims = _sub(root, "Raster_Dimensions")
    _sub(dims, "NCOLS", meta.ncols)
    _sub(dims, "NROWS", meta.nrows)
    _sub(dims, "NBANDS", 4)
    enc = _sub(root, "Raster_Encoding")
    _sub(enc, "NBITS", 8)
    _sub(enc, "DATA_TYPE", "UNSIGNED")
    _sub(_sub(_sub(root, "Data_Access"), "Data_File"), "DATA_FILE_PATH", href="IMAGERY.TIF")
    src = _sub(_sub(_sub(root, "Dataset_Sources"), "Source_Information"), "Scene_Source")
    for tag, value in (
        ("GRID_REFERENCE", meta.grid_reference),
        ("SHIFT_VALUE", meta.shift_value),
        ("IMAGING_DATE", meta.acquired.strftime("%Y-%m-%d")),
        ("IMAGING_TIME", meta.acquired.strftime("%H:%M:%S")),
        ("MISSION", "SPOT"),
        ("MISSION_INDEX", 5),
        ("INSTRUMENT", "HRG"),
        ("INSTRUMENT_INDEX", meta.instrument),
        ("SENSOR_CODE", "J"),
        ("INCIDENCE_ANGLE", repr(float(meta.incidence_angle))),
        ("VIEWING_ANGLE", repr(float(meta.viewing_angle))),
        ("SUN_AZIMUTH", repr(float(meta.sun_azimuth))),
        ("SUN_ELEVATION", repr(float(meta.sun_elevation))),
    ):
        _sub(src, tag, value)
    interp = _sub(root, "Image_Interpretation")
    for name in band_order:
        b = meta.bands[name]
        el = _sub(interp, "Spectral_Band_Info")
        _sub(el, "BAND_INDEX", b.index)
        _sub(el, "BAND_DESCRIPTION", b.name)
        _sub(el, "PHYSICAL_UNIT", b.unit)
        _sub(el, "PHYSICAL_GAIN", repr(float(b.gain)))
        _sub(el, "PHYSICAL_BIAS", repr(float(b.bias)))
    irr = _sub(_sub(_sub(root, "Data_Strip"), "Sensor_Calibration"), "Solar_Irradiance")
    for name in band_order:
        b = meta.bands[name]
        el = _sub(irr, "Band_Solar_Irradiance")
        _sub(el, "BAND_INDEX", b.index)
        _sub(el, "SOLAR_IRRADIANCE_VALUE", repr(float(b.solar_irradiance)))
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode()
