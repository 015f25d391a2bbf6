"""The Cross-Origin-Resource-Policy check, as Chromium runs it on no-cors responses
(`network::CrossOriginResourcePolicy::IsBlocked`, services/network/public/cpp/cross_origin_resource_policy.cc;
https://fetch.spec.whatwg.org/#cross-origin-resource-policy-check).

A no-cors load (an `<img>`, a `<script>` without `crossorigin`, `fetch(url, {mode: 'no-cors'})`)
whose response says `Cross-Origin-Resource-Policy: same-origin` fails when the page is on another
origin (`net::ERR_BLOCKED_BY_RESPONSE.NotSameOrigin`, DevTools `blocked:NotSameOrigin`); `same-site`
fails when it is on another site (`...NotSameSite`). Chromium's "same site" here:
- two hosts with the same registrable domain;
- never when either host is an IP address: 127.0.0.1:8001 and 127.0.0.1:8002 are not same-site for
  CORP, although they are for cookies (measured in Chromium 156, tests/e2e/test_corp_chromium.py);
- and, from an http page, never for an https resource.
The value is compared exactly (`Same-Origin` or two values is no policy). Each hop of a redirect is
checked on its own. COEP's `require-corp` on the page is not modelled here.

The page's origin is the request's `Origin` (a no-cors POST sends it), else the `Referer`'s origin;
without either, `Sec-Fetch-Site` still decides most cases, and the rest is said to be unknown.
"""

from __future__ import annotations

from typing import NamedTuple

from .model import Headers, RequestSnapshot, normalized
from .origin import Origin, origin_of_url
from .request_mode import RequestFacts

BLOCKED_REASONS = {"same-origin": ("corp-not-same-origin", "NotSameOrigin"),
                   "same-site": ("corp-not-same-site", "NotSameSite")}


class CorpBlock(NamedTuple):
    blocked_reason: str  # DevTools' BlockedReason: corp-not-same-origin | corp-not-same-site
    net_error: str  # net::ERR_BLOCKED_BY_RESPONSE.NotSameOrigin | .NotSameSite
    policy: str  # the header's value
    initiator: str  # the page's origin, or what showed the relation (Sec-Fetch-Site)


def corp_block(facts: RequestFacts, req: RequestSnapshot, headers: Headers) -> CorpBlock | None:
    """The block Chromium applies to this no-cors response, or None (allowed, or not knowable)."""
    if facts.mode != "no-cors" or facts.target is None:
        return None
    policy = normalized(headers.by_name.get("cross-origin-resource-policy"))
    if policy not in BLOCKED_REASONS:
        return None  # no header, cross-origin, or a value Chromium cannot parse: allowed
    target = facts.target
    initiator = facts.origin
    shown = facts.origin_header
    if initiator is None:
        referer = normalized(req.headers.by_name.get("referer"))
        initiator = origin_of_url(referer) if referer else None
        shown = initiator.serialize() if initiator is not None else None
    if initiator is not None:
        if not initiator.opaque and initiator.same_origin(target):
            return None
        if policy == "same-site" and not initiator.opaque and same_site_for_corp(initiator, target):
            return None
        return _block(policy, shown or "null")
    site = (normalized(req.headers.by_name.get("sec-fetch-site")) or "").lower()
    if site == "same-origin" or site not in ("same-site", "cross-site"):
        return None  # same origin, or nothing on the wire says otherwise
    if policy == "same-origin" or site == "cross-site" or _is_ip(target.host):
        return _block(policy, f"a page that Sec-Fetch-Site: {site} says is not the target's origin")
    return None


def same_site_for_corp(initiator: Origin, target: Origin) -> bool:
    """`ShouldAllowSameSite`: no IP address, the same registrable domain, and not http -> https."""
    if _is_ip(initiator.host) or _is_ip(target.host):
        return False
    if _registrable(initiator.host) != _registrable(target.host):
        return False
    return initiator.scheme == "https" or target.scheme != "https"


def _block(policy: str, initiator: str) -> CorpBlock:
    reason, net = BLOCKED_REASONS[policy]
    return CorpBlock(reason, f"net::ERR_BLOCKED_BY_RESPONSE.{net}", policy, initiator)


def _is_ip(host: str) -> bool:
    return host.startswith("[") or host.replace(".", "").isdigit()


def _registrable(host: str) -> str:
    """The registrable domain, approximated without the Public Suffix List: the last two labels; a
    single-label host (localhost) has none, as in Chromium."""
    labels = host.lower().rstrip(".").split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else ""
