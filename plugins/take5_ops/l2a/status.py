"""The L2A status document of a site: ``layout.l2a_status_key`` in the work bucket.

Written at the end of every L2A run; read by the dashboard and the operators::

    {"site_id", "gate": "open" | "closed", "message": "L2A gate closed: history 18/30 days since ...",
     "history_days", "init_days", "series_start": "YYYY-MM-DD" | null,
     "dates": {"YYYY-MM-DD": {"outcome": "published" | "too_cloudy" | "skipped" | "waiting",
                              "name": L2A name, "reason": str | null, "cloud_cover": float | null}}}

``waiting``: the date belongs to a series whose gate is still closed.
"""

from __future__ import annotations

import json

from take5_ops.storage import Store, layout, put_if_changed

PUBLISHED, TOO_CLOUDY, SKIPPED, WAITING = "published", "too_cloudy", "skipped", "waiting"


def write_status(work: Store, doc: dict) -> bool:
    """Write the status document (canonical JSON) unless unchanged; True if written."""
    data = (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode()
    return put_if_changed(work, layout.l2a_status_key(doc["site_id"]), data, "application/json")
