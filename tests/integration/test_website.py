"""The distribution website in a real headless browser (Debian chromium via playwright) on the S3 server.

Products are published through the real pipeline into the moto server; the
bucket gets the public-read policy and chromium opens the pages by their
public URLs (``GET /<bucket>/<key>``, as a user would). Checked: the pages
load, the filters show exactly what ``take5 search`` selects with the same
filters, every link and image resolves (HTTP 200, anonymously), no console
error; a withdrawn product leaves the page, the collection and the Metalink.
The map, the search box and the cart: tests/integration/test_website_cart.py.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpers.browser import CHROMIUM, Page, chromium, resolve_all
from helpers.fake_products import site_config
from helpers.published import publish_all
from helpers.stac_validation import validate_tree
from take5_ops.cli import main
from take5_ops.distribution.access import set_public_read
from take5_ops.distribution.search import Query, parse_day, search
from take5_ops.distribution.website import update_pages
from take5_ops.storage import Buckets, layout

SITE = "FrancePornic"
SPECS = [(datetime(2015, 4, 13, 10), "L1C", None, 1000), (datetime(2015, 4, 18, 10), "L1C", None, 1100),
         (datetime(2015, 4, 18, 10), "L2A", 12.5, 1200), (datetime(2015, 4, 23, 10), "L1C", None, 1300),
         (datetime(2015, 4, 23, 10), "L2A", 61.0, 1400)]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def site_published(s3_buckets, tmp_path, monkeypatch):
    monkeypatch.delenv("TAKE5_PUBLIC_URL", raising=False)
    buckets = Buckets(**s3_buckets)
    site = site_config(tmp_path)
    products, summary = publish_all(buckets, site, tmp_path / "src", SPECS)
    set_public_read(buckets.dist)
    return buckets, site, products, summary


def names(found) -> list[str]:
    return sorted(f"{f.name}/{f.name}.json" for f in found)


def test_root_page_lists_the_site_and_links_resolve(browser, site_published, s3_endpoint):
    buckets, _, _, summary = site_published
    assert "index.html" in summary["pages_written"] and f"{SITE}/index.html" in summary["pages_written"]
    base = f"{s3_endpoint}/{buckets.dist.bucket}/"
    root = Page(browser, base + "index.html")
    row = root.page.locator(f'#sites tr[data-site="{SITE}"] td').all_inner_texts()
    assert row[:6] == ["Pornic", "France", "0", "3", "2", "2015-04-23"]  # L1A, L1C, L2A
    expect(root.page.locator("#map")).to_have_attribute("data-ready", "1")
    assert root.page.locator("#map path.site-marker").count() == 1
    links = root.links()
    assert base + f"{SITE}/index.html" in links and base + "catalog.json" in links
    resolve_all(links)
    root.page.locator("#map path.site-marker").click()  # the map's site opens a popup linking its page
    root.page.locator(".leaflet-popup a", has_text="Pornic").click()
    root.page.wait_for_url(base + f"{SITE}/index.html")
    assert root.page.locator("#products tbody tr").count() == len(SPECS)
    assert root.errors == []


def test_site_page_filters_select_what_search_selects(browser, site_published, s3_endpoint):
    buckets, _, products, _ = site_published
    base = f"{s3_endpoint}/{buckets.dist.bucket}/{SITE}/"
    view = Page(browser, base + "index.html")
    page = view.page
    assert len(view.visible_rows()) == 5 and page.inner_text("#count") == "5 of 5 products shown"
    cases = [({"level": "L2A"}, Query(site=SITE, level="L2A")),
             ({"maxcloud": "20"}, Query(site=SITE, max_cloud=20)),
             ({"start": "2015-04-18", "end": "2015-04-18"},
              Query(site=SITE, start=parse_day("2015-04-18"), end=parse_day("2015-04-18", end=True))),
             ({"level": "L1C", "maxcloud": "70", "start": "2015-04-14"},
              Query(site=SITE, level="L1C", max_cloud=70, start=parse_day("2015-04-14")))]
    for filters, query in cases:
        page.click("button[type=reset]")
        for field, value in filters.items():
            if field == "level":
                page.select_option("select[name=level]", value)
            else:
                page.fill(f"input[name={field}]", value)
        expected = names(search(buckets.dist, query))
        assert sorted(view.visible_rows()) == expected, filters
        assert page.inner_text("#count") == f"{len(expected)} of 5 products shown"
    assert [len(names(search(buckets.dist, q))) for _, q in cases] == [2, 2, 2, 2]  # the cases do select
    page.click("button[type=reset]")  # the reset shows every row again (applied right after the reset event)
    expect(page.locator("#count")).to_have_text("5 of 5 products shown")
    assert len(view.visible_rows()) == 5

    links = view.links()
    bodies = resolve_all(links)
    for level in ("L1C", "L2A"):
        assert base + f"{SITE}_{level}.meta4" in links
    assets = 0
    for p in products:  # every file of every product is linked, and the bytes behind the link are the product's
        version_files = {f.name: f for f in p.files}
        for url, body in bodies.items():
            if f"/{p.name}/v" in url and url.rsplit("/", 1)[-1] in version_files:
                assert hashlib.sha256(body).hexdigest() == version_files[url.rsplit("/", 1)[-1]].sha256
                assets += 1
    assert assets == 8 * len(products)
    assert page.locator("img.qkl").count() == 5
    page.wait_for_function("[...document.querySelectorAll('img.qkl')].every(i => i.complete && i.naturalWidth > 0)")
    assert view.errors == []


def test_withdrawn_product_leaves_every_listing(browser, site_published, s3_endpoint, tmp_path):
    buckets, site, products, _ = site_published
    gone = products[2]  # the L2A of 2015-04-18
    config = tmp_path / f"{SITE}.yaml"
    assert config.exists()
    assert main(["withdraw", "--site", SITE, "--product", gone.name, "--site-config", str(config),
                 "--endpoint", s3_endpoint, "--work-bucket", buckets.work.bucket,
                 "--dist-bucket", buckets.dist.bucket]) == 0
    dist = buckets.dist
    assert not dist.exists(layout.item_key(SITE, gone.name)) and list(dist.list(f"{SITE}/{gone.name}/")) == []
    assert f"{gone.name}.json" not in dist.get_bytes(layout.collection_key(SITE)).decode()
    assert gone.name not in dist.get_bytes(layout.metalink_key(SITE, "L2A")).decode()
    assert gone.name not in dist.get_bytes(layout.metalink_key(SITE, "L1C")).decode()
    assert [f.name for f in search(dist, Query(site=SITE))] == sorted(p.name for p in products if p is not gone)
    validate_tree(dist.get_bytes)
    view = Page(browser, f"{s3_endpoint}/{dist.bucket}/{SITE}/index.html")
    assert len(view.visible_rows()) == 4 and gone.name not in view.page.content()
    resolve_all(view.links())
    root = Page(browser, f"{s3_endpoint}/{dist.bucket}/index.html")
    assert root.page.locator(f'#sites tr[data-site="{SITE}"] td').all_inner_texts()[2:5] == ["0", "3", "1"]
    assert view.errors == [] and root.errors == []

    # a later run does not bring it back (the L2A chain would offer it again: its Item is missing)
    from take5_ops.pipeline import publish, update_catalog

    again = publish(buckets, site, {"product": gone.to_dict()})
    assert again["item_key"] is None
    update_catalog(buckets, site, [again], [])
    assert not dist.exists(layout.item_key(SITE, gone.name))
    assert gone.name not in dist.get_bytes(f"{SITE}/index.html").decode()


def test_pages_are_deterministic(site_published):
    buckets, _, _, _ = site_published

    before = {k: buckets.dist.get_bytes(k) for k in ("index.html", "sites.json", f"{SITE}/index.html",
                                                       f"{SITE}/products.json", "assets/take5.js", "config.json")}
    assert update_pages(buckets.dist, SITE) == {"written": []}
    assert {k: buckets.dist.get_bytes(k) for k in before} == before
