#!/usr/bin/env python3
"""Screenshots of the running demo stack (``make run``) for the docs, in Debian's headless chromium.

Writes ``docs/img/demo-website-root.png``, ``demo-website-search.png`` (a free-text search, the site's L1C
put in the cart), ``demo-website-site.png`` and ``demo-dashboard.png``.
Usage: ``python scripts/screenshots.py --password <the admin password make run printed> [--site FrancePornic]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

IMG = Path(__file__).resolve().parents[1] / "docs" / "img"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--password", required=True, help="the Airflow admin password")
    parser.add_argument("--site", default="FrancePornic")
    parser.add_argument("--airflow", default="http://localhost:8080")
    parser.add_argument("--website", default="http://127.0.0.1:9000/take5-dist")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(profile, executable_path="/usr/bin/chromium", args=FLAGS,
                                                        viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{args.website}/index.html")
        page.wait_for_selector("#map[data-ready]")
        page.screenshot(path=str(IMG / "demo-website-root.png"), full_page=True)
        page.goto(f"{args.website}/index.html?q={args.site}+2015")
        page.wait_for_selector("#results tbody tr")
        page.click(f'#sites button.add-all[data-site="{args.site}"][data-level="L1C"]')
        page.wait_for_selector("#cart-items tbody tr")
        page.screenshot(path=str(IMG / "demo-website-search.png"), full_page=True)
        page.goto(f"{args.website}/{args.site}/index.html")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(IMG / "demo-website-site.png"), full_page=True)
        page.goto(f"{args.airflow}/take5/")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(args.password)
        page.keyboard.press("Enter")
        page.wait_for_function("!location.pathname.startsWith('/auth/login')", timeout=30000)
        page.goto(f"{args.airflow}/take5/")
        page.screenshot(path=str(IMG / "demo-dashboard.png"))  # the top: totals and charts
        context.close()
    print(f"screenshots written to {IMG}")


if __name__ == "__main__":
    main()
