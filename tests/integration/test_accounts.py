"""Accounts mode, end to end over real HTTP: the accounts server process on a real PostgreSQL, the
moto S3 server with the browse-only bucket policy, aria2c for the downloads.

Moto accepts any presigned URL without checking its signature or expiry: each URL of an order is
checked by an independent SigV4 verifier (``helpers.sigv4``, written from the AWS specification)
with the server's secret key — right signature, ``X-Amz-Expires`` = 7 days, accepted just before
the 7 days are over and refused just after — and fetched from the S3 server.

The pages are also used in Debian chromium (playwright), as a user does, by typing and clicking: the
website's cart refused anonymously, sign up and sign in through the forms, the cart filled and ordered
from the website (the bucket's origin, with the session cookie), the .meta4 fetched by aria2c -V.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import psycopg2
import pytest
from playwright.sync_api import expect

from helpers import website as web
from helpers.accounts import PASSWORD, AccountsServer, create_token, csrf, sign_in, sign_up
from helpers.browser import CHROMIUM, Page, chromium
from helpers.fake_products import site_config
from helpers.metalinks import parse
from helpers.postgres import ThrowawayPostgres
from helpers.published import publish_all
from helpers.sigv4 import Refused, verify
from take5_ops.cli import main
from take5_ops.dashboard.page import downloads_box
from take5_ops.distribution.access import presigned_urls, public_base_url, set_access, set_order_url
from take5_ops.distribution.accounts.stats import read_stats
from take5_ops.storage import Buckets, S3Store, layout
from take5_ops.storage.buckets import ROLES, default_name

SITE = "FrancePornic"
SECRET_KEY = "testing"  # the tests' AWS secret key (conftest): what the server signs with
WEEK = 7 * 24 * 3600
ARIA2C = web.ARIA2C


@pytest.fixture(scope="module")
def postgres():
    server = ThrowawayPostgres().start()
    yield server
    server.stop()


@pytest.fixture
def http():
    """An HTTP client that waits as long as the servers may take under load (httpx's default is 5 s)."""
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def stack(postgres, s3_endpoint, tmp_path_factory):
    """Buckets with three published products (two L1C, one L2A), in accounts mode, and the server."""
    root = tmp_path_factory.mktemp("accounts")
    stores = {}
    for role in ROLES:
        store = S3Store.from_endpoint(f"{default_name(role)}-accounts", s3_endpoint)
        store.client.create_bucket(Bucket=store.bucket)
        stores[role] = store
    buckets = Buckets(**stores)
    products, _ = publish_all(buckets, site_config(root), root / "src", [
        (datetime(2015, 5, 3, 10), "L1C", None, 1000), (datetime(2015, 5, 8, 10), "L1C", None, 1100),
        (datetime(2015, 5, 8, 10), "L2A", 12.5, 1200)])
    server = AccountsServer(postgres.database("take5_accounts", "take5_accounts"), s3_endpoint,
                            buckets.dist.bucket, buckets.work.bucket, root / "accounts.log",
                            {"TAKE5_ACCOUNTS_ATTEMPTS": "1000/600"})  # this module signs in often from 127.0.0.1
    set_access(buckets.dist, accounts=True)
    set_order_url(buckets.dist, f"{server.url}/orders")
    server.start()
    yield buckets, products, server
    server.stop()


def _item(product, assets=None) -> dict:
    entry = {"collection": product.site_id, "item": product.name}
    if assets is not None:
        entry["assets"] = assets
    return entry


def _order(client: httpx.Client, cart, **headers) -> httpx.Response:
    return client.post("/orders", content=json.dumps(cart), headers={"Content-Type": "application/json", **headers})


def test_anonymous_users_browse_but_cannot_download(stack, s3_endpoint, http):
    buckets, products, server = stack
    base = public_base_url(buckets.dist)
    item_key = layout.item_key(SITE, products[0].name)
    item = json.loads(buckets.dist.get_bytes(item_key))
    data_asset = item_key.rsplit("/", 1)[0] + "/" + item["assets"]["XS1"]["href"].removeprefix("./")
    quicklook = item_key.rsplit("/", 1)[0] + "/" + item["assets"]["thumbnail"]["href"].removeprefix("./")
    for key in (layout.CATALOG_KEY, layout.collection_key(SITE), item_key, layout.site_page_key(SITE), quicklook):
        assert http.get(base + key).status_code == 200, key  # browsing stays open
    config = http.get(base + layout.WEB_CONFIG_KEY).json()
    assert config["order_url"] == f"{server.url}/orders"
    assert http.get(base + data_asset).status_code == 403  # a direct GET of a product file, unsigned
    assert http.get(base + layout.metalink_key(SITE, "L1C")).status_code == 403
    signed = presigned_urls(buckets.dist, 600)(data_asset)
    assert http.get(signed).content == buckets.dist.get_bytes(data_asset)

    refused = http.post(f"{server.url}/orders", json=[_item(products[0])])
    assert refused.status_code == 401
    assert refused.json()["field"] == "Authorization"
    assert refused.headers["www-authenticate"].startswith("Bearer")


def test_sign_up_needs_the_licence(stack):
    _, _, server = stack
    with server.client() as client:
        page = client.get("/signup")
        assert "Version: 1.0" in page.text and 'name="accept_licence"' in page.text
        refused = sign_up(client, "nolicence@example.org", accept=False)
        assert refused.status_code == 422
        assert 'data-field="accept_licence"' in refused.text
        stale = sign_up(client, "nolicence@example.org", version="0.9")
        assert stale.status_code == 422 and 'data-field="licence_version"' in stale.text
        assert sign_in(client, "nolicence@example.org").status_code == 401  # no account was made


@pytest.mark.skipif(ARIA2C is None, reason="aria2c (Debian package aria2) not installed")
def test_sign_up_sign_in_order_and_download_everything(stack, s3_endpoint, tmp_path):
    buckets, products, server = stack
    email = "Ada@Example.org"
    with server.client() as client:
        assert sign_up(client, email).status_code == 303
        client.post("/signout", data={"csrf_token": csrf(client, "/")})
        assert client.get("/").status_code == 303  # signed out
        assert sign_in(client, "ada@example.org").status_code == 303
        page = client.get("/")
        assert "ada@example.org" in page.text and "accepted: version 1.0" in page.text

        cart = [_item(products[0]), _item(products[2], ["XS1", "SAT"]), _item(products[1], ["metadata"])]
        order = _order(client, cart, Origin=s3_endpoint)  # from the website (the bucket's origin)
        assert order.status_code == 200, order.text
        assert order.headers["content-type"].startswith("application/metalink4+xml")
        assert order.headers["content-disposition"].startswith("attachment;")
        ordered_at = datetime.now().astimezone()
        account = client.get("/api/account").json()

    files = parse(order.content)
    item0 = json.loads(buckets.dist.get_bytes(layout.item_key(SITE, products[0].name)))
    assert len(files) == len(item0["assets"]) + 2 + 1
    for name, f in files.items():
        (url,) = f["urls"]
        signed = verify(url, SECRET_KEY)  # SigV4 signature right for this key, not expired
        assert signed["expires"] == WEEK
        assert abs(signed["signed_at"] - ordered_at) < timedelta(minutes=2)
        verify(url, SECRET_KEY, now=signed["signed_at"] + timedelta(seconds=WEEK - 60))
        with pytest.raises(Refused, match="expired"):
            verify(url, SECRET_KEY, now=signed["signed_at"] + timedelta(seconds=WEEK + 60))
        with pytest.raises(Refused, match="Signature"):
            verify(url, "another secret")
        head = buckets.dist.head(name)
        assert f["size"] == head.size

    meta4 = tmp_path / "order.meta4"
    meta4.write_bytes(order.content)
    run = subprocess.run([ARIA2C, f"--metalink-file={meta4}", "-d", str(tmp_path / "dl"), "--check-integrity=true",
                          "-q"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    for name, f in files.items():
        blob = (tmp_path / "dl" / name).read_bytes()
        assert len(blob) == f["size"] and hashlib.sha256(blob).hexdigest() == f["sha256"]

    (recorded,) = account["orders"]
    assert recorded["files"] == len(files) and recorded["bytes"] == sum(f["size"] for f in files.values())
    stats = read_stats(buckets.work)
    rows = {(r["site"], r["level"]): r for r in stats["rows"]}
    assert rows[(SITE, "L1C")]["products"] >= 2 and rows[(SITE, "L2A")]["files"] >= 2
    html = downloads_box(stats)
    assert f'data-site="{SITE}" data-level="L2A"' in html
    assert "no order yet" in downloads_box({**stats, "rows": []}) and "is off" in downloads_box(None)


def test_api_tokens_wrong_revoked_or_expired_are_refused(stack, postgres):
    _, products, server = stack
    cart = [_item(products[2], ["XS2"])]
    with server.client() as browser:
        assert sign_up(browser, "script@example.org").status_code == 303
        token = create_token(browser, "nightly", days=30)
        other = create_token(browser, "to revoke")
        state = browser.get("/api/account").json()
    assert token.startswith("t5_") and len(token) > 40
    api = httpx.Client(base_url=server.url, timeout=30)
    ok = _order(api, cart, Authorization=f"Bearer {token}")
    assert ok.status_code == 200 and len(parse(ok.content)) == 1

    for header in (f"Bearer {token}x", "Bearer t5_nothing", f"Basic {token}", "Bearer"):
        refused = _order(api, cart, Authorization=header)
        assert refused.status_code == 401, header
        assert refused.json()["field"] == "Authorization"

    revoke_id = next(t["id"] for t in state["tokens"] if t["name"] == "to revoke")
    with server.client() as browser:
        assert sign_in(browser, "script@example.org").status_code == 303
        revoked = browser.post(f"/tokens/{revoke_id}/revoke", data={"csrf_token": csrf(browser, "/")})
        assert revoked.status_code == 303
    assert _order(api, cart, Authorization=f"Bearer {other}").status_code == 401

    with psycopg2.connect(server.env["TAKE5_ACCOUNTS_DB"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT token_hash FROM accounts.token")
        stored = {row[0] for row in cur.fetchall()}
        assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored  # kept hashed only
        cur.execute("UPDATE accounts.token SET expires_at = now() - interval '1 second' WHERE name = 'nightly'")
    expired = _order(api, cart, Authorization=f"Bearer {token}")
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_every_input_is_checked_with_the_field_named(stack):
    _, products, server = stack
    with server.client() as client:
        bad_email = client.post("/signup", data={"csrf_token": csrf(client, "/signup"), "email": "not-an-address",
                                                 "password": PASSWORD, "accept_licence": "on", "licence_version": "1.0"})
        assert bad_email.status_code == 422 and 'data-field="email"' in bad_email.text
        short = sign_up(client, "short@example.org", password="abc")
        assert short.status_code == 422 and 'data-field="password"' in short.text
        no_csrf = client.post("/signup", data={"email": "x@example.org", "password": PASSWORD, "accept_licence": "on",
                                               "licence_version": "1.0"})
        assert no_csrf.status_code == 403 and 'data-field="csrf_token"' in no_csrf.text
        assert sign_up(client, "checks@example.org").status_code == 303
        assert sign_up(client, "CHECKS@example.org").status_code == 409  # taken, whatever the case

        good = _item(products[0])
        cases = [
            ("not json", 400, "body"),
            ({"not": "a list"}, 422, "cart"),
            ([], 422, "cart"),
            ([{"collection": "../etc", "item": products[0].name}], 422, "cart[0].collection"),
            ([good, {"collection": SITE, "item": "a/b"}], 422, "cart[1].item"),
            ([{"collection": SITE, "item": "SPOT5-HRG2-XS_20150101-000000-000_L1C_FrancePornic_D_V1-0"}], 422,
             "cart[0].item"),
            ([{**good, "assets": ["XS1", "NOPE"]}], 422, "cart[0].assets[1]"),
            ([{**good, "assets": "XS1"}], 422, "cart[0].assets"),
            ([good, 3], 422, "cart[1]"),
        ]
        for body, status, field in cases:
            content = body if isinstance(body, str) else json.dumps(body)
            r = client.post("/orders", content=content, headers={"Content-Type": "application/json"})
            assert (r.status_code, r.json()["field"]) == (status, field), (body, r.text)
        huge = client.post("/orders", content=b"[" + b" " * (2 * 1024 * 1024) + b"]",
                           headers={"Content-Type": "application/json"})
        assert huge.status_code == 413 and huge.json()["field"] == "body"
        form = client.post("/orders", data={"cart": "[]"})
        assert form.status_code == 415 and form.json()["field"] == "Content-Type"
        foreign = _order(client, [good], Origin="http://evil.example")
        assert foreign.status_code == 403 and foreign.json()["field"] == "Origin"
        token = client.post("/tokens", data={"csrf_token": csrf(client, "/"), "name": "x", "days": "0"})
        assert token.status_code == 422 and 'data-field="days"' in token.text


def test_a_licence_not_accepted_in_its_current_version_stops_orders(stack):
    _, products, server = stack
    with server.client() as client:
        assert sign_up(client, "older@example.org").status_code == 303
        with psycopg2.connect(server.env["TAKE5_ACCOUNTS_DB"]) as conn, conn.cursor() as cur:
            cur.execute("UPDATE accounts.account SET licence_version = '0.9' WHERE email = 'older@example.org'")
        refused = _order(client, [_item(products[0])])
        assert refused.status_code == 403 and refused.json()["field"] == "licence"
        page = client.get("/")
        assert "not accepted (current version 1.0; you accepted 0.9)" in page.text
        not_ticked = client.post("/licence", data={"csrf_token": csrf(client, "/"), "licence_version": "1.0"})
        assert not_ticked.status_code == 422 and 'data-field="accept_licence"' in not_ticked.text
        accepted = client.post("/licence", data={"csrf_token": csrf(client, "/"), "licence_version": "1.0",
                                                 "accept_licence": "on"})
        assert accepted.status_code == 303
        assert client.get("/api/account").json()["licence"]["accepted"] is True
        assert _order(client, [_item(products[0])]).status_code == 200


def test_the_website_may_order_cross_origin_with_its_session(stack, s3_endpoint, http):
    _, _, server = stack
    preflight = http.options(f"{server.url}/orders", headers={
        "Origin": s3_endpoint, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == s3_endpoint
    assert preflight.headers["access-control-allow-credentials"] == "true"
    other = http.options(f"{server.url}/orders", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in other.headers


def test_failed_sign_ins_of_one_account_are_rate_limited(stack):
    _, _, server = stack
    with server.client() as client:
        assert sign_up(client, "limited@example.org").status_code == 303
    with server.client() as client:
        for _ in range(10):
            assert sign_in(client, "limited@example.org", "wrong password!").status_code == 401
        limited = sign_in(client, "limited@example.org")  # even the right password, for the window
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert 'data-field="email"' in limited.text


def test_sign_up_and_sign_in_attempts_are_rate_limited_per_address(stack, s3_endpoint, tmp_path):
    """The default limit, 10 attempts per address in 10 minutes, on a server of its own (same database)."""
    buckets, _, shared = stack
    server = AccountsServer(shared.env["TAKE5_ACCOUNTS_DB"], s3_endpoint,
                            buckets.dist.bucket, buckets.work.bucket, tmp_path / "accounts.log").start()
    try:
        with server.client() as client:
            started = time.monotonic()
            for i in range(5):
                assert sign_up(client, f"burst{i}@example.org").status_code == 303
            for i in range(5):
                assert sign_in(client, f"burst{i}@example.org", "wrong password!").status_code == 401
            for attempt in (lambda: sign_in(client, "burst0@example.org"), lambda: sign_up(client, "late@example.org")):
                refused = attempt()  # the right password, a new account: refused alike
                assert refused.status_code == 429, refused.text
                assert 600 - (time.monotonic() - started) <= int(refused.headers["retry-after"]) <= 601
                assert 'data-field="address"' in refused.text and "127.0.0.1" in refused.text
        other = httpx.Client(base_url=server.url, timeout=30, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        with other:  # another client address is heard
            assert sign_in(other, "burst0@example.org").status_code == 303
    finally:
        server.stop()
    with psycopg2.connect(server.env["TAKE5_ACCOUNTS_DB"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM accounts.account WHERE email = 'late@example.org'")
        assert cur.fetchone() == (0,)  # the refused sign-up made no account


def test_operators_list_and_disable_accounts(stack, capsys):
    _, products, server = stack
    with server.client() as client:
        assert sign_up(client, "leaver@example.org").status_code == 303
        token = create_token(client)
    db = ["accounts", "--db", server.env["TAKE5_ACCOUNTS_DB"]]
    assert main(db + ["disable", "leaver@example.org"]) == 0
    assert main(db + ["list"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("leaver@example.org") and " disabled " in line for line in out.splitlines())
    with server.client() as client:
        refused = sign_in(client, "leaver@example.org")
        assert refused.status_code == 403 and "disabled" in refused.text
    api = httpx.Client(base_url=server.url, timeout=30)
    assert _order(api, [_item(products[0])], Authorization=f"Bearer {token}").status_code == 401
    assert main(db + ["enable", "leaver@example.org"]) == 0
    assert _order(api, [_item(products[0])], Authorization=f"Bearer {token}").status_code == 200
    assert main(db + ["disable", "nobody@example.org"]) == 1


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")
@pytest.mark.skipif(ARIA2C is None, reason="aria2c (Debian package aria2) not installed")
def test_in_chromium_sign_up_sign_in_and_order_the_cart_from_the_website(stack, tmp_path):
    """As a user, by typing and clicking: the website's cart cannot be downloaded anonymously; sign up (the
    licence ticked), sign out, sign in, fill the cart, "Download the cart": the order's .meta4, every URL
    presigned for 7 days, that aria2c -V fetches and verifies."""
    buckets, products, server = stack
    website = f"{public_base_url(buckets.dist)}{layout.ROOT_PAGE_KEY}"
    with chromium(tmp_path / "profile", accept_downloads=True) as context:
        view = Page(context, website)
        page = view.page
        web.empty_cart(page)
        l2a = products[2]
        web.add_result(page, "Pornic L2A", l2a.name)
        page.click("#cart-download")  # anonymous: refused, with a link to sign in
        expect(page.locator("#cart-status")).to_contain_text("order refused (HTTP 401)")
        page.click("#cart-status a")
        page.wait_for_url(f"{server.url}/signin")
        page.click("text=No account yet? Sign up >> a")
        page.fill("#email", "browser@example.org")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")  # the licence not ticked: refused, the field named
        expect(page.locator("p.error")).to_have_attribute("data-field", "accept_licence")
        page.fill("#password", PASSWORD)
        page.check("#accept_licence")
        page.click("button[type=submit]")
        expect(page.get_by_test_id("licence-state")).to_contain_text("accepted: version 1.0")
        page.click("text=Sign out")
        page.wait_for_url(f"{server.url}/signin")
        page.fill("#email", "browser@example.org")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.get_by_test_id("email")).to_have_text("browser@example.org")

        page.goto(website)  # back on the website (the bucket's origin), signed in on the accounts server
        expect(page.locator("header .cart-count")).to_have_text("1")  # the cart was kept
        web.add_result(page, "Pornic L1C 2015-05-03", products[0].name)
        web.keep_assets(page, {"XS1", "SAT", "metadata"})
        expect(page.locator("#cart-summary")).to_contain_text("2 product(s), 6 file(s)")
        meta4 = web.download_cart(page, tmp_path / "take5-cart.meta4")
        expect(page.locator("#cart-status")).to_have_text("Ordered 2 product(s).")
        page.goto(f"{server.url}/")
        expect(page.get_by_test_id("order-count")).to_have_text("1")

    files = parse(meta4.read_bytes())
    expected = set()
    for product in (l2a, products[0]):
        key = layout.item_key(SITE, product.name)
        item = json.loads(buckets.dist.get_bytes(key))
        expected |= {key.rsplit("/", 1)[0] + "/" + item["assets"][k]["href"].removeprefix("./")
                     for k in ("XS1", "SAT", "metadata")}
    assert set(files) == expected
    for f in files.values():
        assert verify(f["urls"][0], SECRET_KEY)["expires"] == WEEK
    run = web.aria2c_verify(meta4, tmp_path / "dl")
    assert run.returncode == 0, run.stdout + run.stderr
    for name, f in files.items():
        blob = (tmp_path / "dl" / name).read_bytes()
        assert blob == buckets.dist.get_bytes(name) and hashlib.sha256(blob).hexdigest() == f["sha256"]
    refusals = [f"HTTP 401 {server.url}/orders", f"HTTP 422 {server.url}/signup"]
    console = "console: Failed to load resource: the server responded with a status of"
    assert sorted(e for e in view.errors if not e.startswith(console)) == refusals, view.errors
    assert sorted(e.removeprefix(console) for e in view.errors if e.startswith(console)) == [
        " 401 (Unauthorized)", " 422 (Unprocessable Entity)"]  # the same two, nothing else
