"""The L2A plan: segments, the 30-day gate, backward initialization then forward dates."""

from datetime import UTC, datetime, timedelta

from take5_ops.l2a import series

T0 = datetime(2015, 4, 10, 10, 30, tzinfo=UTC)


def names(days):
    return {f"P{d:03d}": T0 + timedelta(days=d) for d in days}


def test_gate_closed_until_history_spans_init_days():
    segs = series.segments(names(range(0, 30, 5)), 30, 45)
    assert len(segs) == 1 and not segs[0].is_open and segs[0].steps() == []
    is_open, message = series.gate(segs)
    assert not is_open and "history 25/30 days" in message
    segs = series.segments(names(range(0, 31, 5)), 30, 45)
    assert series.gate(segs)[0] and segs[0].is_open


def test_backward_over_window_then_forward_in_order():
    segs = series.segments(names(range(0, 46, 5)), 30, 45)
    steps = segs[0].steps()
    backward = [s.name for s in steps if s.phase == series.BACKWARD]
    forward = [s.name for s in steps if s.phase == series.FORWARD]
    assert backward == ["P030", "P025", "P020", "P015", "P010", "P005"]  # window newest to its 2nd date
    assert forward == [f"P{d:03d}" for d in range(0, 46, 5)]
    assert steps.index(series.Step(series.FORWARD, T0, "P000")) == len(backward)


def test_gap_restarts_the_series_and_plan_ignores_order():
    days = [0, 5, 10, 40, 100, 105, 110]  # 60-day gap after day 40
    l1c = names(days)
    segs = series.segments(l1c, 30, 45)
    assert [s.start for s in segs] == [T0, T0 + timedelta(days=100)]
    assert segs[0].is_open and not segs[1].is_open
    is_open, message = series.gate(segs)
    assert is_open and "history 10/30 days" in message and "earlier series open" in message
    shuffled = dict(sorted(l1c.items(), key=lambda kv: -kv[1].timestamp()))
    assert series.segments(shuffled, 30, 45) == segs
