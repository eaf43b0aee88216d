"""Product-level SLA: rules, statuses and the inventory of a site from real (moto) buckets.

The helpers here are shared with tests/integration/test_sla_email.py.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from helpers.paths import SITE_CONFIGS
from helpers.sla_cases import SITE_ID, deliver, pid, publish_l1c, statuses, utc
from take5_ops.l1a import intake
from take5_ops.naming import parse_product_id
from take5_ops.siteconfig import SiteConfigError, load_site_config, parse_site_config
from take5_ops.sla import Status, deadline, site_status, status_at
from take5_ops.sla.rules import RULE_ACQUISITION, RULE_L2A_WINDOW, cycle_dates, days_left, l2a_series_starts, local_date
from take5_ops.storage import layout


def test_status_walks_on_time_at_risk_breached_then_delivered(site):
    acquired = utc(2015, 4, 9, 10, 38)
    limit = deadline(site, "L1C", acquired)
    assert limit.rule == RULE_ACQUISITION and limit.describe() == "acquisition + 21 d"
    assert limit.due == utc(2015, 4, 30, 10, 38) and limit.at_risk_from == utc(2015, 4, 23, 10, 38)
    second = timedelta(seconds=1)
    assert status_at(limit, None, limit.at_risk_from - second) is Status.ON_TIME
    assert status_at(limit, None, limit.at_risk_from) is Status.AT_RISK
    assert status_at(limit, None, limit.due) is Status.AT_RISK
    assert status_at(limit, None, limit.due + second) is Status.BREACHED
    assert status_at(limit, limit.due, limit.due + second) is Status.DELIVERED
    assert status_at(limit, limit.due + second, limit.due + 2 * second) is Status.DELIVERED_LATE
    # a publication after `now` has not happened yet at `now`
    assert status_at(limit, limit.due + 2 * second, limit.due + second) is Status.BREACHED
    assert days_left(limit.due, limit.at_risk_from) == 7
    assert days_left(limit.due, limit.due - timedelta(hours=30)) == 1
    assert days_left(limit.due, limit.due + second) == -1
    assert days_left(limit.due, limit.due + timedelta(days=2, hours=1)) == -3


def test_l2a_initialization_window_rule(site):
    start = utc(2015, 4, 9, 10, 38)
    acquisitions = [start + timedelta(days=5 * k) for k in range(8)]  # 9 April .. 14 May
    later = utc(2015, 7, 3, 10, 38)  # after a 50-day gap (> max_gap_days 45): a new series
    starts = l2a_series_starts(acquisitions + [later], site.l2a.max_gap_days)
    assert starts == [start, later]
    window_end = start + timedelta(days=site.l2a.init_days)  # 9 May 10:38
    for acquired in acquisitions:
        l2a, l1c = deadline(site, "L2A", acquired, starts), deadline(site, "L1C", acquired, starts)
        assert l1c.due == acquired + timedelta(days=21) and l1c.rule == RULE_ACQUISITION
        if acquired < window_end:
            assert l2a.rule == RULE_L2A_WINDOW and l2a.due == window_end + timedelta(days=21)
            assert l2a.describe() == "end of L2A initialization window (2015-05-09) + 21 d"
        else:  # 9 May itself is the first date after the window
            assert l2a.rule == RULE_ACQUISITION and l2a.due == acquired + timedelta(days=21)
    restarted = deadline(site, "L2A", later, starts)
    assert restarted.rule == RULE_L2A_WINDOW and restarted.due == later + timedelta(days=30 + 21)
    assert restarted.at_risk_from == restarted.due - timedelta(days=7)


def test_cycle_dates_follow_the_simulator(site):
    from take5_ops.sim.scene import acquisition_dates

    for cfg in (site, load_site_config(SITE_CONFIGS / "AustraliaLitchfield.yaml")):
        simulated = acquisition_dates(cfg, date(2015, 4, 1), date(2015, 6, 30))
        assert [local_date(cfg, t) for t in simulated] == cycle_dates(cfg.cycle_day, date(2015, 4, 1),
                                                                      date(2015, 6, 30))
    assert cycle_dates(2, date(2015, 4, 9), date(2015, 4, 24)) == [date(2015, 4, 9), date(2015, 4, 14),
                                                                 date(2015, 4, 19), date(2015, 4, 24)]


def test_invalid_contacts_fail_at_parse_time(site):
    data = site.model_dump(mode="json")
    data["sla"]["contacts"] = ["ops-at-example.org"]
    with pytest.raises(SiteConfigError, match=r"field sla\.contacts\.0"):
        parse_site_config(data, SITE_CONFIGS / f"{SITE_ID}.yaml")


# ---- inventory from the stores ------------------------------------------------------------

def test_inventory_from_ledger_deliveries_and_items(site, buckets):
    a, b, c = pid(date(2015, 4, 9)), pid(date(2015, 4, 14)), pid(date(2015, 4, 19))
    deliver(buckets, a)
    deliver(buckets, b)
    publish_l1c(buckets, a, utc(2015, 4, 20))  # on time
    publish_l1c(buckets, b, utc(2015, 5, 10))  # late (due 5 May)
    # c known from its ledger entry only (a rejected delivery: still due)
    rejected = intake.Rejected(SITE_ID, c, "etag", "bad", rejected_at=utc(2015, 4, 25))
    intake.record(buckets.work, rejected, "rejected")
    # stray prefixes and another site's products are not products of this site
    buckets.l1a.put_bytes(f"{SITE_ID}/notaproduct/x", b"x")
    buckets.l1a.put_bytes(f"{SITE_ID}/SPOT5-HRG2-XS_20150230-103800_L1A_{SITE_ID}/x", b"x")  # impossible date
    deliver(buckets, pid(date(2015, 4, 9), "FranceAlsace"))
    now = utc(2015, 5, 12)
    result = site_status(site, buckets.l1a, buckets.work, buckets.dist, now)
    got = statuses(result)
    assert sorted({p for p, _ in got}) == [a, b, c]
    assert got[(a, "L1C")] is Status.DELIVERED
    assert got[(b, "L1C")] is Status.DELIVERED_LATE
    assert got[(c, "L1C")] is Status.BREACHED  # due 10 May
    # L2A: nothing published; all three in the window (9 April + 30 d): due 30 May, at risk from 23 May
    assert {got[(p, "L2A")] for p in (a, b, c)} == {Status.ON_TIME}
    assert result.counts()["L1C"] == {"on time": 0, "at risk": 0, "breached": 1, "delivered late": 1,
                                      "delivered": 1}
    assert result.missing == [date(2015, 4, 24)]  # 29 April is not 14 days old yet
    # the L2A chain reports its publications by product name
    l2a_name = parse_product_id(a).product_name("L2A")
    later = site_status(site, buckets.l1a, buckets.work, buckets.dist, utc(2015, 5, 24),
                        published={l2a_name: utc(2015, 5, 20)})
    got = statuses(later)
    assert got[(a, "L2A")] is Status.DELIVERED and got[(b, "L2A")] is Status.AT_RISK


def test_item_in_distribution_bucket_counts_as_published(site, buckets):
    """Without a ledger commit (e.g. update_catalog failed), the Item's LastModified is the publication."""
    recent = datetime.now(UTC).date() - timedelta(days=3)
    product = pid(recent)
    deliver(buckets, product)
    name = parse_product_id(product).product_name("L1C")
    before = datetime.now(UTC)
    buckets.dist.put_bytes(layout.item_key(SITE_ID, name), b"{}", "application/json")
    [l1c] = [p for p in site_status(site, buckets.l1a, buckets.work, buckets.dist,
                                    before + timedelta(days=1)).products if p.level == "L1C"]
    assert l1c.status is Status.DELIVERED
    assert before - timedelta(minutes=5) <= l1c.published_at <= before + timedelta(minutes=5)
    # judged at a moment before the Item was written, it was not published yet
    [l1c] = [p for p in site_status(site, buckets.l1a, buckets.work, buckets.dist,
                                    before - timedelta(hours=1)).products if p.level == "L1C"]
    assert l1c.status is Status.ON_TIME and l1c.published_at is not None


def test_quiet_site_missing_dates(site, buckets):
    for day in (date(2015, 4, 9), date(2015, 4, 19)):  # 14 April never delivered
        deliver(buckets, pid(day))

    def status(now, **kw):
        return site_status(site, buckets.l1a, buckets.work, buckets.dist, now, **kw)

    assert status(utc(2015, 4, 27, 23)).missing == []  # 14 April + 14 d not reached
    assert status(utc(2015, 4, 28)).missing == [date(2015, 4, 14)]
    assert status(utc(2015, 5, 10)).missing == [date(2015, 4, 14), date(2015, 4, 24)]
    assert status(utc(2015, 5, 10), campaign_end=date(2015, 4, 20)).missing == [date(2015, 4, 14)]
    # a site that never delivered is expected from its first_acquisition (9 April)
    other = load_site_config(SITE_CONFIGS / "FranceAlsace.yaml")
    empty = site_status(other, buckets.l1a, buckets.work, buckets.dist, utc(2015, 5, 10))
    assert empty.products == [] and empty.missing == cycle_dates(other.cycle_day, other.first_acquisition,
                                                                 date(2015, 4, 26))


def test_first_publication_survives_a_redelivery(site, buckets):
    """A product published on time, then redelivered and republished after its deadline, stays delivered."""
    from take5_ops.sla.published import first_publications, record_first_publications

    product = pid(date(2015, 4, 9))  # due 30 April
    name = parse_product_id(product).product_name("L1C")
    deliver(buckets, product)
    assert record_first_publications(buckets.work, SITE_ID, [name], utc(2015, 4, 20)) == [name]
    publish_l1c(buckets, product, utc(2015, 4, 20))
    # the redelivery: the ledger is committed again on 10 May, the first publication stays
    assert record_first_publications(buckets.work, SITE_ID, [name], utc(2015, 5, 10)) == []
    publish_l1c(buckets, product, utc(2015, 5, 10))
    assert first_publications(buckets.work, SITE_ID) == {name: utc(2015, 4, 20)}
    [l1c] = [p for p in site_status(site, buckets.l1a, buckets.work, buckets.dist, utc(2015, 5, 12)).products
             if p.level == "L1C"]
    assert l1c.published_at == utc(2015, 4, 20) and l1c.status is Status.DELIVERED
    # a corrupt record is ignored (logged): the ledger's time rules again, the product counts late
    buckets.work.put_bytes(layout.sla_published_key(SITE_ID), b'{"first_published": {"%s": "yesterday"}}' % name.encode())
    [l1c] = [p for p in site_status(site, buckets.l1a, buckets.work, buckets.dist, utc(2015, 5, 12)).products
             if p.level == "L1C"]
    assert l1c.status is Status.DELIVERED_LATE


def test_too_cloudy_l2a_is_not_due(site, buckets):
    a, b = pid(date(2015, 4, 9)), pid(date(2015, 4, 14))
    for p in (a, b):
        deliver(buckets, p)
    cloudy = parse_product_id(b).product_name("L2A")
    buckets.work.put_bytes(layout.l2a_status_key(SITE_ID), json.dumps({"site_id": SITE_ID, "dates": {
        "2015-04-14": {"outcome": "too_cloudy", "name": cloudy, "reason": "92% cloud"}}}).encode())
    result = site_status(site, buckets.l1a, buckets.work, buckets.dist, utc(2015, 6, 30))
    levels = sorted((p.product_id, p.level) for p in result.products)
    assert levels == [(a, "L1C"), (a, "L2A"), (b, "L1C")]
    assert result.counts()["L2A"]["breached"] == 1


def test_quiet_site_expected_until_the_campaign_end(site, buckets):
    """By default nothing is expected after 15 September 2015; ``campaign_end=None``: no end."""
    deliver(buckets, pid(date(2015, 9, 6)))  # Pornic's cycle: ... 6, 11, 16 September

    def missing(**kw):
        return site_status(site, buckets.l1a, buckets.work, buckets.dist, utc(2016, 3, 1), **kw).missing

    assert missing() == [date(2015, 9, 11)]
    assert missing(campaign_end=None) == cycle_dates(site.cycle_day, date(2015, 9, 11), date(2016, 2, 16))
    assert len(missing(campaign_end=None)) == 32
