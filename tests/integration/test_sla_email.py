"""SLA alert e-mails through a real SMTP server (aiosmtpd on localhost), state in real (moto) buckets.

Time comes from the ``now`` each check is given; retries sleep through a fake sleep.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta

import pytest

from helpers.net import refused_port
from helpers.paths import SITE_CONFIGS
from helpers.sla_cases import SITE_ID, deliver, pid, publish_l1c, utc
from take5_ops.naming import parse_product_id
from take5_ops.siteconfig import load_site_config
from take5_ops.sla import Mailer, check_site, run_url, send_digest, site_status, smtp_sender
from take5_ops.storage import Buckets, S3Store, layout
from take5_ops.storage.buckets import ROLES

BASE_URL = "http://airflow.test:8080"
DAG_ID = f"take5_{SITE_ID}"


class FakeSleep:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def mailer(port: int, sleep=None) -> Mailer:
    return Mailer(smtp_sender("127.0.0.1", port, timeout=30), sender="take5-sla@test", attempts=3, delay=10,
                  sleep=sleep or FakeSleep())


def run_link(now) -> str:
    return run_url(BASE_URL, DAG_ID, f"scheduled__{now:%Y-%m-%dT%H:%M:%S}+00:00")


def check(site, buckets, now, port, **kw):
    return check_site(site, buckets, now, mailer(port), link=run_link(now), **kw)


def parts(msg) -> tuple[str, str]:
    return msg.get_body(preferencelist=("plain",)).get_content(), msg.get_body(preferencelist=("html",)).get_content()


def journal(buckets) -> list[str]:
    return [i.key for i in buckets.work.list(layout.sla_journal_prefix(SITE_ID))]


def test_at_risk_then_breached_then_delivered_late(site, buckets, smtp):
    product = pid(date(2015, 4, 9))  # acquired 2015-04-09 10:38 UTC: due 30 April 10:38
    deliver(buckets, product)
    one_date = {"campaign_end": date(2015, 4, 9)}  # a campaign of one acquisition: no missing dates

    now = utc(2015, 4, 23, 10, 38)  # acquisition + 14 d: at risk
    result = check(site, buckets, now, smtp.port, **one_date)
    assert result.sent and result.error is None
    assert result.new_alerts == [{"subject": f"{product}/L1C", "state": "at risk"}]
    [msg] = smtp.messages
    assert msg["Subject"] == f"[take5 SLA] {SITE_ID}: 1 at risk"
    assert msg["To"] == "take5-ops@example.org" and smtp.envelopes[0][1] == ["take5-ops@example.org"]
    text, html = parts(msg)
    for body in (text, html):
        assert product in body and "L1C" in body
        assert "2015-04-09 10:38 UTC" in body and "2015-04-30 10:38 UTC" in body
        assert "acquisition + 21 d" in body and "7 days left" in body
        assert "Newly at risk" in body and "Newly breached" not in body
    link = f"{BASE_URL}/dags/{DAG_ID}/runs/scheduled__2015-04-23T10%3A38%3A00%2B00%3A00"
    assert f"DAG run: {link}" in text and f'<a href="{link}">' in html
    assert "<table" in html and text.count(product) == 1  # not the L2A: due at the end of its window

    now = utc(2015, 5, 2, 10, 38)  # 2 days past the deadline
    result = check(site, buckets, now, smtp.port, **one_date)
    assert result.sent and result.new_alerts == [{"subject": f"{product}/L1C", "state": "breached"}]
    msg = smtp.messages[-1]
    assert msg["Subject"] == f"[take5 SLA] {SITE_ID}: 1 breached"
    text, html = parts(msg)
    assert "Newly breached" in text and "2 days overdue" in text and "2 days overdue" in html
    assert "Newly at risk" not in text

    publish_l1c(buckets, product, utc(2015, 5, 3, 9))
    result = check(site, buckets, utc(2015, 5, 4), smtp.port, **one_date)
    assert result.counts["L1C"]["delivered late"] == 1 and result.counts["L1C"]["breached"] == 0
    assert not result.sent and result.new_alerts == [] and len(smtp.messages) == 2


def test_dedup_across_runs_days_and_a_restart(site, buckets, smtp, s3_endpoint):
    first, second = pid(date(2015, 4, 9)), pid(date(2015, 4, 14))
    deliver(buckets, first)
    opts = {"campaign_end": date(2015, 4, 14)}
    now = utc(2015, 4, 24, 8)  # first at risk, second on time
    assert check(site, buckets, now, smtp.port, **opts).sent
    again = check(site, buckets, now + timedelta(hours=1), smtp.port, **opts)
    assert not again.sent and again.new_alerts == [] and len(smtp.messages) == 1

    # days later the second product is at risk too: one message with it alone
    deliver(buckets, second)
    now = utc(2015, 4, 28, 11)
    result = check(site, buckets, now, smtp.port, **opts)  # second at risk since 28 April 10:38
    assert result.sent and result.new_alerts == [{"subject": f"{second}/L1C", "state": "at risk"}]
    publish_l1c(buckets, first, utc(2015, 4, 28, 12))  # first delivered on time
    result = check(site, buckets, utc(2015, 4, 28, 20), smtp.port, **opts)
    assert not result.sent and not result.deferred and result.new_alerts == [] and len(smtp.messages) == 2

    # a restart: new store objects (new clients) on the same buckets, a new mailer
    restarted = Buckets(**{role: S3Store.from_endpoint(getattr(buckets, role).bucket, s3_endpoint) for role in ROLES})
    result = check(site, restarted, utc(2015, 5, 1, 9), smtp.port, **opts)
    assert not result.sent and result.new_alerts == [] and not result.state_rebuilt
    assert len(smtp.messages) == 2

    result = check(site, restarted, utc(2015, 5, 5, 11), smtp.port, **opts)  # second breached (due 5 May 10:38)
    assert result.new_alerts == [{"subject": f"{second}/L1C", "state": "breached"}] and result.sent
    assert [m["Subject"] for m in smtp.messages] == [f"[take5 SLA] {SITE_ID}: 1 at risk"] * 2 + [
        f"[take5 SLA] {SITE_ID}: 1 breached"]
    assert journal(buckets) == [layout.sla_journal_key(SITE_ID, t) for t in (utc(2015, 4, 24, 8), utc(2015, 4, 28, 11),
                                                                  utc(2015, 5, 5, 11))]


def test_one_message_a_day_defers_new_alerts_to_the_next_day(site, buckets, smtp):
    early, late = pid(date(2015, 4, 9)), pid(date(2015, 4, 14))
    deliver(buckets, early)
    opts = {"campaign_end": date(2015, 4, 14)}
    assert check(site, buckets, utc(2015, 4, 29, 9), smtp.port, **opts).sent  # early at risk
    deliver(buckets, late)  # at risk since 28 April 10:38, unknown until now
    result = check(site, buckets, utc(2015, 4, 29, 15), smtp.port, **opts)
    assert result.deferred and not result.sent
    assert result.new_alerts == [{"subject": f"{late}/L1C", "state": "at risk"}] and len(smtp.messages) == 1
    result = check(site, buckets, utc(2015, 4, 30, 0, 5), smtp.port, **opts)
    assert result.sent and result.new_alerts == [{"subject": f"{late}/L1C", "state": "at risk"}]
    assert late in parts(smtp.messages[-1])[0] and early not in parts(smtp.messages[-1])[0]


def test_quiet_site(site, buckets, smtp):
    for day in (date(2015, 4, 9), date(2015, 4, 19)):  # nothing for 14 April
        deliver(buckets, pid(day))
        publish_l1c(buckets, pid(day), utc(2015, 4, 21))
    assert not check(site, buckets, utc(2015, 4, 27, 12), smtp.port).sent
    result = check(site, buckets, utc(2015, 4, 28, 6), smtp.port)
    assert result.sent and result.missing == ["2015-04-14"]
    assert result.new_alerts == [{"subject": "acquisition/2015-04-14", "state": "missing"}]
    [msg] = smtp.messages
    assert msg["Subject"] == f"[take5 SLA] {SITE_ID}: 1 missing acquisition"
    text, html = parts(msg)
    assert "Missing acquisitions" in text and "2015-04-14" in html and "14 days ago" in text and "14 days ago" in html
    result = check(site, buckets, utc(2015, 4, 29, 6), smtp.port)  # once only
    assert not result.sent and result.missing == ["2015-04-14"] and len(smtp.messages) == 1


def test_l2a_initialization_window_in_the_message(site, buckets, smtp):
    days = [date(2015, 4, 9) + timedelta(days=5 * k) for k in range(7)]  # 9 April .. 9 May
    for day in days:
        deliver(buckets, pid(day))
        publish_l1c(buckets, pid(day), utc(day.year, day.month, day.day) + timedelta(days=10))
    # window: 9 April 10:38 + 30 d = 9 May 10:38; the L2A acquired inside are due 30 May 10:38
    result = check(site, buckets, utc(2015, 5, 23, 10, 38), smtp.port, campaign_end=days[-1])
    assert result.sent and sorted(a["subject"] for a in result.new_alerts) == [f"{pid(d)}/L2A" for d in days]
    assert {a["state"] for a in result.new_alerts} == {"at risk"}
    text, html = parts(smtp.messages[0])
    for body in (text, html):
        assert body.count("end of L2A initialization window (2015-05-09) + 21 d") == 6
        # 9 May is past the window: acquisition rule, which gives the same deadline here
        assert body.count("acquisition + 21 d") == 1 and body.count("2015-05-30 10:38 UTC") == 7
    assert result.counts["L2A"]["at risk"] == 7 and not result.state_rebuilt
    # the L2A chain reports publications by product name
    published = {parse_product_id(pid(d)).product_name("L2A"): utc(2015, 5, 25) for d in days}
    later = site_status(site, buckets.l1a, buckets.work, buckets.dist, utc(2015, 5, 31), published=published,
                        campaign_end=days[-1])
    assert later.counts()["L2A"]["delivered"] == 7


def test_smtp_down_retried_reported_not_recorded_then_sent(site, buckets, smtp, caplog):
    product = pid(date(2015, 4, 9))
    deliver(buckets, product)
    now = utc(2015, 4, 24, 10)
    sleep = FakeSleep()
    with refused_port() as port, caplog.at_level(logging.WARNING, logger="take5_ops.sla"):
        result = check_site(site, buckets, now, mailer(port, sleep), link=run_link(now), campaign_end=date(2015, 4, 9))
    assert not result.sent and result.error.startswith("SLA message not sent after 3 attempts")
    assert sleep.calls == [10, 20]  # backoff 2
    assert sum("failed (attempt" in r.message for r in caplog.records) == 3
    assert any(r.levelno == logging.ERROR and "NOT sent" in r.message for r in caplog.records)
    assert journal(buckets) == [] and smtp.messages == []
    # the server is back: the next run sends the same alert
    result = check(site, buckets, now + timedelta(hours=1), smtp.port, campaign_end=date(2015, 4, 9))
    assert result.sent and result.new_alerts == [{"subject": f"{product}/L1C", "state": "at risk"}]
    assert len(smtp.messages) == 1


@pytest.mark.parametrize("damage", ["garbage", "deleted", "tampered"])
def test_corrupt_state_rebuilt_nothing_twice_nothing_missed(site, buckets, smtp, damage):
    first, second = pid(date(2015, 4, 9)), pid(date(2015, 4, 14))
    deliver(buckets, first)
    deliver(buckets, second)
    opts = {"campaign_end": date(2015, 4, 14)}
    assert check(site, buckets, utc(2015, 4, 24), smtp.port, **opts).sent  # first at risk
    key = layout.sla_index_key(SITE_ID)
    if damage == "garbage":
        buckets.work.put_bytes(key, b"\x00{not json")
    elif damage == "deleted":
        buckets.work.delete(key)
    else:  # valid JSON that lost its content
        doc = json.loads(buckets.work.get_bytes(key))
        doc["notified"] = {}
        buckets.work.put_bytes(key, json.dumps(doc).encode())
    result = check(site, buckets, utc(2015, 4, 29), smtp.port, **opts)  # second at risk (28 April)
    assert result.state_rebuilt
    assert result.sent and result.new_alerts == [{"subject": f"{second}/L1C", "state": "at risk"}]
    assert first not in parts(smtp.messages[-1])[0]
    result = check(site, buckets, utc(2015, 4, 30), smtp.port, **opts)
    assert not result.state_rebuilt and not result.sent and len(smtp.messages) == 2


def test_unreadable_journal_record_resends_rather_than_misses(site, buckets, smtp):
    product = pid(date(2015, 4, 9))
    deliver(buckets, product)
    opts = {"campaign_end": date(2015, 4, 9)}
    assert check(site, buckets, utc(2015, 4, 24), smtp.port, **opts).sent
    [record] = journal(buckets)
    buckets.work.put_bytes(record, b"truncated{")
    result = check(site, buckets, utc(2015, 4, 25), smtp.port, **opts)
    assert result.state_rebuilt and result.sent
    assert result.new_alerts == [{"subject": f"{product}/L1C", "state": "at risk"}]


def test_weekly_digest(site, buckets, smtp):
    alsace = load_site_config(SITE_CONFIGS / "FranceAlsace.yaml")  # nothing ever delivered
    deliver(buckets, pid(date(2015, 4, 9)))
    deliver(buckets, pid(date(2015, 4, 14)))
    publish_l1c(buckets, pid(date(2015, 4, 9)), utc(2015, 4, 20))
    now = utc(2015, 5, 6, 7)  # Wednesday of ISO week 19: the 14 April L1C is breached (due 5 May)
    statuses = [site_status(s, buckets.l1a, buckets.work, buckets.dist, now, campaign_end=date(2015, 4, 14))
                for s in (site, alsace)]
    ops = ["ops@example.org"]
    sent = send_digest(statuses, now, ops, mailer(smtp.port), buckets.work)
    assert sent.ok
    [msg] = smtp.messages
    assert msg["Subject"] == ("[take5 SLA] weekly digest 2015-W19: 1 breached, 0 at risk, "
                              "2 missing acquisitions, 2 sites")
    assert msg["To"] == "ops@example.org"
    text, html = parts(msg)
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[3:]}
    # columns: L1C on time, at risk, breached, delivered late, delivered, the same for L2A, missing
    assert rows[SITE_ID] == ["0", "0", "1", "0", "1", "2", "0", "0", "0", "0", "0"]
    assert rows["FranceAlsace"] == ["0"] * 10 + ["2"]
    assert rows["all"] == ["sites", "0", "0", "1", "0", "1", "2", "0", "0", "0", "0", "2"]
    assert "<td>FranceAlsace</td>" in html
    assert send_digest(statuses, utc(2015, 5, 10, 23), ops, mailer(smtp.port), buckets.work) is None  # Sunday
    assert send_digest(statuses, utc(2015, 5, 11, 0, 1), ops, mailer(smtp.port), buckets.work).ok  # week 20
    assert len(smtp.messages) == 2
