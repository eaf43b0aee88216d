"""The L2A chain over a site's series, against the moto S3 server: order independence, replays,
checkpoints, corrupt state and corrupt L1C, very cloudy dates."""

from __future__ import annotations

import json
import random

import pytest

from helpers.l2a_campaign import CLOUDY, SITE
from take5_ops.l1a.upload import upload_delivery
from take5_ops.l2a import series
from take5_ops.l2a.chain import run_l2a
from take5_ops.pipeline import run_site
from take5_ops.products.product import Product
from take5_ops.products.workspace import upload_product
from take5_ops.storage import Buckets, LocalStore, S3Store, copy_tree, layout


def new_buckets(s3_buckets, tag: str) -> Buckets:
    """Another set of fresh buckets on the same server (the fixture's names + ``tag``)."""
    stores = {}
    for role, store in s3_buckets.items():
        other = S3Store(store.client, f"{store.bucket}-{tag}")
        other.client.create_bucket(Bucket=other.bucket)
        stores[role] = other
    return Buckets(**stores)


def with_l1c(buckets: Buckets, campaign, names=None) -> Buckets:
    copy_tree(LocalStore(campaign["root"] / "sim" / "aux"), buckets.aux)
    for name, (product, folder) in sorted(campaign["l1c"].items()):
        if names is None or name in names:
            upload_product(buckets.work, product, folder)
    return buckets


def l2a_files(dist) -> dict[str, str]:
    """Every published L2A object -> its SHA-256; the site's L2A Metalink -> its text, bucket name left out."""
    files = {i.key: dist.head(i.key).sha256 for i in dist.list(f"{SITE}/") if "_L2A_" in i.key}
    files["meta4"] = dist.get_bytes(f"{SITE}/{SITE}_L2A.meta4").decode().replace(dist.bucket, "BUCKET")
    return files


def objects(store) -> dict[str, tuple[str, object]]:
    return {i.key: (i.etag, i.last_modified) for i in store.list()}


def test_same_products_whatever_the_delivery_order_and_grouping(campaign, s3_buckets):
    site = campaign["site"]
    deliveries = campaign["deliveries"]
    ordered = new_buckets(s3_buckets, "a")
    copy_tree(LocalStore(campaign["root"] / "sim" / "aux"), ordered.aux)
    for folder in deliveries:
        upload_delivery(folder, ordered.l1a)
    summary = run_site(site, ordered)
    assert summary["failed"] == {} and summary["l2a"]["gate"] == "open"
    reference = l2a_files(ordered.dist)
    names = {k.split("/")[1] for k in reference if k.endswith(".json") and "_L2A_" in k}
    assert len(names) == 8  # nine dates, one too cloudy
    status = json.loads(ordered.work.get_bytes(layout.l2a_status_key(SITE)))
    assert status["dates"][CLOUDY.isoformat()]["outcome"] == "too_cloudy"
    assert "cloudy" in status["dates"][CLOUDY.isoformat()]["reason"]

    shuffled = new_buckets(s3_buckets, "b")
    copy_tree(LocalStore(campaign["root"] / "sim" / "aux"), shuffled.aux)
    order = deliveries[:]
    random.Random(7).shuffle(order)
    # the late dates first (the gate opens at once), then the early ones, replaying everything
    batches = [order[:4], order[4:6], order[6:]]
    for batch in batches:
        for folder in batch:
            upload_delivery(folder, shuffled.l1a)
        assert run_site(site, shuffled)["failed"] == {}
    assert l2a_files(shuffled.dist) == reference
    assert json.loads(shuffled.work.get_bytes(layout.l2a_status_key(SITE))) == status
    # the published collection lists the same L2A items
    for buckets in (ordered, shuffled):
        links = json.loads(buckets.dist.get_bytes(f"{SITE}/collection.json"))["links"]
        assert sum("_L2A_" in link["href"] for link in links if link["rel"] == "item") == 8

    before = objects(shuffled.work), objects(shuffled.dist)
    again = run_site(site, shuffled)
    assert again["l2a"]["processed"] == 0
    assert (objects(shuffled.work), objects(shuffled.dist)) == before


def test_checkpoints_resume_and_corrupt_state_replays_from_the_last_good(campaign, s3_buckets, monkeypatch):
    import take5_ops.l2a as l2a

    site = campaign["site"]
    b = with_l1c(Buckets(**s3_buckets), campaign)
    total = sum(len(s.steps()) for s in series.segments(
        {n: p.acquired for n, (p, _) in campaign["l1c"].items()}, 30, 45))
    real, calls = l2a.process_date, []

    def crash_at_fifth(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 5:
            raise RuntimeError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(l2a, "process_date", crash_at_fifth)
    with pytest.raises(RuntimeError, match="worker lost"):
        run_l2a(b.work, b.aux, b.dist, site)
    monkeypatch.setattr(l2a, "process_date", real)
    resumed = run_l2a(b.work, b.aux, b.dist, site)
    assert resumed["processed"] == total - 4  # the four checkpointed steps are not redone
    states = {i.key: b.work.head(i.key).sha256 for i in b.work.list(layout.l2a_steps_prefix(SITE)) if i.key.endswith(".tif")}

    # a corrupt state in the middle of the series: that step is redone from the one before, the same bytes
    middle = sorted(states)[4]
    b.work.put_bytes(middle, b"not a state")
    repaired = run_l2a(b.work, b.aux, b.dist, site)
    assert repaired["processed"] == 1
    assert b.work.head(middle).sha256 == states[middle]
    # a missing state too
    b.work.delete(middle)
    assert run_l2a(b.work, b.aux, b.dist, site)["processed"] == 1
    assert b.work.head(middle).sha256 == states[middle]


def test_corrupt_l1c_is_skipped_with_its_reason_and_later_dates_go_on(campaign, s3_buckets):
    site = campaign["site"]
    b = with_l1c(Buckets(**s3_buckets), campaign)
    names = sorted(campaign["l1c"])
    bad = names[5]
    product: Product = campaign["l1c"][bad][0]
    xs1 = next(f for f in product.files if f.asset == "XS1")
    b.work.put_bytes(layout.product_prefix(SITE, bad) + xs1.name, b"truncated")
    done = run_l2a(b.work, b.aux, b.dist, site)
    assert list(done["skipped"]) == [bad]
    assert xs1.name in done["skipped"][bad] and "SHA-256" in done["skipped"][bad]
    status = json.loads(b.work.get_bytes(layout.l2a_status_key(SITE)))
    outcomes = {d["name"]: d["outcome"] for d in status["dates"].values()}
    assert outcomes[bad.replace("_L1C_", "_L2A_")] == "skipped"
    later = [n.replace("_L1C_", "_L2A_") for n in names[6:]]
    assert all(outcomes[n] == "published" for n in later)
    published = {p["name"] for p in done["to_publish"]}
    assert set(later) <= published and bad.replace("_L1C_", "_L2A_") not in published
    # the skipped date carries the composite over: the next date's prior is the date before's state
    segs = series.segments({n: p.acquired for n, (p, _) in campaign["l1c"].items()}, 30, 45)
    step = next(s for s in segs[0].steps() if s.phase == series.FORWARD and s.name == bad)
    record = json.loads(b.work.get_bytes(layout.l2a_step_prefix(SITE, step.name) + ".json"))
    assert record["outcome"] == "skipped" and record["state_key"] is not None


def test_operator_replay_from_a_date(campaign, s3_buckets):
    from take5_ops.reprocess import forget_l2a

    site = campaign["site"]
    b = with_l1c(Buckets(**s3_buckets), campaign)
    run_l2a(b.work, b.aux, b.dist, site)
    states = {i.key: b.work.head(i.key).sha256 for i in b.work.list(layout.l2a_prefix(SITE)) if i.key.endswith(".tif")}
    dates = sorted(p.acquired.date() for p, _ in campaign["l1c"].values())
    # from the 7th date (the end of the 30-day window): the whole initialization and the last 3 dates
    assert forget_l2a(b.work, SITE, dates[6]) == 6 + 3
    assert run_l2a(b.work, b.aux, b.dist, site)["processed"] == 9
    assert {i.key: b.work.head(i.key).sha256 for i in b.work.list(layout.l2a_prefix(SITE)) if i.key.endswith(".tif")} == states
    assert forget_l2a(b.work, SITE, dates[-1]) == 1


def test_redelivered_date_replays_from_its_date_only(campaign, tmp_path):
    """On local folders (``take5 run-site``'s stores)."""
    site = campaign["site"]
    b = with_l1c(Buckets.local(*(tmp_path / role for role in ("l1a", "aux", "work", "dist"))), campaign)
    run_l2a(b.work, b.aux, b.dist, site)
    names = sorted(campaign["l1c"])
    # the eighth date is delivered again (a later DELIVERY.OK): its L1C manifest changes
    product, folder = campaign["l1c"][names[7]]
    again = Product.from_dict({**product.to_dict(),
                               "properties": {**product.properties, "take5:delivered_at": "2015-06-01T02:13:00Z"}})
    upload_product(b.work, again, folder)
    done = run_l2a(b.work, b.aux, b.dist, site)
    assert done["processed"] == 2  # the eighth and ninth dates; the window and the first dates are untouched
    assert run_l2a(b.work, b.aux, b.dist, site)["processed"] == 0
