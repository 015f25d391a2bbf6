"""addon: the opt-in page probe (`cors_probe`, docs/page-probe.md).

For the HTML documents the `cors_probe` flow filter selects, one small script (page_probe.js) goes in
as the first thing of the document's `<head>`. It records what the page asked for in each `fetch()`,
`XMLHttpRequest`, `EventSource` and `navigator.sendBeacon()` call (credentials mode, request mode,
the headers an XHR set in their order) and what the page saw, and posts the records to
`PROBE_PATH` on the page's own origin. This addon answers those posts itself (never forwarded) and
hands the records to the pipeline, which settles the verdicts of the flows they describe
(pipeline.py `page_records`) and names the requests the browser refused before sending.

Nothing else changes: no request of the page is touched, and every response but the selected
documents passes byte for byte. Where the document's Content-Security-Policy would block the
script or its delivery, the policy is amended for exactly that (a nonce for the one script, the one
delivery URL in `connect-src`), and the flow says so; where injecting is not safe, nothing is
injected and the flow says why.
"""

from __future__ import annotations

import logging
import re
import secrets
from importlib import resources

from mitmproxy import ctx, flowfilter, hooks, http

from ..engine.origin import origin_of_url
from ..engine.page_intent import parse_page_records
from .addon_chain import any_addon_with
from .analysis import Analysis
from .annotate import MARK_BLOCKED, FlowIndex
from .options import flow_filter, reported

logger = logging.getLogger("mitmproxy_cors")

PROBE_PATH = "/.well-known/mitmproxy-cors-probe"
METADATA_KEY = "cors_probe"
MAX_DOCUMENT = 8 * 1024 * 1024  # bytes: larger documents are left alone
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HEAD = re.compile(rb"<head(?:\s[^>]*)?>", re.I)
_HTML = re.compile(rb"<html(?:\s[^>]*)?>", re.I)
_DOCTYPE = re.compile(rb"<!doctype[^>]*>", re.I)
_META_CSP = re.compile(rb"""<meta\s[^>]*http-equiv\s*=\s*["']?content-security-policy["']?[^>]*>""", re.I)
_CONTENT_ATTR = re.compile(rb"""(content\s*=\s*)(["'])(.*?)\2""", re.I | re.S)
_SCRIPT_FALLBACK = ("script-src-elem", "script-src", "default-src")
_CONNECT_FALLBACK = ("connect-src", "default-src")


def _script_text() -> str:
    return resources.files("mitmproxy_cors.mitm").joinpath("page_probe.js").read_text(encoding="utf-8")


class CorsPageProbe:
    name = "cors_probe"

    def __init__(self, analysis: Analysis, flows: FlowIndex, observer) -> None:
        self.analysis = analysis
        self.flows = flows
        self.observer = observer  # its analysis worker, when one runs, holds the session's flows
        self.filter: flowfilter.TFilter | None = None
        self.token = secrets.token_urlsafe(16)  # proves a delivery came from a script this proxy injected
        self._script: str | None = None
        self._updates_wanted: bool | None = None

    def load(self, loader) -> None:
        loader.add_option(
            "cors_probe", str, "",
            "A flow filter selecting the HTML pages to instrument with the page probe (e.g. '~d app.example.com' "
            "or '~all'): a small script in each selected document records what the page asked for in fetch(), "
            "XMLHttpRequest, EventSource and sendBeacon calls (credentials mode, header order, requests the "
            "browser refused before sending), so verdicts need no guess. Empty (default): off. docs/page-probe.md",
        )

    def configure(self, updated: set[str]) -> None:
        if "cors_probe" not in updated:
            return
        with reported(updated):
            self.filter = flow_filter("cors_probe", ctx.options.cors_probe.strip())
            self.analysis.probe_pages = self.filter is not None
            worker = getattr(self.observer, "worker", None)
            if worker is not None:
                worker.send(("config", {"probe": self.filter is not None}))

    # -- the delivery -------------------------------------------------------------------------

    def request(self, f: http.HTTPFlow) -> None:
        if self.filter is None or f.response is not None or not f.request.path.startswith(PROBE_PATH):
            return
        path = f.request.path
        if path != PROBE_PATH and not path.startswith(PROBE_PATH + "?"):
            return
        f.metadata[METADATA_KEY] = {"delivery": True}
        page = _origin_of(f)
        refused = self._refused(f, page)
        if refused:
            f.response = http.Response.make(403, refused.encode(), {"Content-Type": "text/plain", "Cache-Control": "no-store"})
            f.metadata[METADATA_KEY]["refused"] = refused
            logger.warning("mitmproxy-cors page probe: a delivery to %s was refused: %s", page, refused)
            return
        f.response = http.Response.make(204, b"", {"Cache-Control": "no-store"})
        records, problems = parse_page_records(f.request.get_content(strict=False) or b"")
        f.metadata[METADATA_KEY].update(records=len(records), problems=problems)
        for p in problems:
            logger.warning("mitmproxy-cors page probe (%s): %s", page, p)
        if not records:
            return
        plain = [tuple(getattr(r, name) for name in r.__dataclass_fields__) for r in records]
        worker = getattr(self.observer, "worker", None)
        if worker is not None:
            self.flows.add(f)  # the worker's answer names the browser's refusals on this flow
            if worker.send(("page", page, plain, f.id)):
                return
        updates, refusals = self.analysis.handle_page(page, plain, f.id)
        changed = []
        for d in updates:
            other = self.flows.get(d.flow_id)
            if other is not None:
                self.flows.annotate(other, d)
                changed.append(other)
        annotate_delivery(f, refusals)
        if changed:
            if self._updates_wanted is None:
                self._updates_wanted = any_addon_with("update")
            if self._updates_wanted:
                ctx.master.addons.trigger(hooks.UpdateHook(changed))

    def _refused(self, f: http.HTTPFlow, page: str) -> str | None:
        """Why a delivery is not taken: only the script this proxy injected, from its own page."""
        if f.request.method != "POST":
            return "the page probe takes POST only"
        if f.request.query.get("t") != self.token:
            return "not from a script this proxy injected (wrong token)"
        origin = f.request.headers.get("Origin")
        if origin is not None and origin != page:
            return f"a delivery to {page} from another origin ({origin})"
        site = f.request.headers.get("Sec-Fetch-Site")
        if site is not None and site != "same-origin":
            return f"a delivery that is not same-origin (Sec-Fetch-Site: {site})"
        return None

    # -- the injection ------------------------------------------------------------------------

    def response(self, f: http.HTTPFlow) -> None:
        if self.filter is None or f.response is None or METADATA_KEY in f.metadata:
            return
        if not _is_document(f) or not self.filter(f):
            return
        why = _not_injectable(f)
        if why:
            f.metadata[METADATA_KEY] = {"injected": False, "why": why}
            logger.info("mitmproxy-cors page probe: %s not instrumented: %s", f.request.pretty_url, why)
            return
        try:
            self._inject(f)
        except Exception as e:  # the page must load as the server sent it
            f.metadata[METADATA_KEY] = {"injected": False, "why": f"could not inject: {e}"}
            logger.exception("mitmproxy-cors page probe could not instrument %s", f.request.pretty_url)

    def _inject(self, f: http.HTTPFlow) -> None:
        resp = f.response
        body = resp.get_content(strict=True)
        nonce = secrets.token_urlsafe(12)
        delivery = _origin_of(f) + PROBE_PATH
        amended: list[str] = []
        for name in ("Content-Security-Policy", "Content-Security-Policy-Report-Only"):
            values = resp.headers.get_all(name)
            if values:
                new = [amend_policy(v, nonce, delivery, amended) for v in values]
                if new != values:
                    resp.headers.set_all(name, new)
        body = _META_CSP.sub(lambda m: _amend_meta(m.group(0), delivery, amended), body)
        if self._script is None:
            self._script = _script_text()
        script = (self._script.replace("__TOKEN__", self.token).replace("__PATH__", PROBE_PATH)
                  .replace("</", "<\\/"))
        tag = f'<script nonce="{nonce}">{script}</script>'.encode()
        m = _HEAD.search(body) or _HTML.search(body) or _DOCTYPE.search(body)
        at = m.end() if m else 0
        resp.set_content(body[:at] + tag + body[at:])
        if "etag" in resp.headers:
            del resp.headers["etag"]  # another body: a validator of the server's would be wrong
        f.metadata[METADATA_KEY] = {"injected": True, "csp_amended": amended}
        if amended:
            logger.info("mitmproxy-cors page probe: %s instrumented; its Content-Security-Policy was amended: %s",
                        f.request.pretty_url, "; ".join(amended))


def annotate_delivery(f: http.HTTPFlow, refusals: list[dict]) -> None:
    """The delivery's flow says which requests the browser refused before sending (no flow of theirs)."""
    meta = f.metadata.setdefault(METADATA_KEY, {"delivery": True})
    meta["refusals"] = refusals
    if not refusals:
        if not f.comment:
            f.comment = f"CORS probe: {meta.get('records', 0)} record(s) from the page"
        return
    first = refusals[0]
    more = f" (+{len(refusals) - 1} more)" if len(refusals) > 1 else ""
    f.comment = (f"{first['reason'] or 'RefusedInPage'} — CORS blocked in the page before sending: "
                 f"{first['method']} {first['url']}; fix: {first['fix']}{more}")
    f.marked = MARK_BLOCKED


def amend_policy(policy: str, nonce: str | None, delivery: str, amended: list[str]) -> str:
    """`policy` (one Content-Security-Policy value) allowing the probe's one script (`nonce`; None:
    leave scripts alone) and its one delivery URL, changed only where it would block them; what
    changed goes to `amended`."""
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    names = [d.split()[0].lower() for d in directives]

    def effective(fallback: tuple[str, ...]) -> int | None:
        return next((names.index(n) for n in fallback if n in names), None)

    i = effective(_SCRIPT_FALLBACK) if nonce is not None else None
    if i is not None:
        sources = directives[i].split()[1:]
        low = [s.lower() for s in sources]
        # 'unsafe-inline' allows the script unless a nonce, a hash or 'strict-dynamic' disables it.
        inline_ok = "'unsafe-inline'" in low and not any(
            s.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) or s == "'strict-dynamic'" for s in low)
        if not inline_ok:
            keep = [s for s in sources if s.lower() != "'none'"]
            directives[i] = " ".join([names[i], *keep, f"'nonce-{nonce}'"])
            amended.append(f"{names[i]} += a nonce for the probe's script")
    j = effective(_CONNECT_FALLBACK)
    if j is not None and not _allows_self(directives[j]):
        keep = [s for s in directives[j].split()[1:] if s.lower() != "'none'"]
        if names[j] == "default-src":  # connect-src of its own, so that default-src stays as it is
            directives.append(" ".join(["connect-src", *keep, delivery]))
            amended.append(f"connect-src (was default-src) += {delivery}")
        else:
            directives[j] = " ".join([names[j], *keep, delivery])
            amended.append(f"connect-src += {delivery}")
    return "; ".join(directives)


def _allows_self(directive: str) -> bool:
    sources = directive.split()[1:]
    return "'self'" in [s.lower() for s in sources] or "*" in sources


def _amend_meta(tag: bytes, delivery: str, amended: list[str]) -> bytes:
    """A `<meta http-equiv=Content-Security-Policy>` applies from where it stands: the probe's script
    comes before it and runs, but its deliveries come later and need its `connect-src`."""
    m = _CONTENT_ATTR.search(tag)
    if not m:
        return tag
    changed: list[str] = []
    new = amend_policy(m.group(3).decode("utf-8", "replace"), None, delivery, changed)
    if not changed:
        return tag
    amended.extend(f"<meta> {c}" for c in changed)
    return tag[:m.start(3)] + new.encode() + tag[m.end(3):]


def _origin_of(f: http.HTTPFlow) -> str:
    origin = origin_of_url(f.request.url)
    return origin.serialize() if origin is not None else "null"


def _is_document(f: http.HTTPFlow) -> bool:
    dest = (f.request.headers.get("Sec-Fetch-Dest") or "").lower()
    if dest and dest not in ("document", "iframe", "frame"):
        return False
    ctype = (f.response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    return ctype in _HTML_TYPES and f.request.method in ("GET", "POST")


def _not_injectable(f: http.HTTPFlow) -> str | None:
    resp = f.response
    if not 200 <= resp.status_code < 300 or resp.status_code == 204:
        return f"status {resp.status_code}: no document body to instrument"
    if resp.stream:
        return "the response is streamed (mitmproxy's stream option): its body never passes through the addon"
    raw = resp.raw_content
    if raw is None:
        return "no body"
    if len(raw) > MAX_DOCUMENT:
        return f"the document is larger than {MAX_DOCUMENT // (1024 * 1024)} MiB"
    try:
        resp.get_content(strict=True)
    except ValueError as e:
        return f"its Content-Encoding cannot be decoded ({e})"
    for name in ("Content-Security-Policy",):
        for value in resp.headers.get_all(name):
            for d in value.split(";"):
                parts = d.split()
                if parts and parts[0].lower() == "sandbox" and "allow-same-origin" not in [p.lower() for p in parts]:
                    return ("Content-Security-Policy: sandbox without allow-same-origin gives the page an opaque "
                            "origin: the probe could not deliver to it")
                if parts and parts[0].lower() == "require-trusted-types-for":
                    continue
    return None
