"""The one stateful piece of the engine: everything that depends on more than one flow lives here.

Theory of operation
-------------------
`Tracker.observe(exchange)` takes one finished exchange (request + response or error), in the
order the proxy saw them finish, and returns an `Observation`: the verdict for that flow plus new
verdicts for earlier flows whose story it completes. Verdicts are frozen: a flow whose story
changes gets a new verdict, the old one stays as it was.

* A **preflight** is checked at once (preflight_check). It carries no credentials, so it is
  judged both ways; if it passes, it waits in `_pending` for its actual request, keyed by
  (client, origin, URL, requested method). A failing preflight means the actual request was
  never sent.
* A **CORS request** first looks for its preflight in `_pending`. If found, the two are paired
  both ways, the preflight's Access-Control-Request-Headers is taken as the truth about which
  headers were unsafe, and what the actual request shows about credentials completes the
  preflight's verdict. If none is waiting but the request needed one, the preflight cache is
  consulted (preflight_cache) exactly as Chromium does; a miss means the browser relied on an
  entry the proxy never saw.
* Its response is CORS-checked (access_check); a redirect response also gets the redirect
  checks (redirect_check) and waits in `_redirects` so the next hop knows where it came from.
* Credentials: only a Cookie, Sec-Fetch-Storage-Access or a cached Authorization prove
  `include`. Otherwise the verdict is given for what the wire shows and, where it differs, the
  verdict under `include` goes into `conditional`.

All state is bounded: `_pending` and `_redirects` keep at most `capacity` entries and drop
those older than `pair_window` seconds; the cache has its own cap and expiry.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from .access_check import access_outcomes, varies_on_origin
from .cache_trap import CacheTraps
from .embedder_policy import Documents, coep_judgement
from .exposure import exposed_header_names
from .firefox_reason import firefox_reading
from .firefox_redirect import firefox_on_redirect
from .memo import memoized
from .model import Exchange, Headers, normalized
from .opaque_response_blocking import MediaUrls, orb_verdict
from .origin import origin_of_url
from .preflight_cache import CacheEntry, PreflightCache
from .preflight_check import PreflightResult, check_preflight_both
from .reasons import REASONS, console_text
from .redirect_check import (ABORTED, UNKNOWN_SCHEME, UNSAFE_REDIRECT, redirect_location, scheme_failure, taints_origin,
                             uncovered_redirect_outcome, unsafe_redirect, userinfo_failure)
from .local_network_access import lna_judgement
from .cookie_blocking import CookieBlocking
from .request_mode import RequestFacts, classify, credentials_evidence
from .resource_policy import CorpBlock, corp_block
from .session_credentials import SessionCredentials
from .safelist import CHROMIUM_ONLY_SAFELISTED, cors_unsafe_request_header_names, needs_preflight, preflight_reasons
from .verdict import Failure, FixStep, Outcome, Verdict, fix_steps

_EMPTY = Headers()


class Observation(NamedTuple):
    """What `Tracker.observe` returns for one exchange."""

    verdict: Verdict  # the exchange's own
    updated: tuple[Verdict, ...] = ()  # new verdicts for earlier flows whose story this one completes
    completed: tuple[Exchange, ...] = ()  # those earlier flows' exchanges, in the same order


@dataclass(slots=True)
class _PendingPreflight:
    verdict: Verdict
    exchange: Exchange
    acrh: Sequence[str]
    time: float
    omit: Outcome
    include: Outcome
    result_omit: PreflightResult | None
    result_include: PreflightResult | None


@dataclass(slots=True)
class _Hop:
    flow_id: str
    first_url: str
    time: float


@dataclass(slots=True)
class _ResponseView:
    status: int
    headers: Headers
    cause: str | None  # the proxy answered for a failed upstream


class _Judgement(NamedTuple):
    """The fields of a verdict that follow from the outcome the browser acts on (`_judge`)."""

    verdict: str
    message: str
    warnings: tuple[str, ...] = ()
    reason: str | None = None
    failed_parameter: str | None = None
    firefox_reason: str | None = None
    fix: tuple[FixStep, ...] = ()
    failures: tuple[Failure, ...] = ()
    cause: str | None = None
    firefox_note: str | None = None


class Tracker:
    def __init__(self, capacity: int = 4096, pair_window: float = 60.0) -> None:
        self.capacity = capacity
        self.pair_window = pair_window
        self.cache = PreflightCache(capacity)
        self._pending: OrderedDict[tuple, _PendingPreflight] = OrderedDict()
        self._redirects: OrderedDict[tuple, _Hop] = OrderedDict()
        # Headers of validated CORS responses (ETag/Last-Modified), for judging a later 304: the
        # browser's HTTP cache merges the 304 into its copy and CORS-checks the result.
        self._validated: OrderedDict[tuple, Headers] = OrderedDict()
        # Cookies (and Authorization headers) per host this session: the evidence that a page
        # talking to them sends credentials (`_credentials_hint`); the audit reads it too.
        self.credentials = SessionCredentials(capacity)
        # What the proxy saw of documents (COEP, address) and of responses the browser's cache reuses.
        self.documents = Documents(capacity)
        self.cache_traps = CacheTraps(capacity)
        self._orb_media = MediaUrls()  # URLs sniffed as audio/video: ORB lets a later mid-file 206 through
        # The cookies the browser accepted, per domain: which ones a cross-site request went without.
        self.cookies = CookieBlocking(capacity)
        self.last_facts: RequestFacts | None = None

    # -- public -----------------------------------------------------------------------------

    def observe(self, ex: Exchange) -> Observation:
        facts = self.last_facts = classify(ex.request)  # the audit reads it next (pipeline.py)
        target = facts.target
        self.credentials.note(ex, target.host if target is not None else None)
        observed = self._observe(ex, facts)
        found = self.cookies.observe(ex, facts)
        if found is None:
            return observed
        v = observed.verdict  # not a CORS matter: said beside the verdict, never changing it
        # First, where one warning is shown (comment, mitmdump's line), unless that one says why the
        # load failed (a CORP block, a refused WebSocket).
        warnings = v.warnings + found.warnings if v.failed_not_cors else found.warnings + v.warnings
        return observed._replace(verdict=v._replace(warnings=warnings, notes=v.notes + found.notes,
                                                    cookies=found.report))

    def _observe(self, ex: Exchange, facts: RequestFacts) -> Observation:
        view = _response_view(ex)
        if view is None:
            if ex.not_in_capture:
                return Observation(_not_in_capture(ex, facts))
            return Observation(self._no_response(ex, facts))
        if facts.kind == "preflight":
            obs = self._preflight(ex, facts, view)
        elif facts.kind == "cors":
            obs = self._cors(ex, facts, view)
        else:
            obs = Observation(self._not_checked(ex, facts, view))
        v = firefox_on_redirect(self._page_rules(ex, facts, view, obs.verdict), view.status, view.headers)
        return obs if v is obs.verdict else Observation(v, obs.updated, obs.completed)

    def state_size(self) -> dict[str, int]:
        return {"pending_preflights": len(self._pending), "redirect_hops": len(self._redirects),
                "validated_responses": len(self._validated), "preflight_cache": len(self.cache),
                "cookie_hosts": len(self.credentials), "documents": len(self.documents),
                "cache_traps": len(self.cache_traps), "cookie_domains": len(self.cookies)}

    def clear(self) -> None:
        self._pending.clear()
        self._redirects.clear()
        self._validated.clear()
        self.credentials.clear()
        self.cookies.clear()
        self.cache.clear()
        self.documents.clear()
        self.cache_traps.clear()
        self._orb_media.clear()

    # -- kinds ------------------------------------------------------------------------------

    def _preflight(self, ex: Exchange, facts: RequestFacts, view: _ResponseView) -> Observation:
        req = ex.request
        origin = facts.origin.serialize()
        redirected = redirect_location(req.url, view.status, view.headers) is not None
        (omit, result_omit), (include, result_include) = check_preflight_both(
            status=view.status, headers=view.headers, origin=origin, method=facts.acrm,
            unsafe_headers=facts.acrh, redirected=redirected,
            trustworthy=facts.target is not None and facts.target.potentially_trustworthy())
        never_sent = omit.blocked and include.blocked
        if never_sent:
            notes = ("the actual request was never sent: the browser stops at a failed preflight",)
        elif omit.blocked:
            notes = ("if the page sends no credentials the actual request is never sent",)
        else:
            notes = ()
        v = _verdict(ex, facts, "preflight", omit, include, "unknown",
                     "a preflight never carries credentials; the actual request's mode decides", view, notes,
                     self._credentials_hint(facts, view.headers) if omit.failures != include.failures else None)
        if never_sent:
            self.cache.erase((req.client, origin, req.url))
        else:
            self._remember(self._pending, (req.client, origin, req.url, facts.acrm),
                           _PendingPreflight(v, ex, facts.acrh, req.timestamp, omit, include,
                                             result_omit, result_include), req.timestamp)
            if result_omit is not None:
                self.cache.store((req.client, origin, req.url),
                                 CacheEntry(result_omit, req.timestamp + result_omit.max_age, ex.id,
                                            req.timestamp))
        return Observation(v)

    def _cors(self, ex: Exchange, facts: RequestFacts, view: _ResponseView) -> Observation:
        req = ex.request
        now = req.timestamp
        origin = facts.origin.serialize()
        updated: tuple[Verdict, ...] = ()
        completed: tuple[Exchange, ...] = ()
        hop = self._take(self._redirects, (req.client, req.url), now)
        pending = self._take(self._pending, (req.client, origin, req.url, req.method), now)

        if pending is not None:
            unsafe = pending.acrh
            creds, creds_source = credentials_evidence(req, pending.acrh)
            if creds == "unknown" and pending.include.blocked and not pending.omit.blocked:
                creds, creds_source = "omit", (
                    "its preflight would have failed for a credentialed request, yet the browser sent it")
            kind = "actual"
            cache_info = {"state": "preflighted", "preflight_flow_id": pending.verdict.flow_id}
            updated = (_completed_preflight(pending, ex.id, creds, creds_source),)
            completed = (pending.exchange,)
            result = pending.result_include if creds == "include" else pending.result_omit
            if result is not None:
                self.cache.store((req.client, origin, req.url),
                                 CacheEntry(result, pending.time + result.max_age,
                                            pending.verdict.flow_id, pending.time))
        else:
            unsafe = facts.unsafe_headers
            creds, creds_source = credentials_evidence(req, None)
            if creds == "include" and "cookie" not in req.headers.by_name and "sec-fetch-storage-access" not in req.headers.by_name:
                # Only Authorization suggested `include`. If the cached preflight listed it, the page
                # set it itself (a bearer token) and reuses that preflight: no proof of credentials.
                entry = self.cache.get((req.client, origin, req.url), now)
                if entry is not None and "authorization" in entry.result.headers:
                    creds, creds_source = credentials_evidence(req, ["authorization"])
            kind, cache_info = "simple", None
            if needs_preflight(req.method, unsafe):
                kind = "actual"
                entry, state = self.cache.lookup((req.client, origin, req.url), now, req.method,
                                                 unsafe, creds == "include")
                cache_info = {"state": state, "lookup": state}
                if entry is not None:
                    cache_info["preflight_flow_id"] = entry.preflight_flow_id
                    cache_info["age"] = round(now - entry.created, 3)
                    if state == "hit" and creds == "unknown" and not entry.result.include:
                        creds, creds_source = "omit", (
                            "it reused a preflight cached for requests without credentials, "
                            "which a credentialed request cannot do")
                if state != "hit":
                    cache_info["state"] = "unseen"

        revalidation_note = None
        if view.status == 304 and _is_conditional(req.headers):
            view, revalidation_note = self._merge_revalidation(req, view)
        location = redirect_location(req.url, view.status, view.headers)
        label = "redirect" if location else "actual"
        omit, include = access_outcomes(view.headers, origin, label)
        if location:
            bad = userinfo_failure(location) or scheme_failure(location)
            if bad:  # checked once the response passed the CORS check
                if not omit.blocked:
                    omit = Outcome((bad,))
                if not include.blocked:
                    include = Outcome((bad,))
        chosen = include if creds == "include" else omit
        if location and not chosen.blocked and unsafe_redirect(location):
            failed = _redirect_failed(ex, facts, UNSAFE_REDIRECT, kind)._replace(
                credentials=creds, credentials_source=creds_source, preflight_cache=cache_info,
                paired_flow_id=pending.verdict.flow_id if pending is not None else None,
                redirected_from=hop.flow_id if hop is not None else None)
            return Observation(failed, updated, completed)
        judged = _judge(chosen, kind, req.url, facts.origin_header, facts.initiator, view, creds)
        blocked = chosen.blocked
        message = judged.message

        notes: list[str] = []
        if revalidation_note:
            notes.append(revalidation_note)
        elif 200 <= view.status < 300 and ("etag" in view.headers.by_name or "last-modified" in view.headers.by_name):
            self._validated[(req.client, req.url)] = view.headers
            self._validated.move_to_end((req.client, req.url))
            while len(self._validated) > self.capacity:
                self._validated.popitem(last=False)
        paired_flow_id = None
        if pending is not None:
            paired_flow_id = pending.verdict.flow_id
        elif cache_info and cache_info.get("preflight_flow_id") and cache_info["state"] == "hit":
            paired_flow_id = cache_info["preflight_flow_id"]
            notes.append(f"no preflight on the wire: the browser reused the preflight cached "
                         f"{cache_info['age']} s earlier")
        elif cache_info and cache_info["state"] == "unseen":
            notes.append(
                "this request needed a preflight but the proxy saw none: the browser reused a cached "
                "preflight from before the proxy saw it (or unsafe headers were guessed from the wire: "
                + ", ".join(unsafe or [req.method]) + ")")
        redirected_from = None
        if hop is not None:
            redirected_from = hop.flow_id
            if blocked and message:
                message = message.replace(f"at '{req.url}'",
                                          f"at '{req.url}' (redirected from '{hop.first_url}')", 1)
        if location and not blocked:
            first = hop.first_url if hop else req.url
            self._remember(self._redirects, (req.client, location), _Hop(ex.id, first, now), now)
            if facts.origin and not facts.origin.opaque and taints_origin(facts.origin, req.url, location):
                notes.append("the next hop goes to another origin: the browser sends Origin: null there")
        warnings = judged.warnings
        exposed = unexposed = None
        if not blocked and not location:
            exposed, unexposed = exposed_header_names(view.headers, creds == "include")
            acao = normalized(view.headers.by_name.get("access-control-allow-origin"))
            if acao not in (None, "*") and not varies_on_origin(view.headers):
                warnings += ("Access-Control-Allow-Origin names one origin but the response has no "
                             "Vary: Origin; caches may serve it to other origins",)
            if acao == "null":
                warnings += ("Access-Control-Allow-Origin: null lets sandboxed and redirected "
                             "documents of any site read this response",)
        firefox_note = judged.firefox_note
        if kind == "simple" and not CHROMIUM_ONLY_SAFELISTED.isdisjoint(req.headers.by_name):
            chromium_only = [h for h in req.headers.names() if h in CHROMIUM_ONLY_SAFELISTED]
            firefox_note = ("Firefox would send a preflight for " + ", ".join(chromium_only)
                            + " (Chromium safelists them)")
        return Observation(Verdict(
            flow_id=ex.id, kind=kind, verdict=judged.verdict, method=req.method, url=req.url,
            origin=facts.origin_header, time=req.timestamp,
            credentials=creds, credentials_source=creds_source,
            mode=facts.mode, mode_source=facts.mode_source, initiator=facts.initiator,
            reason=judged.reason, failed_parameter=judged.failed_parameter,
            firefox_reason=judged.firefox_reason, message=message, fix=judged.fix, failures=judged.failures,
            conditional=_conditional(omit, include, creds, facts.initiator,
                                     self._credentials_hint(facts, view.headers)
                                     if creds == "unknown" and omit.failures != include.failures else None),
            paired_flow_id=paired_flow_id, redirected_from=redirected_from, preflight_cache=cache_info,
            cause=judged.cause, warnings=warnings, notes=tuple(notes), firefox_note=firefox_note,
            exposed_headers=exposed, unexposed_headers=unexposed,
        ), updated, completed)

    def _not_checked(self, ex: Exchange, facts: RequestFacts, view: _ResponseView) -> Verdict:
        kind = facts.kind
        req = ex.request
        location = redirect_location(req.url, view.status, view.headers)
        if location and kind == "same-origin" and facts.mode in ("cors", "same-origin"):
            target = origin_of_url(location)
            if target is not None and facts.target is not None and not target.same_origin(facts.target):
                # The next hop is cross-origin: Chromium sets the CORS flag and checks again.
                if facts.mode == "same-origin":
                    # Blink aborts it (net::ERR_ABORTED, no CorsError; seen in Chromium 156), and the
                    # next hop is never sent.
                    cause = ("the browser aborts the fetch: mode 'same-origin' cannot follow a redirect "
                             "to another origin (net::ERR_ABORTED, not a CORS error)")
                    return Verdict(
                        flow_id=ex.id, kind=kind, verdict="blocked", method=req.method, url=req.url,
                        origin=facts.origin_header, time=req.timestamp, mode=facts.mode,
                        mode_source=facts.mode_source, initiator=facts.initiator, cause=cause,
                        message=("Not a CORS error: " + cause + ". Use mode 'cors', or redirect within "
                                 "the page's origin."))
                bad = userinfo_failure(location)
                if bad:
                    outcome = Outcome((bad,))
                    return _verdict(ex, facts, kind, outcome, outcome, "unknown", "", view)
                self._remember(self._redirects, (req.client, location), _Hop(ex.id, req.url, req.timestamp),
                               req.timestamp)
        if location and ("@" in location or not location.startswith(("http:", "https:"))):
            refused = _uncovered_redirect(ex, facts, view, location)
            if refused is not None:
                return refused
        if facts.mode == "websocket" and view.status != 101:
            return _websocket_refused(ex, facts, view.status, view.cause)
        if kind == "no-cors":
            block = corp_block(facts, req, view.headers)
            if block is not None:
                return _corp_blocked(ex, facts, block)  # before ORB, as in Chromium (measured)
            orb = None if location else orb_verdict(ex, facts, view.status, view.headers, self._orb_media)
            if orb is not None:
                return orb
        return Verdict(
            flow_id=ex.id, kind=kind, verdict="allowed", method=req.method, url=req.url,
            origin=facts.origin_header, time=req.timestamp, mode=facts.mode, mode_source=facts.mode_source,
            initiator=facts.initiator,
            message=_NOT_CHECKED_MESSAGES.get(kind) or "Not governed by CORS: " + facts.mode_source + ".")

    def _no_response(self, ex: Exchange, facts: RequestFacts) -> Verdict:
        req = ex.request
        return Verdict(
            flow_id=ex.id, kind={"cors": "simple"}.get(facts.kind, facts.kind), verdict="blocked",
            method=req.method, url=req.url, origin=facts.origin_header, time=req.timestamp,
            mode=facts.mode, mode_source=facts.mode_source, initiator=facts.initiator,
            cause=f"no response reached the browser: {ex.error}",
            message=("No response reached the browser (" + str(ex.error) + "). The browser "
                     "reports a network error (net::ERR_FAILED), not a CORS error."))

    # -- helpers ----------------------------------------------------------------------------

    def _page_rules(self, ex: Exchange, facts: RequestFacts, view: _ResponseView, v: Verdict) -> Verdict:
        """What depends on the page and the browser's cache rather than on CORS: the page's COEP
        (embedder_policy), the cache trap (cache_trap), Local Network Access (local_network_access)."""
        if view.cause is not None:
            return v  # the proxy answered for an unreachable server
        if v.verdict == "allowed":
            v = coep_judgement(self.documents, ex, facts, view.headers, v)
            v = self.cache_traps.judge(ex, facts, v)
        self.documents.note(ex, facts, view.status, view.headers)
        return lna_judgement(self.documents, ex, facts, v)


    def _credentials_hint(self, facts: RequestFacts, headers: Headers) -> str | None:
        """What in the session suggests the page sends credentials to this server (None: nothing).

        A response that fails only for credentialed requests is flagged when something does: the
        server's own Access-Control-Allow-Credentials: true, or cookies this host set or received.
        A public API ('*', no Allow-Credentials, no cookies) called without them is not."""
        if normalized(headers.by_name.get("access-control-allow-credentials")) == "true":
            return "the server sends Access-Control-Allow-Credentials: true"
        host = facts.target.host if facts.target is not None else ""
        return self.credentials.cookies_for(host)

    def _merge_revalidation(self, req, view: _ResponseView) -> tuple[_ResponseView, str]:
        """A 304 to a revalidation is merged into the browser's cached copy, and that is CORS-checked."""
        stored = self._validated.get((req.client, req.url))
        if stored is None:
            if "access-control-allow-origin" in view.headers:
                return view, "a 304 revalidation, judged on the CORS headers it carries"
            # The copy the browser holds passed before (or the page would not revalidate it).
            # Judge a stand-in copy that passes either way, rather than guess a failure.
            stand_in = Headers([("Access-Control-Allow-Origin", req.headers.get("Origin") or "null"),
                                ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")])
            return (_ResponseView(200, stand_in, None),
                    "a 304 revalidation: the browser judges its cached copy, which the proxy did not see; "
                    "assumed to carry the same CORS headers as when it was stored")
        updated = {name for name, _ in view.headers.fields if name.lower() not in _NOT_UPDATED_BY_304}
        merged = [(n, v) for n, v in stored.fields if n.lower() not in {u.lower() for u in updated}]
        merged += [(n, v) for n, v in view.headers.fields if n in updated]
        return (_ResponseView(200, Headers(merged), None),
                "a 304 revalidation: judged on the cached response it refreshes, as the browser does")

    def _remember(self, table: OrderedDict, key: tuple, value, now: float) -> None:
        table[key] = value
        table.move_to_end(key)
        while table and (len(table) > self.capacity
                         or next(iter(table.values())).time < now - self.pair_window):
            table.popitem(last=False)

    def _take(self, table: OrderedDict, key: tuple, now: float):
        item = table.pop(key, None)
        if item is not None and item.time < now - self.pair_window:
            return None
        return item


def _not_in_capture(ex: Exchange, facts: RequestFacts) -> Verdict:
    """A request the capture holds without a response (a browser's HAR: blocked or failed in the
    browser). Never an all-clear: what can be told from the request alone is said, the rest is
    named as missing from the file."""
    req = ex.request
    kind, origin, source = _kind_in_capture(req, facts)
    recorded = f"no response in the capture ({ex.error})" if ex.error else "no response in the capture"
    why = ()
    if kind == "actual":
        why = preflight_reasons(req.method, facts.unsafe_headers if facts.kind == "cors"
                                else cors_unsafe_request_header_names(req.headers))
        cause = f"{recorded}: it needed a preflight ({'; '.join(why)}), which the capture does not hold"
        guess = ("It needed a preflight (" + "; ".join(why) + "): most likely the preflight failed and the "
                 "browser never sent this request (a preflight answered with an error status, or without "
                 "the Access-Control-Allow-Origin, -Methods or -Headers it needed).")
    elif kind == "simple":
        cause = f"{recorded}: the browser blocked the response or the request failed"
        guess = ("It needed no preflight: most likely the server answered and the browser blocked the "
                 "response (no or another Access-Control-Allow-Origin, '*' for a credentialed request, a "
                 "redirect without CORS headers), or the request failed on the network.")
    elif kind == "preflight":
        cause = f"{recorded}: the preflight failed, or its answer was not recorded"
        guess = "The preflight's answer is not in the file, so its checks cannot be made."
    elif kind == "same-origin":
        cause = f"{recorded}: the request failed in the browser (same-origin: not a CORS error)"
        guess = "A same-origin request is not CORS-checked: the failure has another cause."
    elif kind == "no-cors":
        cause = f"{recorded}: a no-cors load failed (not a CORS error)"
        guess = "A no-cors load is not CORS-checked: the failure has another cause."
    elif facts.mode == "navigate":
        cause = f"{recorded}: a navigation failed (not a CORS error)"
        guess = "Navigations are not CORS-checked."
    else:
        cause = f"{recorded}: neither Origin nor Referer says which page made it"
        guess = "Without the page's origin, whether CORS applied cannot be told."
    message = ("The capture holds this request but no response: a browser's HAR records a request that "
               "the browser blocked, or that failed, this way, without the response headers the browser "
               "judged and without the preflight. " + guess + " Record the page through the proxy "
               "(mitmdump -s cors_addon.py) for the browser's reason and the fix: mitmproxy's own "
               "captures hold every preflight and response.")
    return Verdict(
        flow_id=ex.id, kind=kind, verdict="blocked", method=req.method, url=req.url, origin=origin,
        time=req.timestamp, mode=facts.mode, mode_source=source, initiator=facts.initiator,
        credentials_source="the capture holds only the headers the page set, not the cookies the browser added",
        cause=cause, message=message, not_in_capture=True)


def _kind_in_capture(req, facts: RequestFacts) -> tuple[str, str | None, str]:
    """(kind, page origin, how it was told) for a request recorded without a response. A browser's
    HAR keeps only the headers the page set for such a request (Chromium's provisional headers: no
    Origin, no Sec-Fetch-*), so the page's origin comes from the Referer when Origin is absent."""
    if facts.kind == "preflight":
        return "preflight", facts.origin_header, facts.mode_source
    if facts.kind == "cors":
        kind = "actual" if needs_preflight(req.method, facts.unsafe_headers) else "simple"
        return kind, facts.origin_header, facts.mode_source
    if facts.kind != "not-cors" or facts.mode != "unknown" or facts.origin_header is not None:
        return facts.kind, facts.origin_header, facts.mode_source
    referer = req.headers.get("Referer")
    page = origin_of_url(referer) if referer else None
    target = facts.target
    if page is None or page.opaque or target is None:
        return "not-cors", None, "no Origin, no Sec-Fetch-* and no Referer in the capture"
    source = "the page's origin from the Referer (the capture holds only the headers the page set)"
    idx = req.headers.by_name
    if "upgrade-insecure-requests" in idx or (normalized(idx.get("accept")) or "").lower().startswith("text/html"):
        return "not-cors", page.serialize(), "Accept: text/html or Upgrade-Insecure-Requests: a navigation"
    if page.same_origin(target):
        return "same-origin", page.serialize(), source + ", the target's own"
    unsafe = cors_unsafe_request_header_names(req.headers)
    return ("actual" if needs_preflight(req.method, unsafe) else "simple"), page.serialize(), source


def _uncovered_redirect(ex: Exchange, facts: RequestFacts, view: _ResponseView, location: str) -> Verdict | None:
    """A redirect no CORS check on the wire covers, to a URL with credentials or a scheme that is not
    http(s) (redirect_check.uncovered_redirect_outcome): a CORS error, or a failure that is not one."""
    req = ex.request
    page = facts.origin if facts.origin is not None or facts.kind != "same-origin" else facts.target
    if facts.origin_header is None and facts.mode == "unknown":
        referer = req.headers.get("Referer")
        page = origin_of_url(referer) if referer else None
        page = None if page is None or page.opaque else page
    idx = req.headers.by_name
    outcome = uncovered_redirect_outcome(facts.mode, page, facts.target, location, normalized(idx.get("accept")) or "",
                                         (normalized(idx.get("sec-fetch-dest")) or "").lower())
    if outcome is None:
        return None
    how, what = outcome
    if how == "cors":
        if facts.mode == "unknown":
            facts = replace(facts, mode="cors", mode_source=(
                "assumed: a same-origin request (Referer) without Sec-Fetch-Mode, judged as fetch()/XHR in cors "
                "mode; its redirect to another origin is CORS-checked"), origin_header=page.serialize())
        failure = userinfo_failure(location) if what == "RedirectContainsCredentials" else scheme_failure(location)
        return _verdict(ex, facts, facts.kind, Outcome((failure,)), Outcome((failure,)), "unknown", "", view)
    return _redirect_failed(ex, facts, what)


_REDIRECT_FAILURES = {
    ABORTED: ("the browser aborts the load: Chromium blocks subresource requests whose URL includes credentials, "
              "the redirect's Location too",
              "redirect to a URL without user:password@ (credentials go in an Authorization header or a cookie)"),
    UNSAFE_REDIRECT: ("the browser refuses to follow a redirect to a data:, about: or file: URL",
                      "redirect to an http(s) URL"),
    UNKNOWN_SCHEME: ("the browser cannot load the redirect's Location: its scheme is not http(s)",
                     "redirect to an http(s) URL"),
}


def _redirect_failed(ex: Exchange, facts: RequestFacts, net_error: str, kind: str | None = None) -> Verdict:
    """A redirect the browser fails without a CORS error (the net error in `cause`), with the fix."""
    req = ex.request
    what, fix = _REDIRECT_FAILURES[net_error]
    cause = f"{what} ({net_error}, not a CORS error)"
    return Verdict(
        flow_id=ex.id, kind=kind or facts.kind, verdict="blocked", method=req.method, url=req.url,
        origin=facts.origin_header, time=req.timestamp, mode=facts.mode, mode_source=facts.mode_source,
        initiator=facts.initiator, cause=cause, warnings=(f"{cause}; fix: {fix}",),
        message=f"Not a CORS error: {cause}. Fix: {fix}.")


def _corp_blocked(ex: Exchange, facts: RequestFacts, block: CorpBlock) -> Verdict:
    """A no-cors response its own Cross-Origin-Resource-Policy keeps from the page: not CORS."""
    req = ex.request
    cause = (f"blocked by the response's Cross-Origin-Resource-Policy: {block.policy} ({block.net_error}; DevTools: "
             f"{block.blocked_reason}), not by CORS: the page ({block.initiator}) is not "
             f"{'the same origin' if block.policy == 'same-origin' else 'the same site'}")
    fix = ("on the response: set Cross-Origin-Resource-Policy: cross-origin (any site may embed it)"
           + (", or same-site where page and resource share a registrable domain (never for IP addresses)"
              if block.policy == "same-origin" else "")
           + ", or remove the header; Access-Control-Allow-Origin does not help a no-cors load")
    return Verdict(
        flow_id=ex.id, kind=facts.kind, verdict="blocked", method=req.method, url=req.url,
        origin=facts.origin_header, time=req.timestamp, mode=facts.mode, mode_source=facts.mode_source,
        initiator=facts.initiator, cause=cause, warnings=(f"{cause}; fix {fix}",),
        message=(f"The browser fails this {facts.initiator or 'no-cors'} load: {cause}. Fix {fix}."))


def _websocket_refused(ex: Exchange, facts: RequestFacts, status: int, proxy_cause: str | None) -> Verdict:
    """A WebSocket handshake answered with anything but 101: the browser fails the connection
    (Chromium: close code 1006, "Error during WebSocket handshake: Unexpected response code: N"; it
    follows no redirect). No CORS check runs on WebSockets: the server itself refused the handshake,
    and the usual reason is its own check of the page's Origin."""
    req = ex.request
    origin = facts.origin_header or "the page's origin"
    cause = (f"the server refused the WebSocket handshake ({status}): not a CORS error; a WebSocket server checks "
             f"the Origin ({origin}) itself")
    advice = (f"if it refused this origin, add {origin} to the server's WebSocket origin check (Socket.IO's "
              "cors.origin, ws's verifyClient, Django Channels' AllowedHostsOriginValidator, Spring's "
              "setAllowedOrigins); Access-Control-* headers do nothing for WebSockets")
    if proxy_cause is not None:  # the server was never reached: nothing it refused
        cause = f"{proxy_cause}: the WebSocket fails; not a CORS error"
        advice = "start the server or fix its address; Access-Control-* headers do nothing for WebSockets"
    return Verdict(
        flow_id=ex.id, kind=facts.kind, verdict="blocked", method=req.method, url=req.url,
        origin=facts.origin_header, time=req.timestamp, mode=facts.mode, mode_source=facts.mode_source,
        initiator=facts.initiator, cause=cause, warnings=(f"{cause}; {advice}",),
        message=(f"The browser fails the WebSocket (close code 1006; Chromium's console: \"Error during WebSocket "
                 f"handshake: Unexpected response code: {status}\"). The {cause[4:]}. {advice[0].upper()}{advice[1:]}."))


_NOT_CHECKED_MESSAGES = {
    "no-cors": "Not blocked: a no-cors request gets an opaque response the page cannot read.",
    "same-origin": "Same-origin: CORS does not apply.",
}
# Headers a 304 never replaces in the stored response (net::HttpResponseHeaders::Update).
_NOT_UPDATED_BY_304 = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection",
                                 "keep-alive", "etag", "content-range"})


def _is_conditional(headers: Headers) -> bool:
    return "if-none-match" in headers or "if-modified-since" in headers


def _response_view(ex: Exchange) -> _ResponseView | None:
    if ex.response is not None:
        return _ResponseView(ex.response.status, ex.response.headers, None)
    if ex.proxy_answered_error:
        return _ResponseView(502, _EMPTY, proxy_error_cause(ex.error))
    return None


def proxy_error_cause(error: str | None) -> str:
    """Why the browser got the proxy's own 502, and what fixes it: never a CORS header, since the
    server was not reached. An upstream certificate the proxy does not trust (a dev server's
    self-signed or mkcert certificate) is fixed in the proxy's settings."""
    text = f"the proxy could not reach the server ({error}) and answered 502 Bad Gateway itself, without CORS headers"
    low = (error or "").lower()
    if "certificate" in low and ("verif" in low or "self-signed" in low or "self signed" in low):
        return (text + "; mitmproxy does not trust the server's TLS certificate (a self-signed or mkcert "
                "development certificate?): start it with --ssl-insecure, or with --set "
                "ssl_verify_upstream_trusted_ca=<the CA's .pem>; no CORS header can fix this")
    return text + "; no CORS header can fix this: check that the server runs at this address"


def _verdict(ex: Exchange, facts: RequestFacts, kind: str, omit: Outcome, include: Outcome, creds: str,
             creds_source: str, view: _ResponseView, notes: tuple[str, ...] = (),
             credentials_hint: str | None = None) -> Verdict:
    """The verdict on a checked response that nothing but its own checks bear on."""
    req = ex.request
    judged = _judge(include if creds == "include" else omit, kind, req.url, facts.origin_header,
                    facts.initiator, view, creds)
    return Verdict(
        flow_id=ex.id, kind=kind, verdict=judged.verdict, method=req.method, url=req.url,
        origin=facts.origin_header, time=req.timestamp, credentials=creds, credentials_source=creds_source,
        mode=facts.mode, mode_source=facts.mode_source, initiator=facts.initiator,
        reason=judged.reason, failed_parameter=judged.failed_parameter, firefox_reason=judged.firefox_reason,
        message=judged.message, fix=judged.fix, failures=judged.failures,
        conditional=_conditional(omit, include, creds, facts.initiator, credentials_hint),
        cause=judged.cause, warnings=judged.warnings, notes=notes, firefox_note=judged.firefox_note)


def _completed_preflight(p: _PendingPreflight, actual_id: str, creds: str, source: str) -> Verdict:
    """The pending preflight's verdict once its actual request showed the credentials mode."""
    v = p.verdict
    notes = tuple(n for n in v.notes if "never sent" not in n)
    source = "from the actual request: " + source
    if creds not in ("include", "omit"):
        return v._replace(paired_flow_id=actual_id, credentials=creds, credentials_source=source, notes=notes)
    # Judged again under the credentials mode now known; what the response itself showed (the real
    # cause, Firefox's note) stays.
    judged = _judge(p.include if creds == "include" else p.omit, v.kind, v.url, v.origin, v.initiator, None)
    return v._replace(
        paired_flow_id=actual_id, credentials=creds, credentials_source=source, conditional=None,
        verdict=judged.verdict, reason=judged.reason, failed_parameter=judged.failed_parameter,
        firefox_reason=judged.firefox_reason, message=judged.message, fix=judged.fix,
        failures=judged.failures, warnings=judged.warnings, notes=notes)


def settle_credentials(ex: Exchange, v: Verdict, creds: str, source: str,
                       xhr_order: Sequence[str] | None = None) -> Verdict | None:
    """`v` judged again once the page said its credentials mode (the page probe), or None when that
    changes nothing: the wire already showed it, or the flow is not a CORS check. Only this flow's
    own response is judged again; pairing and the preflight cache keep what the wire showed.
    `xhr_order`: the header names an XMLHttpRequest set, in the order it set them, which is the
    order Chromium meets them in (engine/blink_header_order.py) - for fetch() the wire suffices."""
    if v.kind not in ("simple", "actual", "preflight") or v.credentials != "unknown" or creds not in ("include", "omit"):
        return None
    if v.failed_not_cors:
        return None  # it fails whatever the credentials (an unsafe redirect, a refused handshake)
    view = _response_view(ex)
    if view is None or (view.status == 304 and v.kind != "preflight"):
        return None  # no response, or a revalidated copy the proxy did not see: nothing new to judge
    facts = classify(ex.request)
    if facts.origin is None:
        return None
    origin = facts.origin.serialize()
    if v.kind == "preflight":
        (omit, _), (include, _) = check_preflight_both(
            status=view.status, headers=view.headers, origin=origin, method=facts.acrm,
            unsafe_headers=facts.acrh, redirected=redirect_location(ex.request.url, view.status, view.headers) is not None,
            trustworthy=facts.target is not None and facts.target.potentially_trustworthy(), xhr_order=xhr_order)
        exposed = unexposed = None
    else:
        location = redirect_location(ex.request.url, view.status, view.headers)
        omit, include = access_outcomes(view.headers, origin, "redirect" if location else "actual")
        bad = userinfo_failure(location) if location else None
        if bad:
            omit, include = (o if o.blocked else Outcome((bad,)) for o in (omit, include))
        exposed, unexposed = (exposed_header_names(view.headers, creds == "include")
                              if not location else (None, None))
    chosen = include if creds == "include" else omit
    judged = _judge(chosen, v.kind, v.url, v.origin, v.initiator, view, creds)
    message = judged.message
    if v.redirected_from and judged.verdict == "blocked" and v.verdict == "blocked" and "(redirected from" in v.message:
        message = v.message if (judged.reason, judged.failed_parameter) == (v.reason, v.failed_parameter) else message
    # Warnings the response itself showed (Vary, null) stay; the ones of the outcome are the new one's.
    kept = tuple(w for w in v.warnings if w not in (omit.warnings + include.warnings))
    settled = v._replace(
        credentials=creds, credentials_source=source, conditional=None,
        verdict=judged.verdict, reason=judged.reason, failed_parameter=judged.failed_parameter,
        firefox_reason=judged.firefox_reason, message=message, fix=judged.fix, failures=judged.failures,
        cause=judged.cause if judged.verdict == "blocked" else v.cause,
        warnings=tuple(dict.fromkeys(judged.warnings + kept)),
        firefox_note=judged.firefox_note or v.firefox_note,
        exposed_headers=exposed if exposed is not None else v.exposed_headers,
        unexposed_headers=unexposed if unexposed is not None else v.unexposed_headers)
    settled = firefox_on_redirect(settled, view.status, view.headers)
    return settled if settled != v else None


_ALLOWED = _Judgement("allowed", "Allowed: the browser lets the page read this response.")
_ALLOWED_PREFLIGHT = _Judgement("allowed", "Allowed: the preflight permits the actual request.")


def _judge(outcome: Outcome, kind: str, url: str, origin: str | None, initiator: str,
           view: _ResponseView | None, credentials: str = "unknown") -> _Judgement:
    """Reason, message, fix and cause from the outcome the browser acts on. `view`: the response
    judged (None: judged again without it, and `cause` and `firefox_note` are left to the caller);
    `credentials`: the request's credentials mode as judged (include, omit, unknown)."""
    failures = outcome.failures
    warnings = outcome.warnings
    if not failures:
        allowed = _ALLOWED_PREFLIGHT if kind == "preflight" else _ALLOWED
        return allowed._replace(warnings=warnings) if warnings else allowed
    reason = failures[0].reason
    parameter = failures[0].parameter
    firefox_reason, firefox_note = firefox_reading(failures, view.headers if view is not None else None,
                                                   origin, credentials)
    cause = None
    message = (f"Access to {initiator} at '{url}' from origin '{origin or 'null'}' has been blocked by "
               f"CORS policy: {console_text(reason, parameter, initiator)}")
    if view is not None:
        cause = _real_cause(view, reason)
        if cause:
            message += f" (Underneath: {cause}.)"
    # The proxy answered for a server it could not reach: the fix is the connection, not a header.
    steps = () if view is not None and view.cause else fix_steps(failures)
    return _Judgement("blocked", message, warnings, reason, parameter, firefox_reason, steps,
                      failures, cause, firefox_note)


def _real_cause(view: _ResponseView, reason: str) -> str | None:
    if view.cause:
        return view.cause
    if reason not in ("MissingAllowOriginHeader", "PreflightMissingAllowOriginHeader", "PreflightInvalidStatus"):
        return None
    status = view.status
    if status in (405, 501) and reason != "MissingAllowOriginHeader":
        return f"the server answered {status}: no route handles OPTIONS for this URL"
    if status >= 500:
        return f"the server answered {status}, an error page without CORS headers; fix the server error first"
    if status == 404:
        return "the server answered 404 Not Found without CORS headers: check the URL and the route"
    if status in (401, 403) and reason != "MissingAllowOriginHeader":
        return f"the server answered {status}: an auth layer rejects OPTIONS before the CORS handler runs"
    return None


def _conditional(omit: Outcome, include: Outcome, creds: str, initiator: str,
                 evidence: str | None = None) -> dict | None:
    """The verdict under credentials 'include', for a flow whose credentials mode is unknown, when
    it differs: a dict of its own for each verdict, from a remembered reading. `evidence`: what in
    the session suggests the page sends credentials (front ends flag the flow only then)."""
    if creds != "unknown" or (include.reason, include.parameter) == (omit.reason, omit.parameter):
        return None
    verdict, reason, parameter, firefox_reason, message, fix = _reading_with_credentials(
        include.failures, initiator)
    return {"verdict": verdict, "reason": reason, "failed_parameter": parameter,
            "firefox_reason": firefox_reason, "message": message, "fix": list(fix), "evidence": evidence}


# A server that fails under credentials fails the same way on every response.
@memoized()
def _reading_with_credentials(failures: tuple[Failure, ...], initiator: str) -> tuple:
    reason = failures[0].reason if failures else None
    parameter = failures[0].parameter if failures else None
    entry = REASONS.get(reason) if reason else None
    return ("blocked" if failures else "allowed", reason, parameter, firefox_reading(failures, None, None, "include")[0],
            (f"With credentials: 'include' the browser would block it: "
             f"{console_text(reason, parameter, initiator)}" if entry else
             "With credentials: 'include' the browser would allow it."),
            tuple(s.text() for s in fix_steps(failures)))
