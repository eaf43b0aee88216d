"""Debian's chromium driven by playwright, for the website tests: a page that records every error."""

from __future__ import annotations

import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000  # what a page may take to show what a test expects, on 2 cores shared by 3 test workers


@contextmanager
def chromium(profile: Path, **options):
    """A persistent browser context of Debian's chromium (``options``: playwright's, e.g. ``accept_downloads``)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1100, "height": 760}, **options)
        context.set_default_timeout(2 * TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


class Page:
    """A page opened in chromium, with every console error, page error and failed response recorded."""

    def __init__(self, context, url: str):
        self.errors: list[str] = []
        self.page = context.new_page()
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status} {r.url}"))
        self.page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED"  # a load cut by navigating away
                     and self.errors.append(f"failed: {r.url}"))
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, url
        assert response.headers["content-type"].startswith("text/html")

    def links(self) -> list[str]:
        """Absolute URLs of every a/link/script/img reference of the page (SVG links included)."""
        return self.page.evaluate("""() => {
            const out = [];
            for (const el of document.querySelectorAll('a[href], link[href], script[src], img[src]')) {
                const ref = el.getAttribute('href') || el.getAttribute('src');
                if (ref && !ref.startsWith('data:')) out.push(new URL(ref, document.baseURI).href);
            }
            return out;
        }""")

    def visible_rows(self) -> list[str]:
        return self.page.eval_on_selector_all("#products tbody tr:not([hidden])",
                                              "rows => rows.map(r => r.querySelector('a.item')"
                                              ".getAttribute('href'))")


def resolve_all(urls: list[str]) -> dict[str, bytes]:
    """GET every URL anonymously; each must answer 200."""
    bodies = {}
    for url in sorted(set(urls)):
        with urllib.request.urlopen(url.split("#")[0], timeout=30) as r:
            assert r.status == 200, url
            bodies[url] = r.read()
    return bodies
