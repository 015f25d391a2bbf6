"""Local Network Access (https://wicg.github.io/local-network-access/), which the proxy hides.

Without a proxy, Chromium compares the address space of the page (where its document came from)
with that of the address it connects to: loopback is more private than local (private: RFC 1918,
link-local, CGNAT, ULA...), which is more private than public. A request to a more private space
needs the user's permission (a prompt; `LocalNetworkAccessPermissionDenied` in DevTools when it is
refused or cannot be asked, e.g. from a page that is not a secure context). Through an explicit
proxy Chromium connects only to the proxy and sees no target address (`resourceIPAddressSpace:
Unknown`, measured in Chromium 156), so the request works there and fails without the proxy.

The target's address is the proxy's connection to the server (`Exchange.extra["server_ip"]`), else
an IP-literal host or `localhost`. The page's: the address its document came from when the proxy
saw it (embedder_policy.Documents), else its host when that is an IP literal or `localhost`; else
unknown, and said so.
"""

from __future__ import annotations

import ipaddress

from .embedder_policy import Documents
from .memo import memoized
from .model import Exchange
from .request_mode import RequestFacts
from .verdict import Verdict

RANK = {"loopback": 0, "local": 1, "public": 2}
# Not publicly routable (net::IPAddress::IsPubliclyRoutable, which Chromium's
# IPAddressToIPAddressSpace reads): "local". Loopback is its own space.
_LOCAL = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/3", "fc00::/7", "fe80::/10"))


@memoized()
def address_space(ip: str) -> str | None:
    """'loopback' | 'local' | 'public' for an IP address (IPv4-mapped IPv6 as its IPv4); None if not one."""
    try:
        addr = ipaddress.ip_address(ip.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_loopback:
        return "loopback"
    return "local" if any(addr in n for n in _LOCAL if n.version == addr.version) else "public"


@memoized()
def host_space(host: str) -> str | None:
    """The space a URL's host shows by itself: an IP literal's, `localhost`'s (loopback), else None."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    return address_space(host) if host[:1] == "[" or host.replace(".", "").isdigit() else None


def lna_judgement(docs: Documents, ex: Exchange, facts: RequestFacts, verdict: Verdict) -> Verdict:
    """`verdict` with a warning when the target is more private than the page, or a note when the
    target is private and the page's space is unknown."""
    target = facts.target
    if target is None:
        return verdict
    server_ip = ex.extra.get("server_ip")
    target_space = address_space(server_ip) if server_ip else host_space(target.host)
    if target_space is None or target_space == "public":
        return verdict
    dest = normalized_dest(ex)
    if facts.mode == "navigate" and dest in ("document", "") or facts.mode == "unknown" and (
            ex.request.headers.get("Accept") or "").lower().startswith("text/html"):
        return verdict  # a top-level navigation: Chromium does not check it
    page, doc = docs.page_of(ex, facts)
    if page is None or page.same_origin(target):
        return verdict
    where = f"{target_space} address {server_ip}" if server_ip else f"{target_space} host {target.host}"
    if doc is not None and doc.server_ip and address_space(doc.server_ip):
        page_space, page_where = address_space(doc.server_ip), f"its document came from {doc.server_ip}"
    else:
        page_space, page_where = host_space(page.host), f"its host {page.host}"
    if page_space is None:
        return verdict._replace(notes=verdict.notes + (
            f"Local Network Access: this request goes to a {where}; the page's ({page.serialize()}) address space "
            "is unknown (the proxy did not see its document and its host is a name): if it is public, Chromium "
            "without the proxy asks the user's permission and fails the request without it "
            "(LocalNetworkAccessPermissionDenied)",))
    if RANK[target_space] >= RANK[page_space]:
        return verdict
    return verdict._replace(warnings=verdict.warnings + (
        f"Local Network Access: a {page_space} page ({page.serialize()}, {page_where}) calls a {where}. Through "
        "the proxy Chromium sees no target address and skips the check; without the proxy it asks the user's "
        "permission and fails the request without it (LocalNetworkAccessPermissionDenied in DevTools; a page "
        "that is not a secure context cannot ask). Fix: serve the API from the page's address space, or have "
        "the page ask for the permission (https; fetch(url, {targetAddressSpace: "
        f"'{target_space}'}}) for a plain-http target)",))


def normalized_dest(ex: Exchange) -> str:
    v = ex.request.headers.get("Sec-Fetch-Dest")
    return (v or "").lower()
