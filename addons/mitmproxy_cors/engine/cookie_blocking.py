"""Cookies the browser withheld from a request, and `Set-Cookie`s it refused, as Chromium 156 decides
(net::CookieInclusionStatus; DevTools: `associatedCookies[].blockedReasons` of
`Network.requestWillBeSentExtraInfo`, `blockedCookies` of `Network.responseReceivedExtraInfo`).

A credentialed cross-site request can pass CORS and still go without the session cookie: the API
answers 401 and the page looks logged out. The proxy sees every `Set-Cookie` with its attributes,
so it knows the cookies the browser holds for a host; a request whose `Cookie` lacks one of them, in
a context where Chromium withholds it, is explained with DevTools' reason. Names only: no value
is kept or reported.

Measured in Chromium 156 through mitmdump (tests/e2e/test_cookies_chromium.py), a page on
`http://127.0.0.1:A` and an API on `http://localhost:B` (cross-site; two ports of one host are
same-site for cookies):
- a cross-site subresource request (fetch, XHR, image...) withholds SameSite=Strict, Lax and
  unspecified cookies (`SchemefulSameSiteStrict`, `SchemefulSameSiteLax`,
  `SchemefulSameSiteUnspecifiedTreatedAsLax`);
- the third-party-cookie setting adds to that: cookies blocked by the user's setting (headless
  Chromium's default) carry `UserPreferences` too, SameSite=None ones only that; under
  `--test-third-party-cookie-phaseout` SameSite=None cookies carry `ThirdPartyPhaseout` and the
  others only their SameSite reason; where third-party cookies are allowed SameSite=None cookies go;
- `Sec-Fetch-Storage-Access` is on every credentialed request whose cookies are third-party and
  nowhere else: `active` where third-party cookies are allowed, `none` (`inactive`) where they are
  blocked (the user's setting and the phase-out alike: the wire cannot tell those two apart), absent
  on `credentials: 'omit'`; an iframe of another site sends it on all its requests, and a fetch
  redirected back to the page's site does not (though its Sec-Fetch-Site says cross-site);
- a cross-site top-level navigation withholds Strict cookies; a cross-site top-level POST Lax ones
  too; a young unspecified cookie still goes (Chromium's "Lax-allowing-unsafe": under two minutes
  old, `kLaxAllowUnsafeMaxAge`; the limit itself is not measured here);
- `Set-Cookie` on a cross-site subresource response is refused with `UserPreferences` when third-party
  cookies are blocked (`ThirdPartyPhaseout` for SameSite=None under the phase-out), else with the
  SameSite reason (`SameSiteNoneInsecure` for SameSite=None without Secure). A `Partitioned` (CHIPS)
  cookie escapes third-party blocking but not SameSite. `SameSite=None` without `Secure` is refused
  everywhere (`SameSiteNoneInsecure`); `Partitioned` without `Secure` is dropped silently (DevTools
  lists nothing); a `Domain` that does not cover the host is refused first (`InvalidDomain`), and
  `Secure` from a host that is not a secure context (`SecureOnly`, masked by third-party blocking).
Also measured on named plain-http hosts (no Sec-Fetch-* on the wire): registrable domains, `Domain`
cookies, and navigations, which count as top-level when a Lax cookie went with them.
Partitioned cookies are kept per top-level site: the proxy takes it to be the page's site (from
`Origin` or `Referer`; the target's for a top-level navigation; unknown for a frame's request to its
own site), and judges a partitioned cookie only under the site it was set under.
"""

from __future__ import annotations

from collections import OrderedDict
from email.utils import parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from .model import Exchange, normalized
from .origin import Origin, origin_of_url
from .request_mode import RequestFacts

# The three third-party-cookie settings Chromium 156 can run with (see the module docstring).
BLOCK, PHASEOUT, ALLOW = "block", "phaseout", "allow"
SETTINGS = (BLOCK, PHASEOUT, ALLOW)
ANY = "any"  # same-site requests and top-level navigations: the setting plays no part
STORAGE_ACCESS_VALUES = ("none", "inactive", "active")  # Sec-Fetch-Storage-Access (Fetch Metadata)
SETTING_NAMES = {BLOCK: "third-party cookies blocked by the user's setting (headless Chromium's default)",
                 PHASEOUT: "the third-party cookie phase-out (--test-third-party-cookie-phaseout)",
                 ALLOW: "third-party cookies allowed"}
SAMESITE_REASON = {"strict": "SchemefulSameSiteStrict", "lax": "SchemefulSameSiteLax",
                   None: "SchemefulSameSiteUnspecifiedTreatedAsLax"}
UNSAFE_METHODS_SAFE = ("GET", "HEAD", "OPTIONS", "TRACE")  # "safe" methods for SameSite=Lax
LAX_ALLOW_UNSAFE_AGE = 120.0  # seconds: a young unspecified cookie still goes on a top-level POST
MAX_DOMAINS = 1024
MAX_PER_DOMAIN = 64  # Chromium keeps up to 180; a session rarely shows more than a few per host


class KnownCookie(NamedTuple):
    """A cookie the browser accepted, as the proxy saw it set (never its value)."""

    name: str
    domain: str  # the host, or the Domain attribute without its dot
    host_only: bool
    path: str
    samesite: str | None  # "none" | "lax" | "strict" | None (unspecified)
    secure: bool
    partitioned: bool
    expires: float | None
    set_at: float
    partition: tuple[str, str] | None  # Partitioned: the top-level site it was set under (None: unknown)
    held: tuple[str, ...] | None = None  # the settings under which the browser kept it (None: any)


class SetCookie(NamedTuple):
    name: str
    domain: str | None
    path: str | None
    samesite: str | None
    secure: bool
    partitioned: bool
    max_age: float | None
    expires: float | None


class CookieFindings(NamedTuple):
    report: dict  # the report's `cookies` field (docs/report-schema.md)
    warnings: tuple[str, ...]
    notes: tuple[str, ...]


class CookieBlocking:
    """The cookies the session saw accepted, per domain (bounded), and the judgement of each flow."""

    def __init__(self, capacity: int = MAX_DOMAINS) -> None:
        self.capacity = min(capacity, MAX_DOMAINS)
        self._jar: OrderedDict[str, dict[tuple[str, str], KnownCookie]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._jar)

    def clear(self) -> None:
        self._jar.clear()

    def observe(self, ex: Exchange, facts: RequestFacts) -> CookieFindings | None:
        """What the browser did with this exchange's cookies, and remember the ones it accepted."""
        req = ex.request
        target = facts.target
        if target is None or target.opaque or target.scheme not in ("http", "https") or not target.host:
            return None
        if facts.kind == "preflight":
            return None  # sent without credentials; a Set-Cookie on its answer is not stored
        idx = req.headers.by_name
        resp = ex.response
        set_lines = resp.headers.get_all("Set-Cookie") if resp is not None and "set-cookie" in resp.headers.by_name else []
        sfsa = (normalized(idx.get("sec-fetch-storage-access")) or "").lower()
        if sfsa not in STORAGE_ACCESS_VALUES:
            sfsa = ""  # not a value Chromium sends: no evidence
        host = target.host.lower()
        known = self._known_for(host, req.url, req.timestamp) if self._jar else []
        if not set_lines and not known and not sfsa:
            return None
        sent = _cookie_names(req.headers.get_all("Cookie")) if "cookie" in idx else frozenset()
        context, context_source, top_level, top_site = _context(facts, req, sfsa, bool(sent))
        if context == "cross-site" and not top_level and _looks_like_navigation(idx):
            # No Sec-Fetch-Dest (a host that is not a secure context): a cross-site navigation is
            # top-level when it carried a Lax or unspecified cookie, which no frame would.
            if any(c.name in sent and not c.partitioned and c.samesite in ("lax", None) for c in known):
                top_level, top_site = True, schemeful_site(target)
                context_source += "; a navigation that carried a SameSite=Lax cookie: top-level"
            else:
                context, context_source = None, "a navigation, top-level or in a frame: the wire does not say"
        if context is None:
            # Which cookies went is not judged; the Set-Cookie rules that need no site still hold.
            context, credentialed = "unknown", None
        else:
            credentialed = _credentialed(idx, sfsa, top_level, context, bool(sent))
        if credentialed is False:
            return None  # credentials omitted: nothing withheld, and a Set-Cookie is ignored
        settings, setting_source = _settings(sfsa, context, top_level, known, sent)
        trustworthy = target.potentially_trustworthy()

        withheld = []
        if context == "cross-site":
            for c in known:
                # A Partitioned cookie goes only under the top-level site it was set under.
                if c.name in sent or c.partitioned and (c.partition is None or c.partition != top_site):
                    continue
                reasons = {s: _request_reasons(c, s, top_level, req.method, req.timestamp)
                           if c.held is None or s in c.held else [] for s in settings}
                if any(reasons.values()):
                    withheld.append({"name": c.name, "samesite": _samesite_text(c.samesite), "reasons": reasons})
        refused = []
        accepted_under: list[tuple[SetCookie, tuple[str, ...] | None]] = []
        for line in set_lines:
            sc = parse_set_cookie(line, req.timestamp)
            if sc is None:
                continue
            silent = sc.partitioned and not sc.secure
            reasons = {s: _set_reasons(sc, s, context, top_level, host, trustworthy) for s in settings}
            if silent or any(reasons.values()):
                entry = {"name": sc.name, "reasons": reasons}
                if silent:
                    entry["silent"] = True
                refused.append(entry)
            held = () if silent else tuple(s for s in settings if not reasons[s])
            accepted_under.append((sc, held if len(held) < len(settings) else None))
        self._learn_parsed(accepted_under, host, req.url, req.timestamp, top_site)
        no_third_party = sfsa in ("none", "inactive") and not sent and _status(ex) in (401, 403)
        if not withheld and not refused and not no_third_party:
            return None
        report = {
            "context": context, "context_source": context_source,
            "third_party_cookies": ("n/a" if settings == (ANY,) else "allowed" if settings == (ALLOW,)
                                    else "blocked" if ALLOW not in settings else "unknown"),
            "settings": list(settings), "setting_source": setting_source,
            "withheld": withheld, "refused": refused,
        }
        if credentialed is None:
            report["credentials"] = "unknown"
        warnings, notes = _texts(report, facts, _status(ex), top_level, no_third_party)
        return CookieFindings(report, warnings, notes)

    # -- the jar ----------------------------------------------------------------------------

    def _known_for(self, host: str, url: str, now: float) -> list[KnownCookie]:
        """The cookies the browser holds whose Domain and Path match this URL (unexpired)."""
        path = _url_path(url)
        out = []
        for domain in _domain_keys(host):
            cookies = self._jar.get(domain)
            if not cookies:
                continue
            for c in cookies.values():
                if c.host_only and c.domain != host:
                    continue
                if c.expires is not None and c.expires <= now:
                    continue
                if _path_matches(path, c.path):
                    out.append(c)
        return out

    def _learn_parsed(self, parsed: list[tuple[SetCookie, tuple[str, ...] | None]], host: str, url: str,
                      now: float, top_site: tuple[str, str] | None) -> None:
        """Keep each cookie under the settings it was accepted under (None: any; (): refused)."""
        for sc, held in parsed:
            domain = sc.domain or host
            if held == () or sc.domain and not _domain_allowed(host, domain):
                continue  # refused (a deletion too), or a Domain that does not cover the host
            path = sc.path if sc.path and sc.path.startswith("/") else _default_path(url)
            expires = now + sc.max_age if sc.max_age is not None else sc.expires
            key = (sc.name, path)
            if expires is not None and expires <= now:
                cookies = self._jar.get(domain)
                if cookies:
                    cookies.pop(key, None)
                continue
            cookies = self._jar.get(domain)
            if cookies is None:
                cookies = self._jar[domain] = {}
                while len(self._jar) > self.capacity:
                    self._jar.popitem(last=False)
            else:
                self._jar.move_to_end(domain)
            cookies.pop(key, None)
            cookies[key] = KnownCookie(sc.name, domain, sc.domain is None, path, sc.samesite, sc.secure,
                                       sc.partitioned, expires, now, top_site if sc.partitioned else None, held)
            while len(cookies) > MAX_PER_DOMAIN:
                del cookies[next(iter(cookies))]


# -- the rules ---------------------------------------------------------------------------------

def _request_reasons(c: KnownCookie, setting: str, top_level: bool, method: str, now: float) -> list[str]:
    """DevTools' blockedReasons of a known cookie on a cross-site request ([]: sent)."""
    if top_level:  # third-party blocking never applies to a top-level navigation
        if c.samesite == "strict":
            return [SAMESITE_REASON["strict"]]
        if method.upper() in UNSAFE_METHODS_SAFE or c.samesite == "none":
            return []
        if c.samesite is None and now - c.set_at < LAX_ALLOW_UNSAFE_AGE:
            return []
        return [SAMESITE_REASON[c.samesite]]
    samesite = SAMESITE_REASON.get(c.samesite) if c.samesite != "none" else None
    if c.partitioned:  # CHIPS: third-party blocking spares it, SameSite does not
        return [samesite] if samesite else []
    if setting == BLOCK:
        return ([samesite] if samesite else []) + ["UserPreferences"]
    if setting == PHASEOUT:
        return [samesite or "ThirdPartyPhaseout"]
    return [samesite] if samesite else []


def _set_reasons(sc: SetCookie, setting: str, context: str, top_level: bool, host: str,
                 trustworthy: bool) -> list[str]:
    """DevTools' blockedReasons of a Set-Cookie ([]: stored). Partitioned without Secure is
    dropped without one (the caller says so). `context` "unknown" gets the rules that need no site."""
    if sc.partitioned and not sc.secure:
        return []
    if sc.domain is not None and not _domain_allowed(host, sc.domain):
        return ["InvalidDomain"]  # checked before any setting (measured: even where third-party blocking refuses)
    secure_only = ["SecureOnly"] if sc.secure and not trustworthy else []  # Secure from an http: page
    if context != "cross-site" or top_level:
        return ["SameSiteNoneInsecure"] if sc.samesite == "none" and not sc.secure else secure_only
    if sc.partitioned:  # CHIPS: not third-party blocking, still SameSite
        return ([] if sc.samesite == "none" else [SAMESITE_REASON[sc.samesite]]) + secure_only
    if setting == BLOCK:
        return ["UserPreferences"]
    if setting == PHASEOUT:
        return ["ThirdPartyPhaseout" if sc.samesite == "none" else "UserPreferences"]
    if sc.samesite == "none":
        return secure_only if sc.secure else ["SameSiteNoneInsecure"]
    return [SAMESITE_REASON[sc.samesite]] + secure_only


def _domain_allowed(host: str, domain: str) -> bool:
    """Does a Set-Cookie's Domain cover the host that set it? (A single label other than the host
    is a public suffix; the full Public Suffix List is not consulted.)"""
    if host == domain:
        return True
    if "." not in domain or host.startswith("[") or host.replace(".", "").isdigit():
        return False
    return host.endswith("." + domain)


def _looks_like_navigation(idx) -> bool:
    """A navigation without Sec-Fetch-Mode: Accept: text/html and Upgrade-Insecure-Requests."""
    return ("sec-fetch-mode" not in idx and "upgrade-insecure-requests" in idx
            and (normalized(idx.get("accept")) or "").lower().startswith("text/html"))


def _context(facts: RequestFacts, req, sfsa: str, sent: bool
             ) -> tuple[str | None, str, bool, tuple[str, str] | None]:
    """("same-site" | "cross-site" | None, what showed it, a top-level navigation?, the top-level
    site as far as the wire shows it: the target's for a top-level navigation, else the page's).

    `Sec-Fetch-Storage-Access` first: Chromium sends it on a credentialed request exactly where cookies
    are third-party (measured: a cross-site fetch, an iframe of another site and every request it
    makes, its own origin included; never after a redirect back to the page's site). Then
    `Sec-Fetch-Site`, the browser's own word (schemeful, as SameSite is), except that it counts the
    redirect chain and cookies do not. Without either, the page's origin (`Origin`, else `Referer`)
    against the target, schemefully. A navigation in a frame without the header is not judged: the
    top-level site is not on the wire."""
    idx = req.headers.by_name
    target = facts.target
    sfm = (normalized(idx.get("sec-fetch-mode")) or "").lower()
    dest = (normalized(idx.get("sec-fetch-dest")) or "").lower()
    framed = sfm == "nested-navigate" or (sfm == "navigate" and dest not in ("document", ""))
    if facts.mode == "websocket" or framed and not sfsa:
        return None, "a navigation in a frame: the top-level site is not on the wire", False, None
    top_level = facts.mode == "navigate" and not framed
    page: Origin | None = facts.origin if facts.origin is not None and not facts.origin.opaque else None
    source = "Origin"
    if page is None:
        referer = normalized(idx.get("referer"))
        page = origin_of_url(referer) if referer else None
        source = "Referer"
    if page is not None and page.opaque:
        page = None
    top_site = schemeful_site(target) if top_level else schemeful_site(page) if page is not None else None
    sfs = (normalized(idx.get("sec-fetch-site")) or "").lower()
    if sfsa and not top_level:
        if top_site == schemeful_site(target):
            top_site = None  # a frame's request to its own site: the top-level site is another, unseen
        return ("cross-site", f"Sec-Fetch-Storage-Access: {sfsa} (Chromium sends it only where cookies are "
                "third-party)", False, top_site)
    if sfs in ("same-origin", "same-site", "none"):
        return "same-site", f"Sec-Fetch-Site: {sfs}", top_level, top_site or schemeful_site(target)
    if sfs == "cross-site":
        if sent and not top_level:
            return ("same-site", "a credentialed request without Sec-Fetch-Storage-Access: not a third-party "
                    "context (its Sec-Fetch-Site: cross-site counts a redirect chain, cookies do not)",
                    False, top_site)
        return "cross-site", "Sec-Fetch-Site: cross-site", top_level, top_site
    if page is None:
        return None, "", top_level, top_site
    same = schemeful_site(page) == schemeful_site(target)
    return ("same-site" if same else "cross-site"), f"the page's {source} {page.serialize()}", top_level, top_site


def _credentialed(idx, sfsa: str, top_level: bool, context: str, sent: bool) -> bool | None:
    """Did the page send credentials (True), not (False), or the wire cannot tell (None)?
    Chromium puts `Sec-Fetch-Storage-Access` on every credentialed cross-site request that carries
    Sec-Fetch-* (measured): a cross-site one with `Sec-Fetch-Site` and without it had credentials omitted."""
    if sent or top_level or sfsa:
        return True
    if context == "cross-site" and "sec-fetch-site" in idx:
        return False
    return None


def _settings(sfsa: str, context: str, top_level: bool, known: list[KnownCookie],
              sent: frozenset[str]) -> tuple[tuple[str, ...], str]:
    """The third-party-cookie settings the wire leaves possible, and what showed it."""
    if context != "cross-site" or top_level:
        return (ANY,), "third-party cookie blocking does not apply (a same-site request or a top-level navigation)"
    if sfsa == "active":
        return (ALLOW,), "Sec-Fetch-Storage-Access: active (third-party cookies allowed)"
    if sfsa in ("none", "inactive"):
        return ((BLOCK, PHASEOUT), f"Sec-Fetch-Storage-Access: {sfsa} (third-party cookies blocked; the wire "
                "does not tell the user's setting from the phase-out)")
    if any(c.name in sent and not c.partitioned and c.samesite == "none" for c in known):
        return (ALLOW,), "a cross-site request carried an unpartitioned SameSite=None cookie (third-party cookies allowed)"
    return SETTINGS, "no Sec-Fetch-Storage-Access on the wire: the third-party cookie setting is not known"


def schemeful_site(origin: Origin) -> tuple[str, str]:
    """A schemeful site (https://html.spec.whatwg.org/#schemeful-site): the scheme and the
    registrable domain; an IP address or a single-label host (localhost) is its own site. The
    registrable domain is the last two labels (no Public Suffix List, as engine/resource_policy.py)."""
    host = origin.host.lower().rstrip(".")
    if host.startswith("[") or host.replace(".", "").isdigit():
        return origin.scheme, host
    labels = host.split(".")
    return origin.scheme, ".".join(labels[-2:])


# -- parsing ------------------------------------------------------------------------------------

def parse_set_cookie(line: str, now: float) -> SetCookie | None:
    """A Set-Cookie line's name and attributes (RFC 6265bis 5.6), None when the browser ignores it."""
    if not isinstance(line, str):
        return None
    first, *attrs = line.split(";")
    if "=" in first:
        name = first.split("=", 1)[0].strip(" \t")
    else:
        name = ""  # a nameless cookie: the whole pair is its value
    if "=" not in first and not first.strip(" \t"):
        return None
    if len(name) > 256 or any(ord(ch) < 0x20 or ch == "\x7f" for ch in name):
        return None
    domain = path = samesite = None
    secure = partitioned = False
    max_age = expires = None
    for attr in attrs:
        key, _, value = attr.partition("=")
        key = key.strip(" \t").lower()
        value = value.strip(" \t")
        if key == "domain":
            domain = value.lstrip(".").lower() or None
        elif key == "path":
            path = value or None
        elif key == "secure":
            secure = True
        elif key == "partitioned":
            partitioned = True
        elif key == "samesite":
            v = value.lower()
            samesite = v if v in ("none", "lax", "strict") else None
        elif key == "max-age":
            try:
                max_age = float(int(value))
            except ValueError:
                pass
        elif key == "expires":
            try:
                expires = parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
    return SetCookie(name, domain, path, samesite, secure, partitioned, max_age, expires)


def _cookie_names(values: list[str]) -> frozenset[str]:
    names = set()
    for value in values:
        for pair in value.split(";"):
            # A nameless cookie is sent as its value alone (RFC 6265bis 5.8.3).
            names.add(pair.split("=", 1)[0].strip(" \t") if "=" in pair else "")
    return frozenset(names)


def _domain_keys(host: str) -> list[str]:
    if host.startswith("[") or host.replace(".", "").isdigit():
        return [host]
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def _url_path(url: str) -> str:
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return "/"


def _default_path(url: str) -> str:
    path = _url_path(url)
    if not path.startswith("/") or path.count("/") == 1:
        return "/"
    return path[:path.rindex("/")]


def _path_matches(path: str, cookie_path: str) -> bool:
    if path == cookie_path:
        return True
    return path.startswith(cookie_path) and (cookie_path.endswith("/") or path[len(cookie_path):][:1] == "/")


def _samesite_text(samesite: str | None) -> str:
    return {"none": "None", "lax": "Lax", "strict": "Strict"}.get(samesite, "unspecified")


def _status(ex: Exchange) -> int | None:
    return ex.response.status if ex.response is not None else None


# -- what the flow says -------------------------------------------------------------------------

_INITIATORS = frozenset(("fetch", "image", "script", "font", "stylesheet", "audio", "video", "track", "worker",
                         "shared worker", "manifest", "iframe", "embed", "object", "xslt"))


def _shown(name: str) -> str:
    return f"`{name}`" if name else "a nameless cookie"


def _reasons_text(reasons: dict[str, list[str]]) -> str:
    """`A, B` when every possible setting agrees, else each setting's outcome."""
    distinct = {tuple(r) for r in reasons.values()}
    if len(distinct) == 1:
        return ", ".join(next(iter(distinct))) or "kept"
    return "; ".join(f"{s}: {', '.join(r) or 'kept'}" for s, r in reasons.items())


def _fix(entries: list[dict], refused: bool) -> str:
    reasons = {r for e in entries for rs in e["reasons"].values() for r in rs}
    fixes = []
    if reasons & {"SchemefulSameSiteLax", "SchemefulSameSiteStrict", "SchemefulSameSiteUnspecifiedTreatedAsLax",
                  "SameSiteNoneInsecure"}:
        fixes.append("set the cookie with SameSite=None; Secure")
    if reasons & {"UserPreferences", "ThirdPartyPhaseout"}:
        fixes.append("serve the API from the page's site (a same-site API host), or make it a Partitioned "
                     "(CHIPS) cookie set in this context, or ask for access with the Storage Access API "
                     "(document.requestStorageAccess())")
    if any(e.get("silent") for e in entries):
        fixes.append("add Secure to a Partitioned cookie")
    if "InvalidDomain" in reasons:
        fixes.append("give Domain the host itself or a parent domain of it")
    if "SecureOnly" in reasons:
        fixes.append("serve the page over https (a Secure cookie cannot be set from http:)")
    return "; ".join(fixes) or ("" if refused else "send the cookie")


def _texts(report: dict, facts: RequestFacts, status: int | None, top_level: bool,
           no_third_party: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    warnings: list[str] = []
    notes: list[str] = []
    initiator = facts.initiator if facts.initiator in _INITIATORS else "request"
    where = "this cross-site navigation" if top_level else f"this cross-site {initiator}"
    denied = f"the server answered {status}, likely because " if status in (401, 403) else ""
    unknown = report.get("credentials") == "unknown"
    withheld, refused = report["withheld"], report["refused"]
    if withheld:
        cookies = ", ".join(f"{_shown(e['name'])} (SameSite={e['samesite']}: {_reasons_text(e['reasons'])})"
                            for e in withheld)
        text = (f"{denied}the browser withheld cookie{'s' if len(withheld) > 1 else ''} {cookies}: {where} "
                f"went without {'them' if len(withheld) > 1 else 'it'}"
                + (" (if the page sends credentials)" if unknown else "")
                + f"; fix: {_fix(withheld, False)}")
        # A credentialed fetch the page reads, a navigation, or a refusal by the server: worth a
        # warning; an image of another site going without its cookies is usual, and a request the
        # page may have sent without credentials proves nothing: said in a note.
        loud = denied or not unknown and (facts.kind == "cors" or top_level)
        (warnings if loud else notes).append(text)
    elif no_third_party:
        warnings.append(f"{denied}the browser sent no cookie: third-party cookies are blocked "
                        f"({report['setting_source']}); fix: {_fix([{'reasons': {'x': ['UserPreferences']}}], False)}")
    if refused:
        loud = [e for e in refused if not e.get("silent")]
        silent = [e for e in refused if e.get("silent")]
        parts = []
        if loud:
            parts.append("refused Set-Cookie " + ", ".join(
                f"{_shown(e['name'])} ({_reasons_text(e['reasons'])})" for e in loud))
        if silent:
            parts.append("dropped Set-Cookie " + ", ".join(_shown(e["name"]) for e in silent)
                         + " silently (Partitioned without Secure; DevTools shows nothing)")
        # A cross-site answer to a request that may have had no credentials: the browser may not
        # have looked at its Set-Cookie at all.
        speculative = unknown and report["context"] == "cross-site" and not denied
        (notes if speculative else warnings).append(
            "the browser " + " and ".join(parts) + f"; fix: {_fix(refused, True)}")
    return tuple(warnings), tuple(notes)
