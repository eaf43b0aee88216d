"""The website's map, free-text search and cart in Debian's chromium, downloaded by the real aria2c.

One campaign of two sites (Pornic, France; Litchfield, Australia) with L1A, L1C and L2A products is
published once through the real publication code into the moto S3 server, public-read; chromium
opens the pages by their public URLs. Checked: the map draws the land and country outlines and both
sites; the browser's query parser follows the table of tests/helpers/query_examples.json and its
search selects what ``take5 search`` selects; a cart filled by typing and clicking only (searches,
"Add to cart", "+ all L1C" of a site from the map and from its page), cut down to some assets,
downloads as a .meta4 that aria2c -V fetches and verifies file by file; a withdrawn or replaced product
leaves search, cart downloads and pages in the same publication step; no console error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpers import website as web
from helpers.browser import CHROMIUM, Page, chromium
from helpers.fake_products import site_config
from helpers.metalinks import parse
from helpers.paths import ROOT
from helpers.published import box, make_level, publish_all
from take5_ops.distribution.access import public_base_url, public_urls, set_public_read
from take5_ops.distribution.metalink import item_files
from take5_ops.distribution.publish import withdraw_product
from take5_ops.distribution.search import search, text_query
from take5_ops.pipeline import publish, update_catalog
from take5_ops.products.workspace import upload_product
from take5_ops.storage import Buckets, S3Store, layout
from take5_ops.storage.buckets import ROLES, default_name

EXAMPLES = json.loads((ROOT / "tests" / "helpers" / "query_examples.json").read_text())["examples"]
PORNIC, LITCHFIELD = "FrancePornic", "AustraliaLitchfield"
D = datetime
SPECS = {
    PORNIC: [(D(2015, 4, 13, 10), "L1A", None, 900), (D(2015, 4, 13, 10), "L1C", None, 1000),
             (D(2015, 4, 18, 10), "L1A", None, 1050), (D(2015, 4, 18, 10), "L1C", None, 1100),
             (D(2015, 4, 18, 10), "L2A", 12.5, 1200), (D(2015, 5, 8, 10), "L1C", None, 1300),
             (D(2015, 5, 8, 10), "L2A", 61.0, 1400)],
    LITCHFIELD: [(D(2015, 4, 20, 1), "L1A", None, 2000), (D(2015, 4, 20, 1), "L1C", None, 2100),
                 (D(2015, 5, 3, 1), "L1C", None, 2200), (D(2015, 5, 3, 1), "L2A", 8.0, 2300)],
}
FOOTPRINT = {PORNIC: None, LITCHFIELD: box(130.7, -13.3, 131.0, -13.1)}  # None: the fake grid, near Pornic
QUERIES = ["Pornic L2A 2015-04", "Litchfield cloud<20", "Australia 2015", "L1A", "cloud<=12.5",
           "france 2015-04-13..2015-04-18", "2015-05", "Nowhere"]
pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
              pytest.mark.skipif(web.ARIA2C is None, reason="aria2c (Debian package aria2) not installed")]


@pytest.fixture(scope="module")
def campaign(s3_endpoint, tmp_path_factory):
    """The two sites published once for the module: (buckets, {site: SiteConfig}, products by site)."""
    tmp = tmp_path_factory.mktemp("website-cart")
    suffix = uuid.uuid4().hex[:8]
    stores = {role: S3Store.from_endpoint(f"{default_name(role)}-cart-{suffix}", s3_endpoint) for role in ROLES}
    for store in stores.values():
        store.client.create_bucket(Bucket=store.bucket)
    saved = os.environ.pop("TAKE5_PUBLIC_URL", None)
    buckets = Buckets(**stores)
    sites = {PORNIC: site_config(tmp, PORNIC), LITCHFIELD: site_config(tmp, LITCHFIELD, "Litchfield", "Australia")}
    products = {}
    for site_id, site in sites.items():
        products[site_id], _ = publish_all(buckets, site, tmp / site_id, SPECS[site_id], FOOTPRINT[site_id])
    set_public_read(buckets.dist)
    yield buckets, sites, products
    if saved is not None:
        os.environ["TAKE5_PUBLIC_URL"] = saved
    for store in stores.values():
        for info in list(store.list()):
            store.delete(info.key)
        store.client.delete_bucket(Bucket=store.bucket)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile"), accept_downloads=True) as context:
        yield context


def root_url(s3_endpoint, buckets) -> str:
    return f"{s3_endpoint}/{buckets.dist.bucket}/index.html"


def python_search(dist, text) -> list[str]:
    return sorted(f.name for f in search(dist, text_query(text)))


def across_the_map(d: str) -> list[tuple]:
    """The edges of an SVG path (``M x y L x y ... z``, as Leaflet writes it) that run across more than half its
    width, but along its bottom (Antarctica's ring circles the pole: its closing edge runs there)."""
    edges = []
    rings = [[tuple(map(float, xy)) for xy in re.findall(r"(-?[\d.]+)[ ,](-?[\d.]+)", sub)]
             for sub in re.findall(r"M[^M]+", d)]
    xs = [x for ring in rings for x, _ in ring]
    bottom = max(y for ring in rings for _, y in ring)
    for ring in rings:
        edges += [(a, b) for a, b in zip(ring, ring[1:] + ring[:1]) if abs(b[0] - a[0]) > (max(xs) - min(xs)) / 2]
    return [(a, b) for a, b in edges if min(a[1], b[1]) < bottom - 2]


def browser_search(page, text) -> list[str]:
    return sorted(page.evaluate("t => Take5.search(t).then(rs => rs.map(r => r.product.id))", text))


def test_browser_query_parser_and_search_agree_with_take5_search(browser, campaign, s3_endpoint):
    buckets, _, _ = campaign
    view = Page(browser, root_url(s3_endpoint, buckets))
    page = view.page
    for example in EXAMPLES:
        got = page.evaluate("q => { try { return {parsed: Take5Query.parse(q)}; } catch (e) { return {error: e.message}; } }",
                            example["query"])
        if "error" in example:
            assert example["error"] in got.get("error", ""), (example, got)
        else:
            assert got == {"parsed": example["parsed"]}, example
    counts = {}
    for text in QUERIES:
        expected = python_search(buckets.dist, text)
        assert browser_search(page, text) == expected, text
        counts[text] = len(expected)
    # the cases do select: Pornic's April L2A; Litchfield's 8 % L2A and its L1C (borrowed); ...
    assert counts == {"Pornic L2A 2015-04": 1, "Litchfield cloud<20": 2, "Australia 2015": 4, "L1A": 3,
                      "cloud<=12.5": 5, "france 2015-04-13..2015-04-18": 5, "2015-05": 4, "Nowhere": 0}
    assert view.errors == []


def test_a_slow_search_never_overwrites_a_later_one(browser, campaign, s3_endpoint):
    """While a query waits for a site's index, the page says so; a later query answered first keeps its rows."""
    buckets, _, products = campaign
    page = Page(browser, root_url(s3_endpoint, buckets)).page
    with web.held_index(page, PORNIC) as held:  # held back until Litchfield's query is shown
        page.fill("#search input[name=q]", "Pornic L1A")
        page.press("#search input[name=q]", "Enter")
        expect(page.locator("#search-status")).to_have_text("Searching…")
        expect(page.locator("#add-results")).to_be_disabled()  # "Add all results" would add the previous query's
        litchfield = products[LITCHFIELD][0].name
        assert web.search(page, "Litchfield L1A", 1) == [litchfield]
        assert web.wait_held(page, held) == 1
        web.release(page, held)
    page.evaluate("() => Take5.search('Pornic L1A')")  # resolves after the slow query's own handler ran
    expect(page.locator("#search-status")).to_have_text("1 product(s)")
    expect(page.locator("#add-results")).to_be_enabled()
    assert [row.get_attribute("data-item") for row in page.locator("#results tbody tr").all()] == [litchfield]


def one_litchfield_product_in_cart(browser, root: str, products, change: str | None = None):
    """The browser's cart set to Litchfield's first L1A, from another page; ``change``: JavaScript run on that
    page afterwards, its value returned."""
    first = Page(browser, root).page
    web.empty_cart(first)
    web.add_result(first, "Litchfield L1A", products[LITCHFIELD][0].name)
    value = first.evaluate(change) if change else None
    first.close()
    return value


def test_a_slow_cart_drawing_never_overwrites_a_later_one(browser, campaign, s3_endpoint):
    """The cart emptied while the page still waits for a site's index to draw it stays empty when the index comes."""
    buckets, _, products = campaign
    root = root_url(s3_endpoint, buckets)
    one_litchfield_product_in_cart(browser, root, products)
    with web.held_index(browser, LITCHFIELD) as held:  # before the page loads: its first drawing waits
        page = Page(browser, root).page
        assert web.wait_held(page, held) == 1
        page.evaluate("() => Take5.saveCart([])")  # as "Empty the cart" does: a second drawing, with no index to wait for
        expect(page.locator("#cart-summary")).to_have_text("The cart is empty.")
        web.release(page, held)
        page.evaluate("() => Take5.search('Litchfield').then(() => new Promise((done) => setTimeout(done, 0)))")
        expect(page.locator("#cart-summary")).to_have_text("The cart is empty.")
        assert page.locator("#cart-items tbody tr").count() == 0


def test_the_cart_emptied_while_a_file_kind_is_chosen_stays_empty(browser, campaign, s3_endpoint):
    """A file kind ticked while the page waits for a site's index, then the cart emptied: the index's late
    arrival does not bring the product back."""
    buckets, _, products = campaign
    root = root_url(s3_endpoint, buckets)
    key = one_litchfield_product_in_cart(browser, root, products, """() => {  // one file kind unticked
        const cart = Take5.loadCart(), key = cart[0].assets[0];
        cart[0].assets = cart[0].assets.slice(1);
        Take5.saveCart(cart);
        return key;
    }""")
    with web.held_index(browser, LITCHFIELD) as held:
        page = Page(browser, root).page
        assert web.wait_held(page, held) == 1
        page.evaluate("(key) => { window.chosen = Take5.setAssetKey(key, true); }", key)  # ticking it needs the index
        page.evaluate("() => Take5.saveCart([])")  # "Empty the cart" meanwhile
        web.release(page, held)
        page.evaluate("() => window.chosen")
        assert page.evaluate("() => Take5.loadCart()") == []
        expect(page.locator("#cart-summary")).to_have_text("The cart is empty.")


def test_map_search_cart_and_the_metalink_aria2c_verifies(browser, campaign, s3_endpoint, tmp_path):
    """Everything by typing and clicking, as a user: search, "Add to cart", the map popup's and a site page's
    "+ all L1C", unticking files, "Download the cart"; then aria2c -V on the .meta4 the browser saved."""
    buckets, _, products = campaign
    dist = buckets.dist
    root = root_url(s3_endpoint, buckets)
    view = Page(browser, root)
    page = view.page
    web.empty_cart(page)
    # the map: land and country outlines from Natural Earth, both sites' footprints and markers
    expect(page.locator("#map")).to_have_attribute("data-ready", "2")
    assert page.locator("#map path.land").count() >= 1 and page.locator("#map path.border").count() >= 1
    land = page.locator("#map path.land").first.get_attribute("d")
    assert len(land) > 5000  # real coastlines, not a box
    assert across_the_map(land) == []  # no land cut at the antimeridian drawn as a line across the world
    assert page.locator("#map path.site-marker").count() == 2 and page.locator("#map path.site-footprint").count() == 2

    # free text, from the search box: Pornic's April L2A, then Litchfield's L1A
    l2a, l1a = products[PORNIC][4].name, products[LITCHFIELD][0].name
    web.add_result(page, "Pornic L2A 2015-04", l2a)
    web.add_result(page, "Litchfield L1A", l1a)
    # all L1C of one site from the map's popup, of the other from its own page
    page.locator("#map path.site-marker").nth(0).click()
    popup = page.locator(".leaflet-popup")
    in_popup = LITCHFIELD if "Litchfield" in popup.inner_text() else PORNIC
    popup.locator("button.add-all[data-level=L1C]").click()
    l1c = {site: {p.name for p in products[site] if p.level == "L1C"} for site in products}
    expect(page.locator("header .cart-count")).to_have_text(str(2 + len(l1c[in_popup])))
    other = PORNIC if in_popup == LITCHFIELD else LITCHFIELD
    web.add_all_of_site(page, f"{s3_endpoint}/{dist.bucket}/{other}/index.html", "L1C", root)
    expected_cart = {(PORNIC, l2a), (LITCHFIELD, l1a)} | {(s, n) for s, names in l1c.items() for n in names}
    expect(page.locator("header .cart-count")).to_have_text(str(len(expected_cart)))

    # only some assets: the metadata and the XS1 band of every product
    keys = web.keep_assets(page, {"metadata", "XS1"})
    assert {"XS1", "metadata", "SWIR", "thumbnail"} <= set(keys)
    n = len(expected_cart)
    expect(page.locator("#cart-summary")).to_contain_text(f"{n} product(s), {2 * n} file(s)")
    expect(page.locator("#cart-items tbody tr")).to_have_count(n)
    assert web.cart_rows(page) == expected_cart

    meta4 = web.download_cart(page, tmp_path / "take5-cart.meta4")
    expect(page.locator("#cart-status")).to_contain_text("take5-cart.meta4:")
    files = parse(meta4.read_bytes())
    expected = {}
    for site, name in expected_cart:  # what the published Items list for the chosen assets
        key = layout.item_key(site, name)
        item = json.loads(dist.get_bytes(key))
        chosen = {item["assets"][k]["href"].rsplit("/", 1)[-1] for k in ("metadata", "XS1")}
        expected.update({f.key: f for f in item_files(key, item) if f.key.rsplit("/", 1)[-1] in chosen})
    assert sorted(files) == sorted(expected) and len(files) == 2 * n
    for name, f in files.items():
        assert (f["size"], f["sha256"]) == (expected[name].size, expected[name].sha256)
        assert f["urls"] == [f"{s3_endpoint}/{dist.bucket}/{name}"]

    out = tmp_path / "download"
    run = web.aria2c_verify(meta4, out)
    assert run.returncode == 0, run.stdout + run.stderr
    for name, f in files.items():
        blob = (out / name).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == f["sha256"] and blob == dist.get_bytes(name)
    assert view.errors == []


def test_withdrawn_or_replaced_product_leaves_search_cart_and_pages(browser, campaign, s3_endpoint, tmp_path):
    """A cart filled by clicks, then one product withdrawn and one replaced: the page's search, its cart and
    the .meta4 it downloads (fetched by aria2c -V) follow the new state."""
    buckets, sites, products = campaign
    dist = buckets.dist
    gone = products[PORNIC][0]  # the L1A of 2015-04-13
    old = products[LITCHFIELD][2]  # the L1C of 2015-05-03, replaced by a new version
    view = Page(browser, root_url(s3_endpoint, buckets))
    page = view.page
    web.empty_cart(page)
    web.add_result(page, "Pornic L1A 2015-04-13", gone.name)
    web.add_result(page, "Litchfield L1C 2015-05-03", old.name)
    web.keep_assets(page, {"XS1"})
    expect(page.locator("#cart-summary")).to_contain_text("2 product(s), 2 file(s)")
    old_version = json.loads(dist.get_bytes(layout.item_key(LITCHFIELD, old.name)))["assets"]["XS1"]["href"]

    withdraw_product(buckets.work, dist, sites[PORNIC], gone.name, public_urls(public_base_url(dist)))
    new = make_level(tmp_path / "new", old.acquired, "L1C", None, 9999, LITCHFIELD, FOOTPRINT[LITCHFIELD])
    upload_product(buckets.work, new, tmp_path / "new" / new.name)
    update_catalog(buckets, sites[LITCHFIELD], [publish(buckets, sites[LITCHFIELD], {"product": new.to_dict()})], [])
    new_version = json.loads(dist.get_bytes(layout.item_key(LITCHFIELD, old.name)))["assets"]["XS1"]["href"]
    assert new_version != old_version

    page.reload()
    expected = python_search(dist, "Pornic L1A")
    assert gone.name not in expected and sorted(web.search(page, "Pornic L1A", len(expected))) == expected
    assert gone.name not in dist.get_bytes(layout.metalink_key(PORNIC, "L1A")).decode()
    expect(page.locator("#cart-summary")).to_contain_text("1 product(s), 1 file(s)")
    expect(page.locator("#cart-summary")).to_contain_text("1 no longer published")
    expect(page.locator("#cart-items tr.gone")).to_have_attribute("data-item", gone.name)
    meta4 = web.download_cart(page, tmp_path / "take5-cart.meta4")
    expect(page.locator("#cart-status")).to_contain_text(f"left out (no longer published): {gone.name}")
    files = parse(meta4.read_bytes())
    assert list(files) == [f"{LITCHFIELD}/{old.name}/{new_version.removeprefix('./')}"]
    run = web.aria2c_verify(meta4, tmp_path / "download")
    assert run.returncode == 0, run.stdout + run.stderr
    [(name, only)] = files.items()
    assert only["sha256"] == new.file("XS1").sha256 == hashlib.sha256((tmp_path / "download" / name).read_bytes()).hexdigest()
    site_page = Page(browser, f"{s3_endpoint}/{dist.bucket}/{PORNIC}/index.html")
    assert gone.name not in site_page.page.content()
    assert view.errors == [] and site_page.errors == []
