"""The cluster's hosts on one machine: a Linux bridge and, for each worker, a network namespace
joined to it by a veth pair (``make cluster``, ``scripts/cluster.py``).

The machine ("the server host") holds the bridge's address ``<net>.1``; worker ``n`` lives in the
namespace ``take5-<tag>-w<n>`` with the address ``<net>.<10+n>``, its own loopback, its own
``/etc/hosts`` (``/etc/netns/<ns>/hosts``, which ``ip netns exec`` mounts over ``/etc/hosts``)
naming it ``take5-w<n>``, and a default route through the bridge. It reaches the database, the
broker, the api-server and S3 only at ``<net>.1``, over the veth pair, as a worker on another
machine would. Needs root (``ip``, from iproute2). :func:`refuse` cuts a worker off one server port,
as when that server is down (the cluster tier's S3 outage; ``nft``, Debian ``nftables``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

NETNS_ETC = Path("/etc/netns")


@dataclass(frozen=True)
class Network:
    """The bridge of one cluster and the names of its workers' namespaces and links."""

    tag: str  # short and unique per cluster on the machine (interface names hold at most 15 characters)
    prefix: str  # the /24's first three octets, e.g. "10.231.80"

    @property
    def bridge(self) -> str:
        return f"t5b{self.tag}"

    @property
    def host_address(self) -> str:
        return f"{self.prefix}.1"

    @property
    def cidr(self) -> str:
        return f"{self.prefix}.0/24"

    def namespace(self, n: int) -> str:
        return f"take5-{self.tag}-w{n}"

    def address(self, n: int) -> str:
        return f"{self.prefix}.{10 + n}"

    @staticmethod
    def hostname(n: int) -> str:
        return f"take5-w{n}"

    def exec_prefix(self, n: int) -> list[str]:
        """Run a command as worker ``n``: in its namespace, with its own hostname (UTS namespace)."""
        return ["ip", "netns", "exec", self.namespace(n), "unshare", "--uts", "sh", "-c",
                f'hostname {self.hostname(n)} && exec "$@"', "sh"]


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def create_bridge(net: Network) -> None:
    """The bridge with the host's address (recreated if a previous cluster left it)."""
    _ip("link", "del", net.bridge, check=False)
    _ip("link", "add", net.bridge, "type", "bridge")
    _ip("addr", "add", f"{net.host_address}/24", "dev", net.bridge)
    _ip("link", "set", net.bridge, "up")


def add_worker(net: Network, n: int) -> None:
    """Namespace, veth pair (one end on the bridge), address, loopback, route and hosts file of worker ``n``."""
    ns, outside, inside = net.namespace(n), f"t5v{net.tag}w{n}", f"t5p{net.tag}w{n}"
    remove_worker(net, n)
    _ip("netns", "add", ns)
    _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
    _ip("link", "set", outside, "master", net.bridge)
    _ip("link", "set", outside, "up")
    _ip("link", "set", inside, "netns", ns)
    _ip("-n", ns, "link", "set", "lo", "up")
    _ip("-n", ns, "addr", "add", f"{net.address(n)}/24", "dev", inside)
    _ip("-n", ns, "link", "set", inside, "up")
    _ip("-n", ns, "route", "add", "default", "via", net.host_address)
    etc = NETNS_ETC / ns
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "hosts").write_text(f"127.0.0.1 localhost\n{net.address(n)} {net.hostname(n)}\n"
                               f"{net.host_address} take5-server\n")


def remove_worker(net: Network, n: int) -> None:
    _ip("link", "del", f"t5v{net.tag}w{n}", check=False)  # deletes its peer too
    _ip("netns", "del", net.namespace(n), check=False)
    shutil.rmtree(NETNS_ETC / net.namespace(n), ignore_errors=True)


FAULT_TABLE = "take5_fault"


def refuse(namespace: str, address: str, port: int, refused: bool = True) -> None:
    """In ``namespace``, refuse TCP connections to ``address:port`` (a new one: ECONNREFUSED; an open one:
    reset at its next segment), as when the server there is down; ``refused=False`` lets them through again."""
    nft = ["ip", "netns", "exec", namespace, "nft"]
    if refused:
        rule = (f"table inet {FAULT_TABLE} {{\n chain out {{\n  type filter hook output priority 0;\n"
                f"  ip daddr {address} tcp dport {port} reject with tcp reset\n }}\n}}\n")
        subprocess.run(nft + ["-f", "-"], input=rule, text=True, check=True, capture_output=True)
    else:
        subprocess.run(nft + ["delete", "table", "inet", FAULT_TABLE], check=True, capture_output=True)


def remove(namespaces: list[str], bridge: str | None) -> None:
    """Remove namespaces (their veth pairs go with them), their hosts files and the bridge."""
    for ns in namespaces:
        _ip("netns", "del", ns, check=False)
        shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)
    if bridge:
        _ip("link", "del", bridge, check=False)
