"""Accounts mode's small pieces: the cart and form checks, the rate limits, credentials, the
browse-only policy's patterns, the website's order URL setting, the server's settings."""

from __future__ import annotations

import fnmatch
import json

import pytest

from take5_ops.distribution.access import BROWSE_PATTERNS, browse_read_policy, set_order_url
from take5_ops.distribution.accounts import credentials, validation
from take5_ops.distribution.accounts.limits import RateLimiter
from take5_ops.distribution.accounts.settings import DEFAULT_LICENCE, Licence, Settings, accounts_mode, rate
from take5_ops.errors import FieldError, InputError
from take5_ops.storage import LocalStore, layout

NAME = "SPOT5-HRG2-XS_20150503-100000-000_L1C_FrancePornic_D_V1-0"
V = "1"


def field_of(call, *args) -> str:
    with pytest.raises(FieldError) as err:
        call(*args)
    return err.value.field


def test_cart_entries_are_checked_and_merged():
    entries = validation.cart([
        {"collection": "FrancePornic", "item": NAME, "assets": ["XS1", "SAT"]},
        {"collection": "FrancePornic", "item": NAME, "assets": ["XS1", "CLM"], "title": "ignored"},
        {"collection": "AustraliaLitchfield", "item": NAME.replace("FrancePornic", "AustraliaLitchfield")},
    ])
    assert [(e.collection, e.assets, e.field) for e in entries] == [
        ("FrancePornic", ("XS1", "SAT", "CLM"), "cart[0]"), ("AustraliaLitchfield", (), "cart[2]")]
    assert validation.cart({"cart": [{"collection": "S", "item": NAME, "assets": None}]})[0].assets == ()
    merged = validation.cart([{"collection": "S", "item": NAME, "assets": ["XS1"]}, {"collection": "S", "item": NAME}])
    assert merged[0].assets == ()  # one entry asks for every file


@pytest.mark.parametrize(("doc", "field"), [
    ("[]", "cart"), ({"cart": {}}, "cart"), ([None], "cart[0]"),
    ([{"collection": "a b", "item": NAME}], "cart[0].collection"),
    ([{"collection": "S", "item": "../x"}], "cart[0].item"),
    ([{"collection": "S", "item": "a..b"}], "cart[0].item"),
    ([{"collection": "S", "item": NAME, "assets": ["XS1", 7]}], "cart[0].assets[1]"),
    ([{"collection": "S", "item": NAME, "assets": ["x/y"]}], "cart[0].assets[0]"),
    ([{"collection": "S", "item": NAME}] * (validation.CART_MAX + 1), "cart"),
])
def test_a_bad_cart_names_its_field(doc, field):
    assert field_of(validation.cart, json.loads(doc) if isinstance(doc, str) else doc) == field


def test_form_fields():
    assert validation.email({"email": " Ada@Example.ORG "}) == "ada@example.org"
    for form in ({}, {"email": "ada"}, {"email": "a@b@c"}, {"email": "x" * 300 + "@a.org"}):
        assert field_of(validation.email, form) == "email"
    for password in ("", "short", "1234567890123"):
        assert field_of(validation.new_password, {"password": password}) == "password"
    assert field_of(validation.licence_acceptance, {"licence_version": V}, V) == "accept_licence"
    assert field_of(validation.licence_acceptance, {"accept_licence": "on", "licence_version": "0"}, V) == \
        "licence_version"
    assert validation.licence_acceptance({"accept_licence": "on", "licence_version": V}, V) == V
    assert validation.token_request({"name": "nightly sync", "days": "30"}) == ("nightly sync", 30)
    assert validation.token_request({"name": "x"}) == ("x", 365)
    for form, field in (({"name": "<b>"}, "name"), ({"name": "x", "days": "0"}, "days"),
                        ({"name": "x", "days": "ten"}, "days"), ({"name": "x", "days": "99999"}, "days")):
        assert field_of(validation.token_request, form) == field


def test_rate_limiter_counts_events_per_key_in_a_sliding_window():
    now = [0.0]
    limiter = RateLimiter(limit=3, window=60, clock=lambda: now[0])
    for t in (0.0, 10.0, 20.0):
        now[0] = t
        assert limiter.retry_after("1.2.3.4") == 0
        limiter.hit("1.2.3.4")
    assert limiter.retry_after("1.2.3.4") == 41  # the first event leaves the window at t=60
    assert limiter.retry_after("5.6.7.8") == 0  # another key
    now[0] = 61.0
    assert limiter.retry_after("1.2.3.4") == 0  # the window moved on: one event out, two in
    limiter.hit("1.2.3.4")
    assert limiter.retry_after("1.2.3.4") == 10
    limiter.clear("1.2.3.4")
    assert limiter.retry_after("1.2.3.4") == 0


def test_rate_setting_is_checked():
    assert rate("10/600", "X") == (10, 600)
    for bad in ("10", "0/600", "10/0", "ten/600", "10/-5", "/"):
        with pytest.raises(InputError, match=r"X=.*N/SECONDS"):
            rate(bad, "X")


def test_credentials():
    stored = credentials.hash_password("a long passphrase")
    assert stored.startswith("$argon2id$") and "a long passphrase" not in stored
    assert credentials.verify_password(stored, "a long passphrase")
    assert not credentials.verify_password(stored, "a long passphrasE")
    assert not credentials.verify_password(None, "a long passphrase")
    assert not credentials.verify_password("not a hash", "x")
    a, b = credentials.new_token(), credentials.new_token()
    assert a != b and a.startswith("t5_") and len(credentials.token_hash(a)) == 64


def test_browse_policy_opens_pages_and_documents_but_no_product_file():
    prefix = f"FrancePornic/{NAME}/"
    l1a = "FrancePornic/" + NAME.replace("_L1C_", "_L1A_")
    readable = ["catalog.json", "index.html", "config.json", "assets/take5.css", "FrancePornic/collection.json",
                "FrancePornic/index.html", f"{prefix}{NAME}.json", f"{prefix}v1/{NAME}_QKL.jpg",
                f"{prefix}v1/{NAME}_MTD.json", f"{l1a}/v1/{l1a.rsplit('/', 1)[1]}_PREVIEW.JPG"]
    private = [f"{prefix}v1/{NAME}_XS1.tif", f"{prefix}v1/{NAME}_SAT.tif", "FrancePornic/FrancePornic_L1C.meta4",
               f"{l1a}/v1/{l1a.rsplit('/', 1)[1]}_IMAGERY.TIF"]
    policy = browse_read_policy("b")
    (statement,) = policy["Statement"]
    assert statement["Action"] == ["s3:GetObject"] and statement["Principal"] == "*"
    resources = statement["Resource"]
    assert len(resources) == len(BROWSE_PATTERNS)

    def allowed(key):  # S3's wildcard: * matches any characters, '/' included (so does fnmatch's)
        return any(fnmatch.fnmatchcase(f"arn:aws:s3:::b/{key}", r) for r in resources)

    assert [k for k in readable if not allowed(k)] == []
    assert [k for k in private if allowed(k)] == []


def test_order_url_in_the_website_config(tmp_path):
    store = LocalStore(tmp_path)
    assert set_order_url(store, None)  # nothing there: public mode written, so that pages never miss it
    assert json.loads(store.get_bytes(layout.WEB_CONFIG_KEY)) == {"order_url": None}
    assert not set_order_url(store, None)  # unchanged
    store.put_bytes(layout.WEB_CONFIG_KEY, b'{"order_url": null, "title": "Take5"}')
    assert set_order_url(store, "http://127.0.0.1:8081/orders")
    assert not set_order_url(store, "http://127.0.0.1:8081/orders")  # unchanged
    assert json.loads(store.get_bytes(layout.WEB_CONFIG_KEY)) == {
        "order_url": "http://127.0.0.1:8081/orders", "title": "Take5"}
    assert set_order_url(store, None)  # back to public mode: the other settings stay
    assert json.loads(store.get_bytes(layout.WEB_CONFIG_KEY)) == {"order_url": None, "title": "Take5"}


def test_settings_need_their_secrets(tmp_path, monkeypatch):
    licence = tmp_path / "licence.md"
    licence.write_text("# Licence\n\nVersion: 2.1\n\ntext\n")
    assert Licence.load(licence).version == "2.1"
    env = {"TAKE5_ACCOUNTS_DB": "postgresql://u:p@127.0.0.1:1/db", "TAKE5_ACCOUNTS_SECRET": "s" * 40,
           "TAKE5_ACCOUNTS_LICENCE": str(licence), "TAKE5_S3_ENDPOINT": "http://127.0.0.1:9000"}
    settings = Settings.from_env(env)
    assert settings.order_url == "http://127.0.0.1:8081/orders"
    assert settings.website_origins == ("http://127.0.0.1:9000",) and settings.order_expires == 7 * 24 * 3600
    for name, value in (("TAKE5_ACCOUNTS_SECRET", ""), ("TAKE5_ACCOUNTS_SECRET", "short"), ("TAKE5_ACCOUNTS_DB", ""),
                        ("TAKE5_ORDER_EXPIRES", str(8 * 24 * 3600))):
        with pytest.raises(InputError, match=name):
            Settings.from_env({**env, name: value})
    licence.write_text("no version line")
    with pytest.raises(InputError, match="Version"):
        Settings.from_env(env)
    assert not accounts_mode({}) and accounts_mode({"TAKE5_ACCOUNTS": "1"}) and not accounts_mode({"TAKE5_ACCOUNTS": "0"})
    shipped = Licence.load(DEFAULT_LICENCE)  # docs/data-licence.md: users see no note for the operators
    assert shipped.version == "1.0" and "<!--" not in shipped.text and "For the operators" not in shipped.text
