"""Cross-Origin-Embedder-Policy: the page's policy applied to its no-cors loads and its iframes, as
Chromium does (`network::CrossOriginResourcePolicy::IsBlocked` with the embedder's policy,
services/network/public/cpp/cross_origin_resource_policy.cc;
https://html.spec.whatwg.org/#coep, https://fetch.spec.whatwg.org/#cross-origin-resource-policy-check).

The policy belongs to the document, not to the request: `Documents` remembers, bounded, what the
proxy saw of each document (a navigation response, top-level or an iframe): its COEP and the
server's address (which local_network_access.py reads). A load finds its page by the `Referer`
(the whole URL when the page sends it, else only the origin: Chromium's default referrer policy
sends only the origin across origins) or by its `Origin`.

Measured in Chromium 156 through mitmdump (tests/e2e/test_coep_chromium.py):
- `require-corp`: a cross-origin no-cors load whose response has no Cross-Origin-Resource-Policy
  fails (`net::ERR_BLOCKED_BY_RESPONSE.NotSameOriginAfterDefaultedToSameOriginByCoep`, DevTools
  `corp-not-same-origin-after-defaulted-to-same-origin-by-coep`); two ports of 127.0.0.1 count as
  cross-origin. An explicit CORP is checked as usual (resource_policy.py).
- `credentialless`: cross-origin no-cors loads go without cookies (even with credentials:
  'include') and need no CORP; only a credentialed one would.
- `*-Report-Only` blocks nothing. CORS-mode loads are never CORP-checked: CORS suffices.
- An iframe under either policy is a credentialed navigation: without CORP a cross-origin frame
  fails the same way; a frame that passes must carry a COEP of its own
  (`coep-frame-resource-needs-coep-header`).
Workers are not modelled: their own script's COEP governs their loads.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from .model import Exchange, Headers, normalized
from .origin import Origin, origin_of_url
from .request_mode import RequestFacts
from .resource_policy import BLOCKED_REASONS, CorpBlock, same_site_for_corp
from .verdict import Verdict

ENFORCING = ("require-corp", "credentialless")
DEFAULTED = ("corp-not-same-origin-after-defaulted-to-same-origin-by-coep",
             "net::ERR_BLOCKED_BY_RESPONSE.NotSameOriginAfterDefaultedToSameOriginByCoep")
FRAME_NEEDS_COEP = "coep-frame-resource-needs-coep-header"
_FRAME_DESTS = ("iframe", "frame", "embed", "object", "fencedframe")


def parse_coep(value: str | None) -> str:
    """The policy a `Cross-Origin-Embedder-Policy` value sets: a structured-field token
    (`require-corp`, `credentialless`) with optional parameters (`; report-to="x"`); anything
    else, several values included, is `unsafe-none`."""
    if not value:
        return "unsafe-none"
    token = value.split(";", 1)[0].strip(" \t")
    return token if token in ENFORCING and "," not in value else "unsafe-none"


class Document(NamedTuple):
    flow_id: str
    url: str
    origin: Origin
    coep: str  # enforced: unsafe-none | require-corp | credentialless
    report_only: str  # Cross-Origin-Embedder-Policy-Report-Only (blocks nothing)
    server_ip: str | None  # the peer address the proxy connected to for it
    how: str = ""  # how the load was tied to it (set by `page_of`)


class Documents:
    """Documents the proxy saw, by (client, URL) and (client, origin), the most recent kept."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._by_url: OrderedDict[tuple, Document] = OrderedDict()
        self._by_origin: OrderedDict[tuple, Document] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_url) + len(self._by_origin)

    def clear(self) -> None:
        self._by_url.clear()
        self._by_origin.clear()

    def note(self, ex: Exchange, facts: RequestFacts, status: int, headers: Headers) -> None:
        """Remember a navigation response that is a document (not a redirect)."""
        if facts.mode != "navigate" or facts.target is None or 300 <= status < 400:
            return
        idx = headers.by_name
        coep = parse_coep(normalized(idx.get("cross-origin-embedder-policy")))
        ro = parse_coep(normalized(idx.get("cross-origin-embedder-policy-report-only")))
        if not facts.target.potentially_trustworthy():
            coep = ro = "unsafe-none"  # HTML ignores COEP outside secure contexts (plain http, not loopback)
        url = ex.request.url.split("#", 1)[0]
        doc = Document(ex.id, url, facts.target, coep, ro, ex.extra.get("server_ip"))
        client = ex.request.client
        for table, key in ((self._by_url, (client, url)), (self._by_origin, (client, facts.target.serialize()))):
            table[key] = doc
            table.move_to_end(key)
            while len(table) > self.capacity:
                table.popitem(last=False)

    def page_of(self, ex: Exchange, facts: RequestFacts) -> tuple[Origin | None, Document | None]:
        """The page's origin (from Referer, else Origin) and its document when the proxy saw it."""
        req = ex.request
        referer = normalized(req.headers.by_name.get("referer"))
        client = req.client
        if referer:
            page = origin_of_url(referer)
            if page is None or page.opaque:
                return None, None
            doc = self._by_url.get((client, referer.split("#", 1)[0]))
            if doc is not None:
                return page, doc._replace(how=f"its Referer is that document's URL (flow {doc.flow_id[:8]})")
        else:
            page = facts.origin
            if page is None or page.opaque:
                return None, None
        doc = self._by_origin.get((client, page.serialize()))
        if doc is not None:
            return page, doc._replace(how=f"the last document the proxy saw from {page.serialize()} "
                                          f"(flow {doc.flow_id[:8]}, {doc.url})")
        return page, None


def coep_judgement(docs: Documents, ex: Exchange, facts: RequestFacts, headers: Headers,
                   verdict: Verdict) -> Verdict:
    """`verdict` (allowed, not CORP-blocked) as the page's COEP leaves it: blocked, or with a note."""
    if facts.kind != "no-cors" and facts.mode != "navigate":
        return verdict  # most flows: checked first, it costs nothing
    dest = (normalized(ex.request.headers.by_name.get("sec-fetch-dest")) or "").lower()
    frame = facts.mode == "navigate" and dest in _FRAME_DESTS
    if not frame and facts.kind != "no-cors":
        return verdict
    target = facts.target
    page, doc = docs.page_of(ex, facts)
    if page is None or target is None:
        return verdict
    corp = normalized(headers.by_name.get("cross-origin-resource-policy"))
    valid_corp = corp if corp in ("same-origin", "same-site", "cross-origin") else None
    cross_origin = not page.same_origin(target)
    if doc is None:
        if cross_origin and valid_corp is None and not frame and page.potentially_trustworthy():
            return verdict._replace(notes=verdict.notes + (
                f"the proxy did not see the document of the page ({page.serialize()}): if it sends "
                "Cross-Origin-Embedder-Policy: require-corp, Chromium fails this load (DevTools: "
                f"{DEFAULTED[0]}), since the response has no Cross-Origin-Resource-Policy",))
        return verdict
    if doc.coep not in ENFORCING:
        return verdict
    idx = ex.request.headers.by_name
    credentialed = frame or "cookie" in idx or "authorization" in idx
    if cross_origin and valid_corp is None and (doc.coep == "require-corp" or credentialed):
        return _blocked(ex, facts, doc, CorpBlock(*DEFAULTED, "(none)", page.serialize()), frame)
    if frame and cross_origin and valid_corp in BLOCKED_REASONS and not (
            valid_corp == "same-site" and same_site_for_corp(page, target)):
        reason, net = BLOCKED_REASONS[valid_corp]
        return _blocked(ex, facts, doc, CorpBlock(reason, "net::ERR_BLOCKED_BY_RESPONSE", valid_corp,
                                                  page.serialize()), frame)
    if frame and 200 <= verdict_status(ex) < 300 and parse_coep(
            normalized(headers.by_name.get("cross-origin-embedder-policy"))) not in ENFORCING:
        return _blocked(ex, facts, doc, CorpBlock(FRAME_NEEDS_COEP, "net::ERR_BLOCKED_BY_RESPONSE", "",
                                                  page.serialize()), frame)
    if doc.coep == "credentialless" and cross_origin and not frame:
        return verdict._replace(notes=verdict.notes + (
            "sent without cookies: the page's Cross-Origin-Embedder-Policy is credentialless, so Chromium "
            "omits credentials on its cross-origin no-cors loads and needs no Cross-Origin-Resource-Policy",))
    return verdict


def verdict_status(ex: Exchange) -> int:
    return ex.response.status if ex.response is not None else 0


def _blocked(ex: Exchange, facts: RequestFacts, doc: Document, block: CorpBlock, frame: bool) -> Verdict:
    """A load the page's COEP keeps from it: not CORS (like resource_policy's blocks)."""
    req = ex.request
    what = "iframe" if frame else (facts.initiator or "no-cors") + " load"
    page = f"the page's Cross-Origin-Embedder-Policy: {doc.coep} ({doc.url}, flow {doc.flow_id[:8]})"
    if block.blocked_reason == FRAME_NEEDS_COEP:
        cause = (f"blocked by {page}, not by CORS: an embedded document must send a Cross-Origin-Embedder-Policy "
                 f"of its own ({block.net_error}; DevTools: {FRAME_NEEDS_COEP})")
        fix = ("on the framed document: send Cross-Origin-Embedder-Policy: require-corp (or credentialless), "
               "or drop COEP from the embedding page")
    elif block.policy == "(none)":
        cause = (f"blocked by {page}, not by CORS: the response has no Cross-Origin-Resource-Policy, so Chromium "
                 f"treats it as same-origin and the page ({block.initiator}) is another origin ({block.net_error}; "
                 f"DevTools: {block.blocked_reason})")
        fix = ("on the resource: set Cross-Origin-Resource-Policy: cross-origin (or same-site where page and "
               "resource share a registrable domain, never for IP addresses)"
               + ("" if frame else "; or load it in CORS mode (the crossorigin attribute, fetch() without "
                  "mode 'no-cors') with Access-Control-Allow-Origin; or give the page "
                  "Cross-Origin-Embedder-Policy: credentialless, under which no-cors loads go without "
                  "cookies and need no CORP"))
    else:
        cause = (f"blocked by {page} and the response's Cross-Origin-Resource-Policy: {block.policy}, not by CORS: "
                 f"the page ({block.initiator}) is not {'the same origin' if block.policy == 'same-origin' else 'the same site'} "
                 f"({block.net_error}; DevTools: {block.blocked_reason})")
        fix = "on the framed document: set Cross-Origin-Resource-Policy: cross-origin"
    cause += f"; the page was found by {doc.how}" if doc.how else ""
    return Verdict(
        flow_id=ex.id, kind=facts.kind, verdict="blocked", method=req.method, url=req.url,
        origin=facts.origin_header, time=req.timestamp, mode=facts.mode, mode_source=facts.mode_source,
        initiator=facts.initiator, cause=cause, warnings=(f"{cause}; fix {fix}",),
        message=f"The browser fails this {what}: {cause}. Fix {fix}.")
