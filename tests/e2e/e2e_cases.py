"""The end-to-end case table: data only.

Each :class:`Case` is one snippet run in Chromium on the page origin; all of its URLs live under
``/c/<id>/`` so Chromium's CDP events, the servers' logs and the addon's report lines can be given back
to it (and so that no two cases share a preflight-cache entry).  ``expect``/``fp`` is what Chromium 156
reports (checked by ``test_chromium_reports_expected``), so the table documents Chromium's behaviour;
the addon is compared with what Chromium *actually* reported, not with ``expect``.

Placeholders usable in parameter values and in ``fp``: ``{page}`` (the case's page origin),
``{page_port}``, ``{api}``, ``{api2}``.  Server parameters are documented in
``addons/mitmproxy_cors/demo/servers.py`` (``p_`` = preflight, ``a_`` = actual, bare = both).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ECHO = "echo"


@dataclass(frozen=True)
class Url:
    """A parameter-controlled URL on one of the servers; ``next`` is the redirect target (its URL,
    with its own parameters, becomes this hop's ``next_key`` parameter)."""

    server: str = "api"  # page | api | api2 | dead (a loopback port with nothing listening)
    params: dict[str, Any] = field(default_factory=dict)
    host: str | None = None  # e.g. "localhost" (cross-site from a 127.0.0.1 page)
    userinfo: str | None = None  # put into this URL (used for a redirect's Location)
    next: "Url | None" = None
    next_key: str = "a_location"


def A(**params: Any) -> Url:
    return Url("api", params)


def A2(**params: Any) -> Url:
    return Url("api2", params)


def P(**params: Any) -> Url:
    return Url("page", params)


def redirect(first: Url, then: Url, status: int = 302, key: str = "a_location") -> Url:
    prefix = key.split("_")[0]
    params = {f"{prefix}_status": status, **first.params}
    return Url(first.server, params, first.host, first.userinfo, then, key)


@dataclass(frozen=True)
class Case:
    id: str
    url: Url = field(default_factory=Url)  # the main URL, ``u.m`` in the snippet
    init: dict[str, Any] | None = None  # fetch() init for the default snippet ``__fetch(u.m, init)``
    js: str | None = None  # custom snippet: async (u) => step | [steps]
    urls: dict[str, Url] = field(default_factory=dict)  # more URLs for custom snippets
    credentials: str | None = None  # include | omit | same-origin; default: init's, else same-origin
    expect: str | None = None  # Chromium's corsError, None = allowed
    fp: str = ""  # Chromium's failedParameter
    unseen: bool = False  # fails inside the renderer: nothing reaches the wire
    page: str = "127.0.0.1"  # host of the page origin
    preflights: int | None = None  # OPTIONS requests expected on the wire (cache cases)
    note: str = ""

    @property
    def creds(self) -> str:
        return self.credentials or (self.init or {}).get("credentials", "same-origin")

    @property
    def match(self) -> str:
        return f"/c/{self.id}/"

    def snippet_js(self) -> str:
        if self.js:
            return self.js
        if self.init is None:
            return "async (u) => __fetch(u.m)"
        return f"async (u) => __fetch(u.m, {json.dumps(self.init)})"


INC = {"credentials": "include"}
OMIT = {"credentials": "omit"}
# Preflighted request shapes
PUT = {"method": "PUT"}
XFOO = {"headers": [["X-Foo", "1"]]}
# Good CORS answers for both phases
OK = {"acao": ECHO}
OK_CRED = {"acao": ECHO, "acac": "true"}
LONG_ACCEPT = "text/plain," + "a" * 118  # 129 bytes
OVER_1024 = [
    ["Accept", "a" * 128],
    ["Accept-Language", "a" * 128],
    ["Content-Language", "a" * 128],
    ["Intervention", "a" * 128],
    ["DPR", "1" * 128],
    ["Width", "1" * 128],
    ["Viewport-Width", "1" * 128],
    ["RTT", "1" * 128],
    ["Downlink", "1" * 128],
]
OVER_1024_NAMES = "accept,accept-language,content-language,downlink,dpr,intervention,rtt,viewport-width,width"


def twice(init: dict[str, Any], second: dict[str, Any] | None = None, pause_ms: int = 0) -> str:
    """Snippet: two fetches of the same URL (preflight-cache cases)."""
    pause = f"await __sleep({pause_ms}); " if pause_ms else ""
    return (
        f"async (u) => {{ const a = await __fetch(u.m, {json.dumps(init)}); {pause}"
        f"const b = await __fetch(u.m, {json.dumps(second if second is not None else init)}); return [a, b]; }}"
    )


def xhr(method: str, **opts: Any) -> str:
    return f"async (u) => __xhr({json.dumps(method)}, u.m, {json.dumps(opts)})"


def img(cross_origin: str | None) -> str:
    return f"async (u) => __img(u.m, {json.dumps(cross_origin)})"


SCRIPT_JS = """async (u) => new Promise((resolve) => {
  const s = document.createElement('script');
  s.crossOrigin = 'anonymous';
  s.onload = () => resolve({ok: true, status: null, type: 'script'});
  s.onerror = () => resolve({ok: false, error: 'script error event'});
  s.src = u.m;
  document.head.appendChild(s);
})"""

IFRAME_JS = """async (u) => new Promise((resolve) => {
  const f = document.createElement('iframe');
  f.onload = () => resolve({ok: true, status: null, type: 'document'});
  f.src = u.m;
  document.body.appendChild(f);
})"""
IFRAME_TIMEOUT_JS = """async (u) => new Promise((resolve) => {
  const f = document.createElement('iframe');
  f.onload = () => resolve({ok: true, status: null, type: 'document'});
  setTimeout(() => resolve({ok: false, error: 'iframe did not load within 3 s'}), 3000);
  f.src = u.m;
  document.body.appendChild(f);
})"""
FORM_POST_JS = """async (u) => new Promise((resolve) => {
  const name = 'frame' + Math.random().toString(36).slice(2);
  const f = document.createElement('iframe');
  f.name = name;
  document.body.appendChild(f);
  f.onload = () => resolve({ok: true, status: null, type: 'document'});
  const form = document.createElement('form');
  form.method = 'POST';
  form.action = u.m;
  form.target = name;
  const input = document.createElement('input');
  input.name = 'a';
  input.value = '1';
  form.appendChild(input);
  document.body.appendChild(form);
  form.submit();
})"""


CASES: list[Case] = [
    # --- simple GET: the ACAO check -------------------------------------------------------------
    Case("get-no-acao", A(), expect="MissingAllowOriginHeader"),
    Case("get-acao-star", A(acao="*")),
    Case("get-acao-echo", A(acao=ECHO)),
    Case("get-acao-other", A(acao="http://other.test"), expect="AllowOriginMismatch", fp="http://other.test"),
    Case("get-acao-other-port", A(acao="{api}"), expect="AllowOriginMismatch", fp="{api}"),
    Case("get-acao-https", A(acao="https://127.0.0.1:{page_port}"), expect="AllowOriginMismatch",
         fp="https://127.0.0.1:{page_port}"),
    Case("get-acao-null", A(acao="null"), expect="AllowOriginMismatch", fp="null"),
    Case("get-acao-upper-scheme", A(acao="HTTP://127.0.0.1:{page_port}"), expect="AllowOriginMismatch",
         fp="HTTP://127.0.0.1:{page_port}"),
    Case("get-acao-upper-host", A(acao="http://LOCALHOST:{page_port}"), page="localhost",
         expect="AllowOriginMismatch", fp="http://LOCALHOST:{page_port}"),
    Case("get-acao-trailing-slash", A(acao="{page}/"), expect="AllowOriginMismatch", fp="{page}/"),
    Case("get-acao-with-path", A(acao="{page}/x"), expect="AllowOriginMismatch", fp="{page}/x"),
    Case("get-acao-foo", A(acao="foo"), expect="InvalidAllowOriginValue", fp="foo"),
    Case("get-acao-two-lines", A(acao=[ECHO, ECHO]), expect="MultipleAllowOriginValues", fp="{page}, {page}"),
    Case("get-acao-two-stars", A(acao=["*", "*"]), expect="MultipleAllowOriginValues", fp="*, *"),
    Case("get-acao-star-and-echo", A(acao=["*", ECHO]), expect="MultipleAllowOriginValues", fp="*, {page}"),
    Case("get-acao-comma-list", A(acao="{page}, http://other.test"), expect="MultipleAllowOriginValues",
         fp="{page}, http://other.test"),
    Case("get-acao-space-list", A(acao="{page} http://other.test"), expect="MultipleAllowOriginValues",
         fp="{page} http://other.test"),
    Case("get-acao-padded", A(acao="  {page}  ")),
    Case("get-acao-tab-padded", A(acao="\t{page}\t")),
    Case("get-acao-star-padded", A(acao=" * ")),
    Case("get-acao-empty", A(acao=""), expect="InvalidAllowOriginValue", fp=""),
    Case("get-acao-localhost-page-echo", A(acao=ECHO), page="localhost"),
    Case("get-acao-localhost-page-to-ip", A(acao="http://127.0.0.1:{page_port}"), page="localhost",
         expect="AllowOriginMismatch", fp="http://127.0.0.1:{page_port}"),
    Case("get-status-404-no-acao", A(a_status=404), expect="MissingAllowOriginHeader"),
    Case("get-status-500-no-acao", A(a_status=500), expect="MissingAllowOriginHeader"),
    Case("get-status-500-acao", A(a_status=500, acao=ECHO)),
    Case("get-status-204-acao", A(a_status=204, acao=ECHO)),
    Case("get-aceh", A(acao=ECHO, aceh="X-Custom", h="X-Custom: 1")),
    # --- HEAD and simple POST ----------------------------------------------------------------------
    Case("head-no-acao", A(), init={"method": "HEAD"}, expect="MissingAllowOriginHeader"),
    Case("head-acao-echo", A(acao=ECHO), init={"method": "HEAD"}),
    Case("head-acao-star", A(acao="*"), init={"method": "HEAD"}),
    Case("head-acao-null", A(acao="null"), init={"method": "HEAD"}, expect="AllowOriginMismatch", fp="null"),
    Case("post-text-no-acao", A(), init={"method": "POST", "body": "x"}, expect="MissingAllowOriginHeader"),
    Case("post-text-echo", A(acao=ECHO), init={"method": "POST", "body": "x"}),
    Case("post-text-star", A(acao="*"), init={"method": "POST", "body": "x"}),
    Case("post-text-other", A(acao="http://other.test"), init={"method": "POST", "body": "x"},
         expect="AllowOriginMismatch", fp="http://other.test"),
    Case("post-form-echo", A(acao=ECHO),
         js="async (u) => __fetch(u.m, {method: 'POST', body: new URLSearchParams('a=1')})"),
    Case("post-multipart-echo", A(acao=ECHO),
         js="async (u) => { const f = new FormData(); f.append('a', '1'); return __fetch(u.m, {method: 'POST', body: f}); }"),
    Case("post-ct-charset-ok", A(acao=ECHO),
         init={"method": "POST", "body": "x", "headers": [["Content-Type", "text/plain;charset=utf-8"]]}),
    Case("post-status-500-no-acao", A(a_status=500), init={"method": "POST", "body": "x"},
         expect="MissingAllowOriginHeader"),
    # --- credentials ------------------------------------------------------------------------------
    Case("inc-acao-star", A(acao="*"), init=INC, expect="WildcardOriginNotAllowed"),
    Case("inc-acao-star-acac", A(acao="*", acac="true"), init=INC, expect="WildcardOriginNotAllowed"),
    Case("inc-echo-no-acac", A(acao=ECHO), init=INC, expect="InvalidAllowCredentials"),
    Case("inc-echo-acac-True", A(acao=ECHO, acac="True"), init=INC, expect="InvalidAllowCredentials", fp="True"),
    Case("inc-echo-acac-true", A(acao=ECHO, acac="true"), init=INC),
    Case("inc-echo-acac-padded", A(acao=ECHO, acac="  true  "), init=INC),
    Case("inc-echo-acac-empty", A(acao=ECHO, acac=""), init=INC, expect="InvalidAllowCredentials"),
    Case("inc-echo-acac-two", A(acao=ECHO, acac=["true", "true"]), init=INC, expect="InvalidAllowCredentials",
         fp="true, true"),
    Case("inc-no-acao", A(acac="true"), init=INC, expect="MissingAllowOriginHeader"),
    Case("inc-acao-other", A(acao="http://other.test", acac="true"), init=INC, expect="AllowOriginMismatch",
         fp="http://other.test"),
    Case("inc-acao-null", A(acao="null", acac="true"), init=INC, expect="AllowOriginMismatch", fp="null"),
    Case("inc-head-ok", A(**OK_CRED), init={"method": "HEAD", **INC}),
    Case("inc-post-star", A(acao="*"), init={"method": "POST", "body": "x", **INC},
         expect="WildcardOriginNotAllowed"),
    Case("omit-acao-star", A(acao="*"), init=OMIT),
    Case("omit-echo-no-acac", A(acao=ECHO), init=OMIT),
    Case("omit-echo-acac-True", A(acao=ECHO, acac="True"), init=OMIT),
    Case("omit-no-acao", A(), init=OMIT, expect="MissingAllowOriginHeader"),
    Case("default-acao-star", A(acao="*"), init={"credentials": "same-origin"}),
    Case("default-echo-no-acac", A(acao=ECHO)),
    # cross-site target (localhost from a 127.0.0.1 page): the cookie is not sent, credentials invisible
    Case("inc-xsite-acao-star", Url("api", {"acao": "*"}, host="localhost"), init=INC,
         expect="WildcardOriginNotAllowed"),
    Case("inc-xsite-echo-no-acac", Url("api", {"acao": ECHO}, host="localhost"), init=INC,
         expect="InvalidAllowCredentials"),
    Case("inc-xsite-ok", Url("api", OK_CRED, host="localhost"), init=INC),
    Case("omit-xsite-acao-star", Url("api", {"acao": "*"}, host="localhost"), init=OMIT),
    # --- preflight: methods --------------------------------------------------------------------------
    Case("put-no-acam", A(acao=ECHO), init=PUT, expect="MethodDisallowedByPreflightResponse", fp="PUT"),
    Case("put-acam-put", A(acao=ECHO, p_acam="PUT"), init=PUT),
    Case("put-acam-list", A(acao=ECHO, p_acam="GET, PUT"), init=PUT),
    Case("put-acam-padded-empty-items", A(acao=ECHO, p_acam=" , PUT ,, "), init=PUT),
    Case("put-acam-lower", A(acao=ECHO, p_acam="put"), init=PUT, expect="MethodDisallowedByPreflightResponse",
         fp="PUT"),
    Case("put-acam-two-lines", A(acao=ECHO, p_acam=["GET", "PUT"]), init=PUT),
    Case("delete-acam-delete", A(acao=ECHO, p_acam="DELETE"), init={"method": "DELETE"}),
    Case("delete-lower-normalized", A(acao=ECHO, p_acam="DELETE"), init={"method": "delete"}),
    Case("patch-acam-patch", A(acao=ECHO, p_acam="PATCH"), init={"method": "PATCH"}),
    Case("patch-lower-vs-upper", A(acao=ECHO, p_acam="PATCH"), init={"method": "patch"},
         expect="MethodDisallowedByPreflightResponse", fp="patch"),
    Case("patch-upper-vs-lower", A(acao=ECHO, p_acam="patch"), init={"method": "PATCH"},
         expect="MethodDisallowedByPreflightResponse", fp="PATCH"),
    Case("patch-lower-vs-lower", A(acao=ECHO, p_acam="patch"), init={"method": "patch"}),
    Case("custom-method", A(acao=ECHO, p_acam="FOO"), init={"method": "FOO"}),
    Case("options-method", A(acao=ECHO, p_acam="OPTIONS"), init={"method": "OPTIONS"}),
    Case("put-acam-star", A(acao=ECHO, p_acam="*"), init=PUT),
    Case("put-acam-star-include", A(**OK_CRED, p_acam="*"), init={**PUT, **INC},
         expect="MethodDisallowedByPreflightResponse", fp="PUT"),
    Case("put-acam-star-and-put-include", A(**OK_CRED, p_acam="*, PUT"), init={**PUT, **INC}),
    Case("put-acam-invalid", A(acao=ECHO, p_acam="Bad method"), init=PUT,
         expect="InvalidAllowMethodsPreflightResponse"),
    Case("put-acam-invalid-but-unneeded", A(acao=ECHO, p_acam="PUT, Bad method"), init=PUT,
         expect="InvalidAllowMethodsPreflightResponse"),
    # --- preflight: headers ---------------------------------------------------------------------------
    Case("xfoo-no-acah", A(acao=ECHO), init=XFOO, expect="HeaderDisallowedByPreflightResponse", fp="x-foo"),
    Case("xfoo-acah", A(acao=ECHO, p_acah="X-Foo"), init=XFOO),
    Case("xfoo-acah-upper", A(acao=ECHO, p_acah="X-FOO"), init=XFOO),
    Case("xfoo-acah-list", A(acao=ECHO, p_acah="x-bar, x-foo"), init=XFOO),
    Case("xfoo-acah-other", A(acao=ECHO, p_acah="x-bar"), init=XFOO,
         expect="HeaderDisallowedByPreflightResponse", fp="x-foo"),
    Case("several-headers-partial", A(acao=ECHO, p_acah="x-a"),
         init={"headers": [["X-B", "1"], ["x-a", "1"], ["Content-Type", "application/json"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="content-type"),
    Case("several-headers-all", A(acao=ECHO, p_acah="x-a, X-B, content-type"),
         init={"headers": [["X-B", "1"], ["x-a", "1"], ["Content-Type", "application/json"]]}),
    Case("ct-json-no-acah", A(acao=ECHO),
         init={"method": "POST", "body": "{}", "headers": [["Content-Type", "application/json"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="content-type"),
    Case("ct-json-acah", A(acao=ECHO, p_acah="Content-Type"),
         init={"method": "POST", "body": "{}", "headers": [["Content-Type", "application/json"]]}),
    Case("ct-blob-json", A(acao=ECHO),
         js="async (u) => __fetch(u.m, {method: 'POST', body: new Blob(['{}'], {type: 'application/json'})})",
         expect="HeaderDisallowedByPreflightResponse", fp="content-type"),
    Case("ct-quoted-charset", A(acao=ECHO),
         init={"method": "POST", "body": "x", "headers": [["Content-Type", 'text/plain; charset="utf-8"']]},
         expect="HeaderDisallowedByPreflightResponse", fp="content-type"),
    Case("accept-129-bytes", A(acao=ECHO), init={"headers": [["Accept", LONG_ACCEPT]]},
         expect="HeaderDisallowedByPreflightResponse", fp="accept"),
    Case("accept-128-bytes", A(acao=ECHO), init={"headers": [["Accept", LONG_ACCEPT[:-1]]]}),
    Case("range-suffix", A(acao=ECHO), init={"headers": [["Range", "bytes=-10"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="range"),
    Case("range-simple", A(acao=ECHO), init={"headers": [["Range", "bytes=0-10"]]}),
    Case("content-language-underscore", A(acao=ECHO), init={"headers": [["Content-Language", "en_US"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="content-language"),
    Case("content-language-ok", A(acao=ECHO), init={"headers": [["Content-Language", "en-US"]]}),
    Case("dpr-no-preflight", A(acao=ECHO), init={"headers": [["DPR", "2"]]}, preflights=0),
    Case("width-no-preflight", A(acao=ECHO), init={"headers": [["Width", "100"]]}, preflights=0),
    Case("save-data-no-preflight", A(acao=ECHO), init={"headers": [["Save-Data", "on"]]}, preflights=0),
    Case("dpr-invalid-value", A(acao=ECHO), init={"headers": [["DPR", "x"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="dpr"),
    # Which header Chromium names when several are disallowed: neither the order the page set them in
    # nor alphabetical; Blink keeps request headers in a hash map, and its iteration order decides.
    Case("safelisted-over-1024", A(acao=ECHO), init={"headers": OVER_1024},
         expect="HeaderDisallowedByPreflightResponse", fp="viewport-width"),
    Case("headers-order-two", A(acao=ECHO), init={"headers": [["X-B", "1"], ["x-a", "1"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="x-a"),
    Case("headers-order-three", A(acao=ECHO, p_acah="x-c"),
         init={"headers": [["X-Z", "1"], ["x-a", "1"], ["X-m", "1"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="x-m"),
    Case("headers-order-content-type", A(acao=ECHO, p_acah="x-c"),
         init={"headers": [["X-Z", "1"], ["Content-Type", "application/json"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="x-z"),
    Case("safelisted-over-1024-allowed", A(acao=ECHO, p_acah=OVER_1024_NAMES), init={"headers": OVER_1024}),
    Case("auth-no-acah", A(acao=ECHO), init={"headers": [["Authorization", "Bearer x"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="authorization"),
    Case("auth-acah-auth", A(acao=ECHO, p_acah="Authorization"), init={"headers": [["Authorization", "Bearer x"]]}),
    Case("auth-acah-star", A(acao=ECHO, p_acah="*"), init={"headers": [["Authorization", "Bearer x"]]},
         note="allowed with a DeprecationIssue (AuthorizationCoveredByWildcard)"),
    Case("auth-acah-star-include", A(**OK_CRED, p_acah="*"),
         init={"headers": [["Authorization", "Bearer x"]], **INC},
         expect="HeaderDisallowedByPreflightResponse", fp="authorization"),
    Case("xfoo-acah-star", A(acao=ECHO, p_acah="*"), init=XFOO),
    Case("xfoo-acah-star-include", A(**OK_CRED, p_acah="*"), init={**XFOO, **INC},
         expect="HeaderDisallowedByPreflightResponse", fp="x-foo"),
    Case("xfoo-acah-star-and-name-include", A(**OK_CRED, p_acah="*, x-foo"), init={**XFOO, **INC}),
    Case("acah-invalid", A(acao=ECHO, p_acah="x y"), init=XFOO, expect="InvalidAllowHeadersPreflightResponse"),
    Case("acam-and-acah-invalid", A(acao=ECHO, p_acam="Bad method", p_acah="x y"), init={**PUT, **XFOO},
         expect="InvalidAllowMethodsPreflightResponse"),
    # Firefox checks the method before it parses Access-Control-Allow-Headers; Chromium parses both first.
    Case("acah-invalid-method-missing", A(acao=ECHO, p_acah="x y"), init={**PUT, **XFOO},
         expect="InvalidAllowHeadersPreflightResponse"),
    Case("acah-invalid-put-only", A(acao=ECHO, p_acah="x-foo, x y"), init=PUT,
         expect="InvalidAllowHeadersPreflightResponse"),
    Case("acah-invalid-method-ok", A(acao=ECHO, p_acam="PUT", p_acah="x y"), init=PUT,
         expect="InvalidAllowHeadersPreflightResponse"),
    Case("method-before-header", A(acao=ECHO), init={**PUT, **XFOO},
         expect="MethodDisallowedByPreflightResponse", fp="PUT"),
    Case("method-ok-header-missing", A(acao=ECHO, p_acam="PUT"), init={**PUT, **XFOO},
         expect="HeaderDisallowedByPreflightResponse", fp="x-foo"),
    # --- preflight: status, origin, credentials, redirects ----------------------------------------------
    Case("pf-404-acao", A(acao=ECHO, p_acam="PUT", p_status=404), init=PUT, expect="PreflightInvalidStatus"),
    Case("pf-404-no-acao", A(a_acao=ECHO, p_acam="PUT", p_status=404), init=PUT,
         expect="PreflightMissingAllowOriginHeader"),
    Case("pf-500-acao", A(acao=ECHO, p_acam="PUT", p_status=500), init=PUT, expect="PreflightInvalidStatus"),
    Case("pf-300-no-location", A(acao=ECHO, p_acam="PUT", p_status=300), init=PUT, expect="PreflightInvalidStatus"),
    Case("pf-204", A(acao=ECHO, p_acam="PUT", p_status=204), init=PUT),
    Case("pf-200", A(acao=ECHO, p_acam="PUT", p_status=200), init=PUT),
    Case("pf-404-invalid-acam", A(acao=ECHO, p_acam="Bad method", p_status=404), init=PUT,
         expect="PreflightInvalidStatus"),
    *[
        Case(f"pf-redirect-{status}", redirect(A(acao=ECHO, p_acam="PUT"), A(acao=ECHO, p_acam="PUT"), status,
                                               key="p_location"),
             init=PUT, expect="PreflightDisallowedRedirect")
        for status in (301, 302, 307, 308)
    ],
    Case("pf-redirect-no-acao", redirect(A(a_acao=ECHO), A(acao=ECHO, p_acam="PUT"), 302, key="p_location"),
         init=PUT, expect="PreflightDisallowedRedirect"),
    # Firefox checks the redirect's ACAO/ACAC before refusing a redirected preflight; Chromium does not.
    Case("pf-redirect-acao-other", redirect(A(a_acao=ECHO, p_acao="http://other.test"), A(acao=ECHO, p_acam="PUT"),
                                            302, key="p_location"),
         init=PUT, expect="PreflightDisallowedRedirect"),
    Case("pf-redirect-two-acao-lines", redirect(A(a_acao=ECHO, p_acao=[ECHO, ECHO]), A(acao=ECHO, p_acam="PUT"),
                                                302, key="p_location"),
         init=PUT, expect="PreflightDisallowedRedirect"),
    Case("pf-redirect-star-include", redirect(A(acao="*", acac="true"), A(**OK_CRED, p_acam="PUT"), 302,
                                              key="p_location"),
         init={**PUT, **INC}, expect="PreflightDisallowedRedirect"),
    Case("pf-redirect-include-no-acac", redirect(A(acao=ECHO, a_acac="true"), A(**OK_CRED, p_acam="PUT"), 302,
                                                 key="p_location"),
         init={**PUT, **INC}, expect="PreflightDisallowedRedirect"),
    Case("pf-redirect-include-ok", redirect(A(**OK_CRED), A(**OK_CRED, p_acam="PUT"), 302, key="p_location"),
         init={**PUT, **INC}, expect="PreflightDisallowedRedirect"),
    Case("pf-acao-star", A(acao="*", p_acam="PUT"), init=PUT),
    Case("pf-acao-star-include", A(a_acao=ECHO, acac="true", p_acao="*", p_acam="PUT"), init={**PUT, **INC},
         expect="PreflightWildcardOriginNotAllowed"),
    Case("pf-acao-other", A(a_acao=ECHO, p_acao="http://other.test", p_acam="PUT"), init=PUT,
         expect="PreflightAllowOriginMismatch", fp="http://other.test"),
    Case("pf-acao-foo", A(a_acao=ECHO, p_acao="foo", p_acam="PUT"), init=PUT,
         expect="PreflightInvalidAllowOriginValue", fp="foo"),
    Case("pf-acao-two-lines", A(a_acao=ECHO, p_acao=[ECHO, ECHO], p_acam="PUT"), init=PUT,
         expect="PreflightMultipleAllowOriginValues", fp="{page}, {page}"),
    Case("pf-acao-null", A(a_acao=ECHO, p_acao="null", p_acam="PUT"), init=PUT,
         expect="PreflightAllowOriginMismatch", fp="null"),
    Case("pf-no-acac-include", A(acao=ECHO, a_acac="true", p_acam="PUT"), init={**PUT, **INC},
         expect="PreflightInvalidAllowCredentials"),
    Case("pf-acac-True-include", A(acao=ECHO, a_acac="true", p_acac="True", p_acam="PUT"), init={**PUT, **INC},
         expect="PreflightInvalidAllowCredentials", fp="True"),
    Case("pf-include-ok", A(**OK_CRED, p_acam="PUT"), init={**PUT, **INC}),
    Case("pf-ok-actual-no-acao", A(p_acao=ECHO, p_acam="PUT"), init=PUT, expect="MissingAllowOriginHeader"),
    Case("pf-ok-actual-acao-other", A(p_acao=ECHO, a_acao="http://other.test", p_acam="PUT"), init=PUT,
         expect="AllowOriginMismatch", fp="http://other.test"),
    Case("pf-ok-actual-no-acac-include", A(acao=ECHO, p_acac="true", p_acam="PUT"), init={**PUT, **INC},
         expect="InvalidAllowCredentials"),
    Case("pf-ok-actual-500", A(acao=ECHO, p_acam="PUT", a_status=500), init=PUT),
    # --- redirects of the actual request ------------------------------------------------------------------
    Case("redir-same-origin-api", redirect(A(acao=ECHO), A(acao=ECHO))),
    Case("redir-no-acao-on-3xx", redirect(A(), A(acao=ECHO)), expect="MissingAllowOriginHeader"),
    Case("redir-acao-other-on-3xx", redirect(A(acao="http://other.test"), A(acao=ECHO)),
         expect="AllowOriginMismatch", fp="http://other.test"),
    Case("redir-api2-acao-null", redirect(A(acao=ECHO), A2(acao="null"))),
    Case("redir-api2-acao-star", redirect(A(acao=ECHO), A2(acao="*"))),
    Case("redir-api2-acao-echo", redirect(A(acao=ECHO), A2(acao=ECHO)), note="Origin: null is echoed"),
    Case("redir-api2-acao-page", redirect(A(acao=ECHO), A2(acao="{page}")), expect="AllowOriginMismatch",
         fp="{page}"),
    Case("redir-api2-no-acao", redirect(A(acao=ECHO), A2()), expect="MissingAllowOriginHeader"),
    Case("redir-api2-301", redirect(A(acao=ECHO), A2(acao="*"), 301)),
    Case("redir-api2-307-post", redirect(A(acao=ECHO), A2(acao="null"), 307), init={"method": "POST", "body": "x"}),
    Case("redir-303-post-to-get", redirect(A(acao=ECHO), A(acao=ECHO), 303), init={"method": "POST", "body": "x"}),
    Case("redir-userinfo-api2", redirect(A(acao=ECHO), Url("api2", {"acao": "*"}, userinfo="user:pass")),
         expect="RedirectContainsCredentials"),
    Case("redir-userinfo-same-api", redirect(A(acao=ECHO), Url("api", {"acao": ECHO}, userinfo="user:pass")),
         expect="RedirectContainsCredentials"),
    Case("redir-to-page-no-acao", redirect(A(acao=ECHO), P()), expect="MissingAllowOriginHeader"),
    Case("redir-to-page-acao-star", redirect(A(acao=ECHO), P(acao="*"))),
    Case("redir-chain-3", redirect(A(acao="*"), redirect(A(acao="*"), A2(acao="*")))),
    Case("redir-include-api2-null-acac", redirect(A(**OK_CRED), A2(acao="null", acac="true")), init=INC),
    Case("redir-include-api2-star", redirect(A(**OK_CRED), A2(acao="*", acac="true")), init=INC,
         expect="WildcardOriginNotAllowed"),
    Case("redir-307-put-preflight-api2", redirect(A(acao=ECHO, p_acam="PUT"), A2(acao=ECHO, p_acam="PUT"), 307),
         init=PUT, note="a second preflight with Origin: null goes to api2"),
    Case("redir-307-put-preflight-api2-page-acao",
         redirect(A(acao=ECHO, p_acam="PUT"), A2(acao="{page}", p_acam="PUT"), 307),
         init=PUT, expect="PreflightAllowOriginMismatch", fp="{page}"),
    Case("redir-from-page-to-api-no-acao", redirect(P(), A()), expect="MissingAllowOriginHeader"),
    Case("redir-from-page-to-api-echo", redirect(P(), A(acao=ECHO))),
    # --- no-cors and same-origin -----------------------------------------------------------------------
    Case("nocors-get", A(), init={"mode": "no-cors"}),
    Case("nocors-post", A(), init={"mode": "no-cors", "method": "POST", "body": "x"}),
    Case("nocors-xfoo-dropped", A(), init={"mode": "no-cors", **XFOO}, preflights=0),
    Case("nocors-redirect-api2", redirect(A(), A2()), init={"mode": "no-cors"}),
    Case("nocors-include-star", A(acao="*"), init={"mode": "no-cors", **INC}),
    Case("same-origin-get", P()),
    Case("same-origin-post", P(), init={"method": "POST", "body": "x"}),
    Case("same-origin-put-xfoo", P(), init={**PUT, **XFOO}, preflights=0),
    Case("same-origin-mode-same-origin", P(), init={"mode": "same-origin"}),
    Case("same-origin-404", P(a_status=404)),
    # mode 'same-origin' may follow a redirect only while it stays same-origin: Chromium aborts the
    # fetch (net::ERR_ABORTED, no CorsError) and never sends the second hop.
    Case("same-origin-mode-redirect-to-api", redirect(P(), A(acao=ECHO)), init={"mode": "same-origin"},
         expect="net-error", fp="net::ERR_ABORTED"),
    Case("same-origin-mode-redirect-to-page", redirect(P(), P()), init={"mode": "same-origin"}),
    # A same-origin cors request redirected cross-origin to a URL with credentials.
    Case("redir-from-page-to-api-userinfo", redirect(P(), Url("api", {"acao": ECHO}, userinfo="u:p")),
         expect="RedirectContainsCredentials"),
    # --- fidelity (issue 15): only 301, 302, 303, 307 and 308 with a non-empty Location are redirects in
    # Chromium (net::HttpResponseHeaders::IsRedirectResponseCode); an empty userinfo is no credentials --
    Case("pf-300-location", A(acao=ECHO, p_acam="PUT", p_status=300, p_location="{api2}/x"), init=PUT,
         expect="PreflightInvalidStatus"),
    Case("pf-300-location-no-acao", A(a_acao=ECHO, p_acam="PUT", p_status=300, p_location="{api2}/x"), init=PUT,
         expect="PreflightMissingAllowOriginHeader"),
    Case("pf-redirect-303", redirect(A(acao=ECHO, p_acam="PUT"), A(acao=ECHO, p_acam="PUT"), 303, key="p_location"),
         init=PUT, expect="PreflightDisallowedRedirect"),
    Case("pf-302-empty-location", A(acao=ECHO, p_acam="PUT", p_status=302, p_location=""), init=PUT,
         expect="PreflightInvalidStatus"),
    Case("pf-302-no-location", A(acao=ECHO, p_acam="PUT", p_status=302), init=PUT, expect="PreflightInvalidStatus"),
    Case("pf-304", A(acao=ECHO, p_acam="PUT", p_status=304), init=PUT, expect="PreflightInvalidStatus"),
    Case("pf-305-location", A(acao=ECHO, p_acam="PUT", p_status=305, p_location="{api2}/x"), init=PUT,
         expect="PreflightInvalidStatus"),
    Case("pf-399-location", A(acao=ECHO, p_acam="PUT", p_status=399, p_location="{api2}/x"), init=PUT,
         expect="PreflightInvalidStatus"),
    Case("pf-404-location", A(acao=ECHO, p_acam="PUT", p_status=404, p_location="{api2}/x"), init=PUT,
         expect="PreflightInvalidStatus"),
    Case("pf-201-location", A(acao=ECHO, p_acam="PUT", p_status=201, p_location="{api2}/x"), init=PUT),
    Case("pf-299", A(acao=ECHO, p_acam="PUT", p_status=299), init=PUT),
    Case("get-300-location-acao", redirect(A(acao=ECHO), A2(acao="*"), 300)),
    Case("get-300-location-no-acao", redirect(A(), A2(acao="*"), 300), expect="MissingAllowOriginHeader"),
    Case("get-300-location-userinfo", redirect(A(acao=ECHO), Url("api2", {"acao": "*"}, userinfo="u:p"), 300)),
    Case("get-305-location-userinfo", redirect(A(acao=ECHO), Url("api2", {"acao": "*"}, userinfo="u:p"), 305)),
    Case("get-302-empty-location", A(acao=ECHO, a_status=302, a_location="")),
    Case("get-302-empty-location-no-acao", A(a_status=302, a_location=""), expect="MissingAllowOriginHeader"),
    Case("redir-userinfo-user-only", redirect(A(acao=ECHO), Url("api2", {"acao": "*"}, userinfo="u")),
         expect="RedirectContainsCredentials"),
    Case("redir-userinfo-password-only", redirect(A(acao=ECHO), Url("api2", {"acao": "*"}, userinfo=":p")),
         expect="RedirectContainsCredentials"),
    Case("redir-userinfo-empty", redirect(A(acao=ECHO), Url("api2", {"acao": "*"}, userinfo=""))),
    Case("redir-userinfo-empty-colon", redirect(A(acao=ECHO), Url("api2", {"acao": "*"}, userinfo=":"))),
    Case("redir-userinfo-empty-no-acao", redirect(A(acao=ECHO), Url("api2", {}, userinfo="")),
         expect="MissingAllowOriginHeader"),
    Case("redir-307-put-userinfo", redirect(A(acao=ECHO, p_acam="PUT"), Url("api2", {"acao": "*", "p_acam": "PUT"},
                                                                        userinfo="u:p"), 307),
         init=PUT, expect="RedirectContainsCredentials"),
    # Blink blocks subresource requests whose URL includes credentials, a redirect's next hop too: where no
    # CORS check catches the Location first, the load is aborted (net::ERR_ABORTED, no CorsError).
    Case("redir-from-page-to-page-userinfo", redirect(P(), Url("page", {}, userinfo="u:p")),
         expect="net-error", fp="net::ERR_ABORTED"),
    Case("nocors-redirect-userinfo", redirect(A(), Url("api2", {}, userinfo="u:p")), init={"mode": "no-cors"},
         expect="net-error", fp="net::ERR_ABORTED"),
    Case("img-redirect-userinfo", redirect(A(body="gif"), Url("api2", {"body": "gif"}, userinfo="u:p")), js=img(None),
         expect="net-error", fp="net::ERR_ABORTED"),
    Case("iframe-redirect-userinfo", redirect(A(), Url("api2", {}, userinfo="u:p")), js=IFRAME_TIMEOUT_JS,
         expect="net-error", fp="net::ERR_ABORTED"),
    Case("redir-from-page-to-api-userinfo-empty", redirect(P(), Url("api", {"acao": ECHO}, userinfo=""))),
    Case("redir-from-page-to-api-userinfo-user", redirect(P(), Url("api", {"acao": ECHO}, userinfo="u")),
         expect="RedirectContainsCredentials"),
    Case("post-from-page-to-api-userinfo", redirect(P(), Url("api", {"acao": ECHO}, userinfo="u:p"), 307),
         init={"method": "POST", "body": "x"}, expect="RedirectContainsCredentials"),
    # A Location that is not http(s), measured in Chromium 156: after the redirect response's CORS check,
    # data:, about: and file: are refused in every mode (net::ERR_UNSAFE_REDIRECT); other schemes fail a
    # cors-mode request as CorsDisabledScheme and a no-cors load as net::ERR_UNKNOWN_URL_SCHEME.
    *[
        Case(f"redir-scheme-{name}-{how}", (P if how == "same-origin" else A)(
                 a_status=302, a_location=location, **({"acao": ECHO} if how == "cors" else {})),
             js=img(None) if how == "img" else None, init={"mode": "no-cors"} if how == "nocors" else None,
             expect=expect if expect.startswith("Cors") else "net-error", fp="" if expect.startswith("Cors") else expect)
        for name, location, unsafe in (("data", "data:text/plain,hi", True), ("about", "about:blank", True),
                                       ("file", "file:///etc/hosts", True), ("ftp", "ftp://127.0.0.1/x", False),
                                       ("ws", "ws://127.0.0.1/x", False), ("javascript", "javascript:1", False),
                                       ("mailto", "mailto:a@b.test", False))
        for how, expect in (("cors", "net::ERR_UNSAFE_REDIRECT" if unsafe else "CorsDisabledScheme"),
                            ("same-origin", "net::ERR_UNSAFE_REDIRECT" if unsafe else "CorsDisabledScheme"),
                            ("nocors", "net::ERR_UNSAFE_REDIRECT" if unsafe else "net::ERR_UNKNOWN_URL_SCHEME"),
                            ("img", "net::ERR_UNSAFE_REDIRECT" if unsafe else "net::ERR_UNKNOWN_URL_SCHEME"))
    ],
    Case("redir-scheme-data-cors-no-acao", A(a_status=302, a_location="data:text/plain,hi"),
         expect="MissingAllowOriginHeader"),
    Case("redir-scheme-ftp-cors-no-acao", A(a_status=302, a_location="ftp://127.0.0.1/x"),
         expect="MissingAllowOriginHeader"),
    # redirect: 'manual' still CORS-checks the redirect response (then hands the page an opaqueredirect);
    # what else a redirect mode changes is not on the wire (docs/proxy-limits.md).
    Case("manual-no-acao", redirect(A(), A2(acao="*")), init={"redirect": "manual"}, expect="MissingAllowOriginHeader"),
    # --- preflight cache ------------------------------------------------------------------------------
    Case("cache-two-puts", A(acao=ECHO, p_acam="PUT", p_maxage=600), js=twice(PUT), preflights=1),
    Case("cache-put-then-xfoo-get", A(acao=ECHO, p_acam="PUT", p_acah="x-foo", p_maxage=600),
         js=twice(PUT, XFOO), preflights=1),
    Case("cache-default-5s", A(acao=ECHO, p_acam="PUT"), js=twice(PUT, pause_ms=1000), preflights=1),
    Case("cache-maxage-0", A(acao=ECHO, p_acam="PUT", p_maxage=0), js=twice(PUT), preflights=2),
    Case("cache-no-store", A(acao=ECHO, p_acam="PUT", p_maxage=600), js=twice({**PUT, "cache": "no-store"}),
         preflights=2),
    Case("cache-omit-then-include", A(**OK_CRED, p_acam="PUT", p_maxage=600), js=twice(PUT, {**PUT, **INC}),
         credentials="include", preflights=2),
    Case("cache-include-then-omit", A(**OK_CRED, p_acam="PUT", p_maxage=600), js=twice({**PUT, **INC}, PUT),
         credentials="include", preflights=1),
    Case("cache-omit-then-include-star", A(acao="*", p_acam="PUT", p_maxage=600), js=twice(PUT, {**PUT, **INC}),
         credentials="include", preflights=2, expect="PreflightWildcardOriginNotAllowed"),
    Case("cache-put-then-delete", A(acao=ECHO, p_acam="PUT", p_maxage=600),
         js=twice(PUT, {"method": "DELETE"}), preflights=2, expect="MethodDisallowedByPreflightResponse", fp="DELETE"),
    Case("cache-auth-acah-star", A(acao=ECHO, p_acah="*", p_maxage=600),
         js=twice({"headers": [["Authorization", "Bearer x"]]}), preflights=2),
    # --- upstream failures (mitmproxy answers 502) ----------------------------------------------------
    Case("refused-get", Url("dead"), expect="MissingAllowOriginHeader"),
    Case("refused-put", Url("dead"), init=PUT, expect="PreflightMissingAllowOriginHeader"),
    Case("refused-nocors", Url("dead"), init={"mode": "no-cors"}),
    # --- XMLHttpRequest ----------------------------------------------------------------------------------
    Case("xhr-get-echo", A(acao=ECHO), js=xhr("GET")),
    Case("xhr-get-no-acao", A(), js=xhr("GET"), expect="MissingAllowOriginHeader"),
    Case("xhr-withcred-star", A(acao="*"), js=xhr("GET", withCredentials=True), credentials="include",
         expect="WildcardOriginNotAllowed"),
    Case("xhr-withcred-echo-no-acac", A(acao=ECHO), js=xhr("GET", withCredentials=True), credentials="include",
         expect="InvalidAllowCredentials"),
    Case("xhr-withcred-ok", A(**OK_CRED), js=xhr("GET", withCredentials=True), credentials="include"),
    Case("xhr-upload-preflight-ok", A(acao=ECHO), js=xhr("POST", body="x", upload=True), preflights=1),
    Case("xhr-upload-preflight-no-acao", A(a_acao=ECHO), js=xhr("POST", body="x", upload=True), preflights=1,
         expect="PreflightMissingAllowOriginHeader"),
    Case("xhr-put-no-acam", A(acao=ECHO), js=xhr("PUT"), expect="MethodDisallowedByPreflightResponse", fp="PUT"),
    Case("xhr-xfoo-acah", A(acao=ECHO, p_acah="x-foo"), js=xhr("GET", headers=[["X-Foo", "1"]])),
    # --- elements -----------------------------------------------------------------------------------------
    Case("img-crossorigin-no-acao", A(body="gif"), js=img("anonymous"), expect="MissingAllowOriginHeader"),
    Case("img-crossorigin-echo", A(body="gif", acao=ECHO), js=img("anonymous")),
    Case("img-use-credentials-star", A(body="gif", acao="*"), js=img("use-credentials"), credentials="include",
         expect="WildcardOriginNotAllowed"),
    Case("img-use-credentials-ok", A(body="gif", **OK_CRED), js=img("use-credentials"), credentials="include"),
    Case("img-no-crossorigin", A(body="gif"), js=img(None)),
    Case("script-crossorigin-no-acao", A(body="js"), js=SCRIPT_JS, expect="MissingAllowOriginHeader"),
    # --- more safelist edges ------------------------------------------------------------------------------
    Case("ct-comma-list", A(acao=ECHO),
         init={"method": "POST", "body": "x", "headers": [["Content-Type", "text/plain, application/json"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="content-type"),
    Case("ct-form-explicit", A(acao=ECHO), preflights=0,
         init={"method": "POST", "body": "a=1", "headers": [["Content-Type", "application/x-www-form-urlencoded"]]}),
    Case("ct-multipart-no-boundary", A(acao=ECHO), preflights=0,
         init={"method": "POST", "body": "x", "headers": [["Content-Type", "multipart/form-data"]]}),
    Case("accept-language-quote", A(acao=ECHO), init={"headers": [["Accept-Language", 'en"US']]},
         expect="HeaderDisallowedByPreflightResponse", fp="accept-language"),
    Case("range-two-ranges", A(acao=ECHO), init={"headers": [["Range", "bytes=0-10,20-30"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="range"),
    Case("range-inner-space", A(acao=ECHO), init={"headers": [["Range", "bytes= 0-10"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="range"),
    Case("save-data-off", A(acao=ECHO), init={"headers": [["Save-Data", "off"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="save-data"),
    Case("width-decimal", A(acao=ECHO), init={"headers": [["Width", "10.5"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="width"),
    Case("dpr-decimal", A(acao=ECHO), init={"headers": [["DPR", "1.5"]]}, preflights=0),
    Case("ect-4g", A(acao=ECHO), init={"headers": [["ECT", "4g"]]}, preflights=0),
    Case("ect-5g", A(acao=ECHO), init={"headers": [["ECT", "5g"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="ect"),
    Case("device-memory", A(acao=ECHO), init={"headers": [["Device-Memory", "8"]]}, preflights=0),
    Case("user-agent-no-preflight", A(acao=ECHO), init={"headers": [["User-Agent", "x"]]}, preflights=0),
    Case("xfoo-empty-value", A(acao=ECHO), init={"headers": [["X-Foo", ""]]},
         expect="HeaderDisallowedByPreflightResponse", fp="x-foo"),
    Case("x-requested-with", A(acao=ECHO), init={"headers": [["X-Requested-With", "XMLHttpRequest"]]},
         expect="HeaderDisallowedByPreflightResponse", fp="x-requested-with"),
    Case("get-lowercase-method", A(acao=ECHO), init={"method": "get"}, preflights=0),
    Case("put-mixed-case", A(acao=ECHO, p_acam="PUT"), init={"method": "Put"}),
    Case("xhr-patch-lower", A(acao=ECHO, p_acam="PATCH"), js=xhr("patch"),
         expect="MethodDisallowedByPreflightResponse", fp="patch"),
    # --- more response and redirect edges ----------------------------------------------------------------
    Case("get-302-no-location-acao", A(a_status=302, acao=ECHO)),
    Case("get-302-no-location-no-acao", A(a_status=302), expect="MissingAllowOriginHeader"),
    Case("get-acao-lowercase-name", A(h="access-control-allow-origin: {page}")),
    Case("get-acao-no-space-after-colon", A(h="Access-Control-Allow-Origin:{page}")),
    Case("redir-308-put-same-api", redirect(A(acao=ECHO, p_acam="PUT"), A(acao=ECHO, p_acam="PUT"), 308),
         init=PUT, preflights=2),
    Case("redir-to-refused", redirect(A(acao=ECHO), Url("dead")), expect="MissingAllowOriginHeader"),
    Case("redir-3xx-star-include", redirect(A(acao="*", acac="true"), A2(acao="null", acac="true")), init=INC,
         expect="WildcardOriginNotAllowed"),
    Case("redir-api2-null-include-no-acac", redirect(A(**OK_CRED), A2(acao="null")), init=INC,
         expect="InvalidAllowCredentials"),
    Case("redir-307-preflight-api2-no-acao", redirect(A(acao=ECHO, p_acam="PUT"), A2(a_acao=ECHO, p_acam="PUT"), 307),
         init=PUT, expect="PreflightMissingAllowOriginHeader"),
    # --- more preflight-cache behaviour -------------------------------------------------------------------
    Case("cache-maxage-negative", A(acao=ECHO, p_acam="PUT", p_maxage=-1), js=twice(PUT), preflights=2),
    Case("cache-maxage-non-integer", A(acao=ECHO, p_acam="PUT", p_maxage="10.5"), js=twice(PUT), preflights=1),
    Case("cache-maxage-over-cap", A(acao=ECHO, p_acam="PUT", p_maxage=86400), js=twice(PUT), preflights=1),
    Case("cache-omit-then-include-no-acac", A(acao=ECHO, a_acac="true", p_acam="PUT", p_maxage=600),
         js=twice(PUT, {**PUT, **INC}), credentials="include", preflights=2,
         expect="PreflightInvalidAllowCredentials"),
    Case("cache-xfoo-then-put", A(acao=ECHO, p_acam="PUT", p_acah="x-foo", p_maxage=600), js=twice(XFOO, PUT),
         preflights=1),
    Case("cache-put-then-put-xbar", A(acao=ECHO, p_acam="PUT", p_acah="x-foo", p_maxage=600),
         js=twice(PUT, {**PUT, "headers": [["X-Bar", "1"]]}), preflights=2,
         expect="HeaderDisallowedByPreflightResponse", fp="x-bar"),
    # --- cross-site credentialed (no cookie on the wire) -------------------------------------------------
    Case("xhr-xsite-withcred-star", Url("api", {"acao": "*"}, host="localhost"), js=xhr("GET", withCredentials=True),
         credentials="include", expect="WildcardOriginNotAllowed"),
    Case("pf-xsite-include-no-acac", Url("api", {"acao": ECHO, "a_acac": "true", "p_acam": "PUT"}, host="localhost"),
         init={**PUT, **INC}, expect="PreflightInvalidAllowCredentials"),
    Case("pf-xsite-include-ok", Url("api", {**OK_CRED, "p_acam": "PUT"}, host="localhost"), init={**PUT, **INC}),
    # --- concurrency and navigations ---------------------------------------------------------------------
    Case("parallel-two-puts", A(acao=ECHO, p_acam="PUT", p_maxage=600),
         js=f"async (u) => Promise.all([__fetch(u.m, {json.dumps(PUT)}), __fetch(u.m, {json.dumps(PUT)})])"),
    Case("parallel-put-and-delete", A(acao=ECHO, p_acam="PUT", p_maxage=600),
         js=f"async (u) => Promise.all([__fetch(u.m, {json.dumps(PUT)}), __fetch(u.m, {{method: 'DELETE'}})])",
         expect="MethodDisallowedByPreflightResponse", fp="DELETE"),
    Case("iframe-navigation", A(), js=IFRAME_JS),
    Case("form-post-navigation", A(), js=FORM_POST_JS),
    # --- failures inside the renderer: nothing reaches the wire ------------------------------------------
    Case("unseen-mode-same-origin", A(acao=ECHO), init={"mode": "same-origin"}, unseen=True),
    Case("unseen-nocors-redirect-manual", A(), init={"mode": "no-cors", "redirect": "manual"}, unseen=True),
    Case("unseen-nocors-redirect-error", A(), init={"mode": "no-cors", "redirect": "error"}, unseen=True),
    Case("unseen-nocors-put", A(), init={"mode": "no-cors", "method": "PUT"}, unseen=True),
]


# --- a plain-http host that is not potentially trustworthy (tests/e2e/test_plain_http_chromium.py) ---------
# Names, not loopback: Chromium sends no Sec-Fetch-* there, and no Origin on a same-origin GET. Every name
# reaches the page server through tests/e2e/loopback_resolver.py; api.app.test is another origin. Each
# answer closes its connection (the resolver's mitmdump reuses none; idle ones would stall it).
WWW, API_HOST = "www.app.test", "api.app.test"
CLOSE = "Connection: close"


def WP(**params: Any) -> Url:
    return Url("page", {"h": CLOSE, **params}, host=WWW)


def WA(userinfo: str | None = None, **params: Any) -> Url:
    return Url("api", {"h": CLOSE, **params}, host=API_HOST, userinfo=userinfo)


PLAIN_HTTP_CASES: list[Case] = [
    Case("plain-same-origin-redirect-userinfo", redirect(WP(), WA("u:p", acao=ECHO)), page=WWW,
         expect="RedirectContainsCredentials"),
    Case("plain-same-origin-redirect-user-only", redirect(WP(), WA("u", acao=ECHO)), page=WWW,
         expect="RedirectContainsCredentials"),
    Case("plain-same-origin-redirect-userinfo-empty", redirect(WP(), WA("", acao=ECHO)), page=WWW),
    Case("plain-same-origin-redirect-ok", redirect(WP(), WA(acao=ECHO)), page=WWW),
    Case("plain-same-origin-redirect-no-acao", redirect(WP(), WA()), page=WWW, expect="MissingAllowOriginHeader"),
    Case("plain-same-origin-redirect-within-origin-userinfo", redirect(WP(), Url("page", {"h": CLOSE}, host=WWW, userinfo="u:p")),
         page=WWW, expect="net-error", fp="net::ERR_ABORTED"),
    Case("plain-same-origin-post-307-userinfo", redirect(WP(), WA("u:p", acao=ECHO), 307), page=WWW,
         init={"method": "POST", "body": "x"}, expect="RedirectContainsCredentials"),
    Case("plain-xhr-same-origin-redirect-userinfo", redirect(WP(), WA("u:p", acao=ECHO)), page=WWW, js=xhr("GET"),
         expect="RedirectContainsCredentials"),
    Case("plain-img-same-origin-redirect-userinfo", redirect(WP(body="gif"), WA("u:p", body="gif")), page=WWW,
         js=img(None), expect="net-error", fp="net::ERR_ABORTED"),
    Case("plain-cross-origin-redirect-userinfo", redirect(WA(acao=ECHO), Url("api2", {"acao": "*", "h": CLOSE},
                                                                             host=API_HOST, userinfo="u:p")),
         page=WWW, expect="RedirectContainsCredentials"),
    Case("plain-cross-origin-no-acao", WA(), page=WWW, expect="MissingAllowOriginHeader"),
    Case("plain-nocors-redirect-userinfo", redirect(WA(), Url("api2", {"h": CLOSE}, host=API_HOST, userinfo="u:p")),
         page=WWW,
         init={"mode": "no-cors"}, expect="net-error", fp="net::ERR_ABORTED"),
    Case("plain-same-origin-redirect-ftp", WP(a_status=302, a_location="ftp://127.0.0.1/x"), page=WWW,
         expect="CorsDisabledScheme"),
    Case("plain-same-origin-redirect-data", WP(a_status=302, a_location="data:text/plain,hi"), page=WWW,
         expect="net-error", fp="net::ERR_UNSAFE_REDIRECT"),
    Case("plain-img-redirect-ftp", WP(a_status=302, a_location="ftp://127.0.0.1/x"), page=WWW, js=img(None),
         expect="net-error", fp="net::ERR_UNKNOWN_URL_SCHEME"),
    Case("plain-preflight-300-location", WA(acao=ECHO, p_acam="PUT", p_status=300, p_location="{api2}/x"), page=WWW,
         init=PUT, expect="PreflightInvalidStatus"),
]


def by_id() -> dict[str, Case]:
    table = {c.id: c for c in CASES}
    assert len(table) == len(CASES), "duplicate case ids"
    return table
