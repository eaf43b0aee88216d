"""The website's cart as a user fills it in chromium (typing, clicking, unticking), and the .meta4 it downloads
fetched and verified by the real aria2c."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import expect

ARIA2C = shutil.which("aria2c")


def search(page, text: str, count: int) -> list[str]:
    """Type ``text`` in the search box, press Enter, wait for ``count`` results; their product ids."""
    page.fill("#search input[name=q]", text)
    page.press("#search input[name=q]", "Enter")
    expect(page.locator("#search-status")).to_have_text(f"{count} product(s)")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(count)
    return [row.get_attribute("data-item") for row in rows.all()]


@contextmanager
def held_index(target, site: str) -> Iterator[list]:
    """Requests for ``site``'s products.json held back while the block runs (``target``: a page, or the
    browser context for every page); yields the list of held routes."""
    pattern, held = f"**/{site}/products.json", []
    target.route(pattern, lambda route: held.append(route))
    try:
        yield held
    finally:
        target.unroute(pattern)


def wait_held(page, held: list, seconds: float = 10.0) -> int:
    """Wait until a route handler appending to ``held`` has held a request (handlers run while Playwright
    waits); how many it holds."""
    for _ in range(int(seconds * 10)):
        if held:
            break
        page.wait_for_timeout(100)
    return len(held)


def release(page, held: list) -> None:
    """Let the first held request through, and wait until the page has its response."""
    with page.expect_response(held[0].request.url):
        held[0].continue_()


def cart_count(page) -> int:
    return int(page.locator("header .cart-count").inner_text())


def empty_cart(page) -> None:
    """Click "Empty the cart" when it holds anything (the browser profile keeps a cart across pages and tests)."""
    if cart_count(page):  # the header's count is written from localStorage as the page loads
        page.click("#cart-clear")  # waits until the cart section is drawn and the button enabled
    expect(page.locator("header .cart-count")).to_have_text("0")
    expect(page.locator("#cart-summary")).to_have_text("The cart is empty.")


def add_result(page, text: str, item: str) -> None:
    """Search ``text`` (one result, ``item``) and click its "Add to cart"."""
    before = cart_count(page)
    assert search(page, text, 1) == [item], text
    page.locator("#results tbody tr button.add-one").first.click()
    expect(page.locator("header .cart-count")).to_have_text(str(before + 1))


def add_all_of_site(page, site_url: str, level: str, root_url: str) -> None:
    """On the site page, click "+ all <level>" of this site, then come back to the root page."""
    page.goto(site_url)
    button = page.locator(f"p.cart-actions button.add-all[data-level={level}]")
    button.click()
    expect(button).to_have_class(re.compile(r"\badded\b"))
    page.goto(root_url)


def keep_assets(page, keep: set[str]) -> list[str]:
    """Untick every asset key of the cart but ``keep``; returns the keys the cart offered."""
    boxes = page.locator("#cart-assets input[name=asset]")
    expect(boxes.first).to_be_visible()
    keys = [box.get_attribute("value") for box in boxes.all()]
    for key in keys:
        box = page.locator(f'#cart-assets input[value="{key}"]')
        if key not in keep:
            box.uncheck()
            expect(box).not_to_be_checked()
    return keys


def cart_rows(page) -> set[tuple[str, str]]:
    """(site, product) of each product the cart table shows as published."""
    return {(row.get_attribute("data-site"), row.get_attribute("data-item"))
            for row in page.locator("#cart-items tbody tr:not(.gone)").all()}


def download_cart(page, meta4: Path) -> Path:
    """Click "Download the cart" and save the .meta4 the browser receives."""
    with page.expect_download() as download:
        page.click("#cart-download")
    download.value.save_as(meta4)
    return meta4


def aria2c_verify(meta4: Path, out: Path) -> subprocess.CompletedProcess:
    """``aria2c -V``: fetch every file of ``meta4`` into ``out`` and verify its size and SHA-256."""
    return subprocess.run([ARIA2C, "-V", f"--metalink-file={meta4}", "-d", str(out), "--allow-overwrite=true",
                           "--auto-file-renaming=false", "-q"], capture_output=True, text=True, timeout=300)
