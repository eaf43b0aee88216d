"""Start and stop the cluster profile (``scripts/cluster.py``) for tests and benchmarks, and act on it:
run a site DAG through it, stop and start its components, read what its workers did."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

from helpers.embedded_stack import PORT_NAMES, EmbeddedStack
from helpers.paths import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import stack_netns


class Cluster(EmbeddedStack):
    """The cluster in a private folder, on free ports, with its own bridge subnet (``10.232.<n>.0/24``)."""

    script = ROOT / "scripts" / "cluster.py"
    port_names = PORT_NAMES + ("TAKE5_REDIS_PORT", "TAKE5_LOG_PORT")

    def __init__(self, extra_env: dict | None = None, **kwargs):
        super().__init__(extra_env=extra_env, **kwargs)
        self.env.setdefault("TAKE5_CLUSTER_NET", f"10.232.{int(self.ports['TAKE5_API_PORT']) % 250}")

    def worker_of(self, address: str) -> int:
        """The number of the worker host whose address a task instance recorded as its hostname."""
        return int(address.rsplit(".", 1)[1]) - 10

    def addresses(self) -> set[str]:
        return set(self.state()["workers"].values())

    def hold(self, component: str, on: bool = True) -> None:
        """``stack.py hold|release``: stop a component and keep it stopped, or start it again; wait until done."""
        subprocess.run([sys.executable, str(ROOT / "scripts" / "stack.py"), "hold" if on else "release", component],
                       env=self.env, check=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            running = component in self.state()["components"]
            if running != on:
                return
            time.sleep(0.5)
        raise RuntimeError(f"{component} not {'stopped' if on else 'started'} after 120 s")

    def refuse(self, port_name: str, refused: bool = True) -> None:
        """Cut every worker host off the server's port ``port_name`` (connections refused, open ones reset), as
        when that server is down for them; ``refused=False`` restores the path."""
        server = self.env["TAKE5_CLUSTER_NET"] + ".1"
        for namespace in self.state()["namespaces"]:
            stack_netns.refuse(namespace, server, int(self.ports[port_name]), refused)

    def mail_subjects(self) -> list[str]:
        """The subjects of the messages the SMTP sink kept (``var/mail/*.eml``)."""
        from email import message_from_bytes, policy

        return [str(message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"])
                for p in sorted((self.var / "mail").glob("*.eml"))]

    def kill(self, component: str, sig: int = signal.SIGKILL) -> int:
        """Send ``sig`` to a component's process group and to every process it started (a Celery worker's
        task processes have groups of their own); return its pid."""
        import psutil

        pid = self.pid_of(component)
        started = psutil.Process(pid).children(recursive=True)
        os.killpg(pid, sig)
        for p in started:
            try:
                p.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        return pid


def digest(store) -> dict[str, str]:
    """SHA-256 of every object of a bucket, by key."""
    return {info.key: hashlib.sha256(store.get_bytes(info.key)).hexdigest() for info in store.list()}


def empty(store) -> None:
    for info in list(store.list()):
        store.delete(info.key)


def xcom(api, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
    got = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}")
    value = got["value"]
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def _resolve(key: str, href: str, public_url: str) -> str | None:
    """The bucket key a link or asset ``href`` of the document at ``key`` names; ``None``: another server's."""
    if public_url and href.startswith(public_url):
        return href[len(public_url):]
    if urlsplit(href).scheme:
        return None
    return posixpath.normpath(posixpath.join(posixpath.dirname(key), href))


def unresolved(dist, public_url: str) -> list[str]:
    """What a reader of the distribution bucket would find broken: a link of a catalog, Collection or Item to an
    absent document, an asset of an Item absent or differing from its ``file:checksum``."""
    keys = {info.key for info in dist.list()}
    broken = []
    for key in sorted(k for k in keys if k.endswith(".json")):
        doc = json.loads(dist.get_bytes(key))
        if not isinstance(doc, dict) or doc.get("type") not in ("Catalog", "Collection", "Feature"):
            continue
        for link in doc.get("links", []):
            target = _resolve(key, link["href"], public_url)
            if target is not None and target not in keys:
                broken.append(f"{key}: {link['rel']} link to absent {target}")
        for name, asset in doc.get("assets", {}).items() if doc["type"] == "Feature" else ():
            target = _resolve(key, asset["href"], public_url)
            if target is None:
                continue
            if target not in keys:
                broken.append(f"{key}: asset {name} absent ({target})")
            elif "1220" + hashlib.sha256(dist.get_bytes(target)).hexdigest() != asset.get("file:checksum"):
                broken.append(f"{key}: asset {name} differs from its file:checksum")
    return broken


def published_items(dist, site_id: str) -> dict[str, dict[str, str]]:
    """The Items the site's static Collection links: ``{id: {asset: file:checksum}}``."""
    from take5_ops.storage import layout

    key = layout.collection_key(site_id)
    collection = json.loads(dist.get_bytes(key))
    items = [json.loads(dist.get_bytes(_resolve(key, link["href"], ""))) for link in collection["links"]
             if link["rel"] == "item"]
    return {i["id"]: {k: a.get("file:checksum") for k, a in i["assets"].items()} for i in items}


def api_items(url: str, site_id: str) -> dict[str, dict[str, str]]:
    """What a search of the site's Items on the STAC API at ``url`` returns (pystac-client), as :func:`published_items`."""
    from pystac_client import Client

    found = Client.open(url).search(collections=[site_id], max_items=None).items_as_dicts()
    return {i["id"]: {k: a.get("file:checksum") for k, a in i["assets"].items()} for i in found}
