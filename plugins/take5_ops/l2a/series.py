"""A site's L2A time series: segments, the 30-day gate, and the order of the processing steps.

Pure functions of the set of L1C acquisitions, so that the same products in
any delivery order give the same plan:

- a **segment** starts at the first acquisition and again after every gap
  longer than ``l2a.max_gap_days`` (the SLA uses the same rule);
- its **gate** opens once the segment's history spans ``l2a.init_days`` from
  its first acquisition; until then it has no step ("history 18/30 days");
- an open segment is initialized in MAJA's backward mode: the composite is
  built from the **window** (acquisitions up to start + ``init_days``) newest
  to oldest, down to the window's second date; then every date of the segment
  is processed forward, in chronological order, from that composite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from take5_ops.sla.rules import l2a_series_starts

BACKWARD = "backward"
FORWARD = "forward"


@dataclass(frozen=True)
class Step:
    """One call of the processor: ``phase`` is ``backward`` (composite only) or ``forward`` (a product)."""

    phase: str
    acquired: datetime
    name: str  # the L1C product name of the date


@dataclass(frozen=True)
class Segment:
    """A run of acquisitions without a gap longer than ``max_gap_days``."""

    dates: tuple[tuple[datetime, str], ...]  # (acquired, L1C name), chronological
    init_days: int

    @property
    def start(self) -> datetime:
        return self.dates[0][0]

    @property
    def window_end(self) -> datetime:
        return self.start + timedelta(days=self.init_days)

    @property
    def history_days(self) -> int:
        """Whole days from the first to the last acquisition."""
        return (self.dates[-1][0] - self.start).days

    @property
    def is_open(self) -> bool:
        return self.dates[-1][0] - self.start >= timedelta(days=self.init_days)

    def describe(self) -> str:
        """``history 18/30 days`` (capped at the window once open)."""
        return f"history {min(self.history_days, self.init_days)}/{self.init_days} days"

    def steps(self) -> list[Step]:
        """Backward over the window (newest to its second date), then forward over every date;
        no step while the gate is closed."""
        if not self.is_open:
            return []
        window = [d for d in self.dates if d[0] <= self.window_end]
        backward = [Step(BACKWARD, t, n) for t, n in reversed(window[1:])]
        return backward + [Step(FORWARD, t, n) for t, n in self.dates]


def segments(l1c: dict[str, datetime], init_days: int, max_gap_days: int) -> list[Segment]:
    """The segments of a site from its L1C products (name -> acquisition time), chronological."""
    dated = sorted((t, n) for n, t in l1c.items())
    starts = l2a_series_starts([t for t, _ in dated], max_gap_days)
    out = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else None
        out.append(Segment(tuple(d for d in dated if d[0] >= start and (end is None or d[0] < end)), init_days))
    return out


def gate(segs: list[Segment]) -> tuple[bool, str]:
    """Whether any segment is open, and the message of the current (last) segment."""
    if not segs:
        return False, "history 0 days: no L1C product yet"
    last = segs[-1]
    state = "open" if last.is_open else "closed"
    message = f"L2A gate {state}: {last.describe()} since {last.start:%Y-%m-%d}"
    if not last.is_open and any(s.is_open for s in segs[:-1]):
        message += " (earlier series open: they are kept up to date)"
    return any(s.is_open for s in segs), message
