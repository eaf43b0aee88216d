#!/usr/bin/env python3
"""Screenshots of the running demo stack (``make run``) for the docs, in Debian's headless chromium.

Writes to ``docs/img/``: ``website-root.png`` (the map and a free-text search with its results),
``website-cart.png`` (a cart of the site's products from a search and "+ all L1C", cut down to some files),
``website-site.png`` (the site's page), ``demo-dashboard.png``; with ``--accounts`` (a stack started with
``TAKE5_ACCOUNTS=1``) also ``accounts-signup.png`` and ``accounts-page.png`` (a new account, after ordering
that cart from the website). Every step is a user's: typing and clicking.
Usage: ``python scripts/screenshots.py --password <the admin password make run printed> [--accounts URL]``
(the other URLs follow ``TAKE5_*_PORT`` as the stack does).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import tempfile
from pathlib import Path

IMG = Path(__file__).resolve().parents[1] / "docs" / "img"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEEP = {"CLM", "MG2", "metadata", "thumbnail"}  # the files kept in the cart's picture


def port(name: str, default: int) -> str:
    return os.environ.get(f"TAKE5_{name}_PORT", str(default))


def full_page(page, name: str) -> None:
    """A full-page screenshot once every quicklook is loaded (they load lazily, as they come into view)."""
    for image in page.locator("img").all():
        image.scroll_into_view_if_needed()
    page.wait_for_function("Array.from(document.images).every((i) => i.complete && i.naturalWidth > 0)")
    page.evaluate("window.scrollTo(0, 0)")  # the table's sticky header back on top
    page.screenshot(path=str(IMG / name), full_page=True)


def website_pictures(page, website: str, site: str, query: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{website}/index.html")
    expect(page.locator("#map")).to_have_attribute("data-ready", re.compile(r"^[1-9]"))  # the sites drawn
    page.fill("#search input[name=q]", query)
    page.press("#search input[name=q]", "Enter")
    expect(page.locator("#search-status")).to_have_text(re.compile(r"^[1-9]\d* product\(s\)"))
    full_page(page, "website-root.png")

    page.click("#add-results")
    expect(page.locator("#search-status")).to_contain_text("added to the cart")
    page.goto(f"{website}/{site}/index.html")
    full_page(page, "website-site.png")
    page.click("p.cart-actions button.add-all[data-level=L1C]")
    page.locator("p.cart-actions button.add-all.added").wait_for()
    page.goto(f"{website}/index.html#cart")
    page.locator("#cart-assets input[name=asset]").first.wait_for()
    for box in page.locator("#cart-assets input[name=asset]").all():
        if box.get_attribute("value") not in KEEP:
            box.uncheck()
    page.locator("#cart").screenshot(path=str(IMG / "website-cart.png"))


def accounts_pictures(page, website: str, accounts: str) -> None:
    """Sign up a new demo account, order the cart from the website, show the account page."""
    page.goto(f"{accounts}/signup")
    page.fill("#email", f"demo-{secrets.token_hex(3)}@example.org")
    page.fill("#password", secrets.token_urlsafe(12))
    page.check("#accept_licence")
    page.screenshot(path=str(IMG / "accounts-signup.png"), full_page=True)
    page.click("button[type=submit]")
    page.get_by_test_id("email").wait_for()
    page.goto(f"{website}/index.html#cart")
    with page.expect_download():
        page.click("#cart-download")
    page.goto(f"{accounts}/")
    page.get_by_test_id("orders").wait_for()
    page.screenshot(path=str(IMG / "accounts-page.png"), full_page=True)


def dashboard_picture(page, airflow: str, password: str) -> None:
    page.goto(f"{airflow}/take5/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{airflow}/take5/", timeout=120000)  # the login page sends us on
    page.screenshot(path=str(IMG / "demo-dashboard.png"))  # the top: totals and charts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--password", required=True, help="the Airflow admin password")
    parser.add_argument("--site", default="FrancePornic")
    parser.add_argument("--query", default="Pornic L2A", help="the search shown on the root page")
    parser.add_argument("--airflow", default=f"http://localhost:{port('API', 8080)}")
    parser.add_argument("--website", default=f"http://127.0.0.1:{port('S3', 9000)}/take5-dist")
    parser.add_argument("--accounts", help="the accounts server's URL (accounts mode), e.g. http://127.0.0.1:8081")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(profile, executable_path="/usr/bin/chromium", args=FLAGS,
                                                        viewport={"width": 1280, "height": 900},
                                                        accept_downloads=True)
        page = context.new_page()
        website_pictures(page, args.website, args.site, args.query)
        if args.accounts:
            accounts_pictures(page, args.website, args.accounts)
        dashboard_picture(page, args.airflow, args.password)
        context.close()
    print(f"screenshots written to {IMG}")


if __name__ == "__main__":
    main()
