"""The "Take5 production" page in a real Airflow API server, seen by a real browser (Debian chromium).

An ``airflow api-server`` (temporary home, migrated SQLite, simple auth manager) loads our plugin
from the plugins folder; the buckets are on the moto server with fake published products whose
first publication times, ledger outcomes and L2A status are set by the test. The server judges at
``$TAKE5_SLA_NOW``. Checked: anonymous access refused (page and API), login through the Airflow
login form, the numbers shown equal those derived from the buckets, no console error; with
``TAKE5_SCREENSHOTS=1`` screenshots go to ``docs/img/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpers.browser import CHROMIUM, FLAGS
from helpers.fake_products import site_config
from helpers.net import free_port, wait_port
from helpers.paths import ROOT, SITE_CONFIGS
from helpers.published import publish_all
from take5_ops.l1a import intake
from take5_ops.l1a.delivery import MARKER
from take5_ops.naming import ProductId, parse_product_name
from take5_ops.storage import Buckets, S3Store, layout
from take5_ops.times import format_time

IMG = ROOT / "docs" / "img"
NOW = datetime(2015, 5, 12, 12, 0, tzinfo=UTC)
PASSWORD = "take5-dashboard-test"
PORNIC, ALSACE = "FrancePornic", "FranceAlsace"


def utc(*args) -> datetime:
    return datetime(*args, 10, 40, tzinfo=UTC)


# Pornic (the fake products' site): (acquired, level, days to first publication or None)
PUBLISHED = [((2015, 4, 8), "L1C", 5), ((2015, 4, 13), "L1C", 26), ((2015, 4, 18), "L1C", 12),
             ((2015, 4, 23), "L1C", 18), ((2015, 4, 8), "L2A", 23), ((2015, 4, 13), "L2A", 18)]
REJECTED = (2015, 4, 28)  # a delivery rejected by the intake: its L1C is at risk on 12 May (due 19 May)
PENDING = (2015, 5, 3)  # delivered, not processed yet


@pytest.fixture(scope="module")
def campaign(s3_endpoint, tmp_path_factory):
    """Buckets with the campaign above, and the site configurations folder."""
    root = tmp_path_factory.mktemp("dashboard")
    stores = {}
    for role in ("l1a", "aux", "work", "dist"):
        store = S3Store.from_endpoint(f"take5-{role}-dashboard", s3_endpoint)
        store.client.create_bucket(Bucket=store.bucket)
        stores[role] = store
    buckets = Buckets(**stores)
    configs = root / "configs"
    configs.mkdir()
    pornic = site_config(configs)
    shutil.copy(SITE_CONFIGS / f"{ALSACE}.yaml", configs)
    products, _ = publish_all(buckets, pornic, root / "products",
                              [(utc(*d), level, 10.0 if level == "L2A" else None, 1000 + i)
                               for i, (d, level, _) in enumerate(PUBLISHED)])
    first = {p.name: format_time(p.acquired + timedelta(days=days)) for p, (_, _, days) in zip(products, PUBLISHED)}
    buckets.work.put_bytes(layout.sla_published_key(PORNIC), json.dumps({"site_id": PORNIC, "first_published": first}).encode())
    rejected_id, pending_id = (str(ProductId(utc(*d), 2, PORNIC)) for d in (REJECTED, PENDING))
    intake.record(buckets.work, intake.Rejected(PORNIC, rejected_id, "etag-r", "IMAGERY.TIF: bad size",
                                                rejected_at=utc(2015, 5, 4)), "rejected")
    buckets.l1a.put_bytes(f"{PORNIC}/{pending_id}/{MARKER}", b"{}", "application/json")
    # Alsace: two deliveries processed to L1C, not published yet, its L2A gate closed (5 of 30 days)
    alsace = [str(ProductId(utc(*d), 1, ALSACE)) for d in ((2015, 4, 28), (2015, 5, 3))]
    for product_id in alsace:
        buckets.l1a.put_bytes(f"{ALSACE}/{product_id}/{MARKER}", b"{}", "application/json")
    buckets.work.put_bytes(layout.l2a_status_key(ALSACE), json.dumps({
        "site_id": ALSACE, "gate": "closed", "history_days": 5, "init_days": 30, "series_start": "2015-04-28",
        "dates": {"2015-04-28": {"outcome": "waiting", "name": "x", "reason": None},
                  "2015-05-03": {"outcome": "waiting", "name": "y", "reason": None}}}).encode())
    buckets.work.put_bytes(layout.sla_mail_error_key(ALSACE), json.dumps({
        "site_id": ALSACE, "failed_at": "2015-05-12T06:00:00Z", "alerts": [],
        "error": "SLA message not sent after 4 attempts: ConnectionRefusedError"}).encode())
    return {"buckets": buckets, "configs": configs, "endpoint": s3_endpoint, "first": first,
            "rejected": rejected_id, "pending": pending_id, "alsace": alsace}


def expected(campaign) -> dict:
    """The campaign totals, derived from the buckets (not from the dashboard's code)."""
    b = campaign["buckets"]
    received = {k.key.split("/")[1] for k in b.l1a.list("") if k.key.endswith(MARKER)}
    received |= {k.key.split("/")[2][:-5] for k in b.work.list(layout.ledger_prefix())}
    ledger = [json.loads(b.work.get_bytes(k.key)) for k in b.work.list(layout.ledger_prefix())]
    levels = [parse_product_name(name)[1] for name, t in campaign["first"].items()
              if datetime.fromisoformat(t) <= NOW]
    latency = [(datetime.fromisoformat(t) - parse_product_name(n)[0].acquired).days
               for n, t in campaign["first"].items()]
    return {"received": len(received), "rejected": sum(e["status"] == "rejected" for e in ledger),
            "l1c": levels.count("L1C"), "l2a": levels.count("L2A"), "published": len(levels),
            "waiting_l2a": 2, "within": sum(d <= 21 for d in latency), "latency_count": len(latency)}


@pytest.fixture(scope="module")
def api_server(campaign, tmp_path_factory):
    """``airflow api-server`` on a free port, with our plugin; yields its base URL."""
    home = tmp_path_factory.mktemp("airflow-home")
    port = free_port()
    (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD}))
    env = dict(os.environ)
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"), AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}", AIRFLOW__API_AUTH__JWT_SECRET="take5-test-secret",
        TAKE5_SITE_CONFIGS=str(campaign["configs"]),
        TAKE5_SLA_NOW=NOW.isoformat(), TAKE5_PUBLIC_URL="http://dist.test/take5-dist/",
        AIRFLOW_CONN_AWS_DEFAULT=json.dumps({"conn_type": "aws", "login": "testing", "password": "testing",
                                             "extra": {"endpoint_url": campaign["endpoint"]}}),
        # the bucket rule: the Variables (set below) win over the environment, which names empty buckets
        **{f"TAKE5_{r.upper()}_BUCKET": f"take5-decoy-{r}" for r in ("l1a", "aux", "work", "dist")},
    )
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    variables = home / "variables.json"  # one import, not a command (3 s of Airflow start-up) per Variable
    variables.write_text(json.dumps({f"take5_{r}_bucket": getattr(campaign["buckets"], r).bucket
                                     for r in ("l1a", "aux", "work", "dist")}))
    subprocess.run([airflow, "variables", "import", str(variables)], env=env, check=True, capture_output=True)
    log = open(home / "api-server.log", "wb")  # noqa: SIM115 (the server's output until it stops)
    proc = subprocess.Popen([airflow, "api-server", "--port", str(port), "--host", "127.0.0.1", "--workers", "1"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_port(port, timeout=120, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()


def test_anonymous_requests_are_refused(api_server):
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{api_server}/take5/api/overview", timeout=30)
    assert err.value.code == 401

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as err:  # the page sends to the login form
        opener.open(f"{api_server}/take5/", timeout=30)
    assert err.value.code == 303 and "/auth/login" in err.value.headers["Location"]
    req = urllib.request.Request(f"{api_server}/take5/api/overview", headers={"Authorization": "Bearer forged"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 401


def test_dashboard_in_chromium(api_server, campaign):
    from playwright.sync_api import sync_playwright

    want = expected(campaign)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors = []
        page.on("console", lambda m: errors.append(m.text)  # ours: the Airflow UI's own console is not
                if m.type == "error" and "/take5/" in m.location.get("url", "") else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        # anonymous: the page sends the browser to Airflow's login form; log in there
        page.goto(f"{api_server}/take5/")
        assert "/auth/login" in page.url
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_function("!location.pathname.startsWith('/auth/login')", timeout=30000)
        errors.clear()  # page errors of the Airflow UI's own pages are not ours
        page.goto(f"{api_server}/take5/")
        assert page.title() == "Take5 production"

        def shown(testid: str) -> str:
            return page.get_by_test_id(testid).inner_text().strip()

        for key in ("received", "rejected", "l1c", "l2a", "published", "waiting_l2a"):
            assert int(shown(f"total-{key}")) == want[key], key
        assert int(shown("within-target")) == want["within"] and int(shown("latency-count")) == want["latency_count"]
        cell = page.locator(f'td[data-site="{ALSACE}"][data-col="waiting_l2a"]').inner_text()
        assert cell == "2 (5/30 d)"
        assert int(page.locator(f'td[data-site="{ALSACE}"][data-col="received"]').inner_text()) == 2
        problems = page.get_by_test_id("problem").all_inner_texts()
        assert any(campaign["rejected"] in p and "at risk" in p for p in problems), problems
        assert "ConnectionRefusedError" in shown("mail-errors")
        assert page.locator("[data-testid=weekly-chart] rect").count() >= 4  # bars and legend
        assert page.locator("[data-testid=latency-chart] line[stroke-dasharray]").count() == 1  # the target
        dag_link = page.get_by_role("link", name="DAG").first.get_attribute("href")
        assert dag_link == f"{api_server}/dags/take5_{ALSACE}"
        dist_link = page.get_by_role("link", name="distribution").nth(1).get_attribute("href")
        assert dist_link == f"http://dist.test/take5-dist/{PORNIC}/index.html"
        assert errors == []
        IMG.mkdir(parents=True, exist_ok=True)
        if os.environ.get("TAKE5_SCREENSHOTS"):  # docs/img, on request only
            page.screenshot(path=str(IMG / "dashboard.png"), full_page=True)
        # the same page inside the Airflow UI, from its navigation
        page.goto(f"{api_server}/plugin/take5-production")
        frame = page.frame_locator("iframe").first
        assert frame.get_by_test_id("total-received").inner_text(timeout=60000).strip() == str(want["received"])
        if os.environ.get("TAKE5_SCREENSHOTS"):  # docs/img, on request only
            page.screenshot(path=str(IMG / "dashboard-in-airflow.png"))
        browser.close()


def test_alert_email_html_in_chromium(campaign, tmp_path):
    """The HTML part of a real SLA message (built from the campaign's buckets) renders without error."""
    from playwright.sync_api import sync_playwright

    from take5_ops.siteconfig import load_site_config
    from take5_ops.sla import run_url, site_alert_message, site_status

    site = load_site_config(campaign["configs"] / f"{PORNIC}.yaml")
    b = campaign["buckets"]
    status = site_status(site, b.l1a, b.work, b.dist, NOW)
    msg = site_alert_message(status, status.alerts(), sender="take5@localhost",
                             link=run_url("http://localhost:8080", f"take5_{PORNIC}", "scheduled__2015-05-12T06:00:00+00:00"))
    html = tmp_path / "message.html"
    html.write_text(msg.get_body(preferencelist=("html",)).get_content())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1000, "height": 400})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.as_uri())
        text = page.locator("table").first.inner_text()
        assert campaign["rejected"] in text and "at risk" not in msg["Subject"].split(":")[0]
        assert msg["Subject"] == f"[take5 SLA] {PORNIC}: 1 at risk" and "6 days left" in text
        assert errors == []
        if os.environ.get("TAKE5_SCREENSHOTS"):  # docs/img, on request only
            page.screenshot(path=str(IMG / "sla-email.png"), full_page=True)
        browser.close()
