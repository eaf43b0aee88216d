"""Every exception of take5, under one root: :class:`Take5Error`.

Two families below it: :class:`InputError`, an input from outside (a
delivery, a site configuration, an object key, a product file) that is wrong
and that retrying cannot fix; and :class:`StateError`, stored state or a
service that failed, where a rerun may succeed. Messages name the file (or
object) and the field. The built-in bases (``ValueError``, ``RuntimeError``)
stay for callers that catch those.
"""

from __future__ import annotations


class Take5Error(Exception):
    """Root of every take5 error: what ``pipeline`` and the Airflow tasks catch."""


class InputError(Take5Error, ValueError):
    """An input is invalid; retrying cannot help."""


class StateError(Take5Error, RuntimeError):
    """Stored state or a service failed; a rerun may succeed."""


# Inputs
class SiteConfigError(InputError):
    """A site configuration file is invalid; the message names the file and the fields."""


class InvalidProductId(InputError):
    """A name that matches the PRODUCT_ID pattern but holds an impossible date or time."""


class InvalidKey(InputError):
    """A key that could escape its bucket or folder."""


class DeliveryError(InputError):
    """A corrupt delivery; the message names the file and the field."""


class TiffStructureError(DeliveryError):
    """The structure of ``IMAGERY.TIF`` (header, directory, strips or tiles) is wrong; the message says how."""


class MetadataError(InputError):
    """``METADATA.DIM`` is unusable; the message names the element."""


class L1CError(InputError):
    """The L1A or the auxiliary data cannot make an L1C; the message names the file and the field."""


class L2AInputError(InputError):
    """The L1C of the date (or its DEM) is unusable: the chain skips the date; the message names file and field."""


class CatalogError(InputError):
    """A product manifest or a STAC document cannot give a valid STAC object."""


class MetalinkError(InputError):
    """An Item whose assets cannot be listed in a Metalink, or nothing to list."""


class FieldError(InputError):
    """A web input of the accounts server is invalid: ``field`` names it (``cart[2].assets``, ``email``)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


# State
class StoreError(StateError):
    """A store operation failed; the message names the store and the key."""


class StacApiError(StoreError):
    """The STAC API's database (pgstac) failed a read or a write; the message names the database and the object."""


class ChecksumMismatch(StoreError):
    """Bytes read or stored do not have the expected SHA-256 (or size)."""


class SiteAuxError(StateError):
    """A site's auxiliary data (its DEM) is missing: a configuration error."""


class L2AStateError(StateError, ValueError):
    """The prior state file is unusable (unreadable, wrong version, site or grid): replay from an earlier one."""


class PublishError(StateError):
    """A product cannot be published (missing or unverifiable asset, bad manifest)."""
