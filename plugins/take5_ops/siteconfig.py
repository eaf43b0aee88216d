"""Site configurations: one YAML file per site in ``include/site_configs/``.

The schema is documented in ``docs/site-config.md``. :func:`load_site_config`
validates one file and raises :class:`SiteConfigError` naming the file and
every bad field; :func:`load_site_configs` loads a folder and keeps the errors
of bad files apart so that the good sites still load.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from take5_ops.errors import SiteConfigError

try:  # the C loader parses 150 files several times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader

SITE_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9]{2,39}$"
Continent = Literal["Africa", "Antarctica", "Asia", "Europe", "North America", "Oceania", "South America"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Center(_Strict):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-84, le=84)


class Grid(_Strict):
    """Output grid of every L1C/L2A of the site: a UTM projection at 10 m."""

    epsg: int
    ulx: float
    uly: float
    width: int = Field(gt=0, le=20000)
    height: int = Field(gt=0, le=20000)
    resolution: float = Field(gt=0)

    @field_validator("epsg")
    @classmethod
    def _utm(cls, v: int) -> int:
        if not (32601 <= v <= 32660 or 32701 <= v <= 32760):
            raise ValueError("must be a WGS84 UTM zone code (32601-32660 north, 32701-32760 south)")
        return v

    @model_validator(mode="after")
    def _on_lattice(self) -> Grid:
        for name in ("ulx", "uly"):
            value = getattr(self, name)
            if abs(value / self.resolution - round(value / self.resolution)) > 1e-6:
                raise ValueError(f"{name}={value} is not on the {self.resolution} m lattice")
        return self

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine coefficients (a, b, c, d, e, f) as rasterio's ``Affine`` takes them."""
        return (self.resolution, 0.0, self.ulx, 0.0, -self.resolution, self.uly)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's projection."""
        return (self.ulx, self.uly - self.height * self.resolution,
                self.ulx + self.width * self.resolution, self.uly)

    @property
    def crs(self) -> str:
        return f"EPSG:{self.epsg}"


class Sla(_Strict):
    delivery_days: int = Field(default=21, gt=0)
    at_risk_days: int = Field(default=14, gt=0)
    contacts: list[EmailStr] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> Sla:
        if self.at_risk_days >= self.delivery_days:
            raise ValueError("at_risk_days must be smaller than delivery_days")
        return self


class L2A(_Strict):
    init_days: int = Field(default=30, gt=0)
    max_gap_days: int = Field(default=45, gt=0)
    default_aot: float = Field(default=0.1, gt=0, le=2)


class SiteConfig(_Strict):
    site_id: str = Field(pattern=SITE_ID_PATTERN)
    name: str = Field(min_length=1)
    country: str = Field(min_length=1)
    continent: Continent | None = None
    center: Center
    grid: Grid
    cycle_day: int = Field(ge=1, le=5)
    first_acquisition: date
    aerosol_model: Literal["CONT", "DES"]
    sla: Sla
    l2a: L2A = L2A()
    description: str | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("name", "country", "description", "tags")
    @classmethod
    def _no_template_markers(cls, v):
        """The config reaches Airflow tasks as templated arguments: Jinja markers would be rendered."""
        for text in v if isinstance(v, list) else [v or ""]:
            if any(marker in text for marker in ("{{", "{%", "{#")):
                raise ValueError("must not contain Jinja template markers ({{, {%, {#)")
        return v


def _format_errors(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{path.name}: field {field}: {err['msg']}")
    return f"invalid site config {path}:\n  " + "\n  ".join(lines)


def parse_site_config(data: dict, path: Path) -> SiteConfig:
    """Validate an already-parsed mapping; ``path`` names the file in errors."""
    if not isinstance(data, dict):
        raise SiteConfigError(f"invalid site config {path}: top level must be a mapping")
    try:
        cfg = SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise SiteConfigError(_format_errors(path, exc)) from None
    if cfg.site_id != path.stem:
        raise SiteConfigError(
            f"invalid site config {path}:\n  {path.name}: field site_id: "
            f"{cfg.site_id!r} must equal the file name {path.stem!r}"
        )
    return cfg


def load_site_config(path: Path | str) -> SiteConfig:
    """Load and validate one site configuration file."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteConfigError(f"invalid site config {path}: cannot read ({exc})") from None
    except yaml.YAMLError as exc:
        raise SiteConfigError(f"invalid site config {path}: not valid YAML ({exc})") from None
    return parse_site_config(data, path)


def load_site_configs(folder: Path | str) -> tuple[dict[str, SiteConfig], dict[Path, str]]:
    """Load every ``*.yaml`` in ``folder``: (configs by site_id, errors by file)."""
    configs: dict[str, SiteConfig] = {}
    errors: dict[Path, str] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            cfg = load_site_config(path)
        except SiteConfigError as exc:
            errors[path] = str(exc)
            continue
        configs[cfg.site_id] = cfg
    return configs, errors
