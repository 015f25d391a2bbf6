"""Generate docs/reasons.md from the engine's catalogue (addons/mitmproxy_cors/engine/reasons.py).

Every reason gets its Chromium name, Firefox name, what it means, the console message, an example
exchange (run through the engine here, so the example provably produces that reason) and the fix.

    python docs/gen_reasons.py          # rewrite docs/reasons.md
    python docs/gen_reasons.py --check  # exit 1 if docs/reasons.md is out of date
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "addons"))

from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot  # noqa: E402
from mitmproxy_cors.engine.reasons import _ALL, PREFLIGHT_PREFIX  # noqa: E402
from mitmproxy_cors.engine.tracker import Tracker  # noqa: E402

OUT = HERE / "reasons.md"
PAGE = "https://app.example"
API = "https://api.example"


@dataclass
class Wire:
    method: str
    path: str
    request: list[tuple[str, str]]
    status: int
    response: list[tuple[str, str]]


@dataclass
class Example:
    exchanges: list[Wire]
    note: str = ""
    conditional: bool = False  # the reason shows as "blocked if the page sends credentials"
    flow: int = -1  # which exchange carries the reason (default: the last)
    extra: list[str] = field(default_factory=list)


def _pre(method="PUT", headers=None, status=204, resp=(), path="/items/1"):
    req = [("Origin", PAGE), ("Access-Control-Request-Method", method), ("Sec-Fetch-Mode", "cors")]
    if headers:
        req.append(("Access-Control-Request-Headers", headers))
    return Wire("OPTIONS", path, req, status, list(resp))


def _get(resp=(), status=200, req=(), method="GET", path="/items"):
    return Wire(method, path, [("Origin", PAGE), ("Sec-Fetch-Mode", "cors"), *req], status, list(resp))


ECHO = ("Access-Control-Allow-Origin", PAGE)
COOKIE = ("Cookie", "session=1")

EXAMPLES: dict[str, Example] = {
    "WildcardOriginNotAllowed": Example([_get([("Access-Control-Allow-Origin", "*")], req=[COOKIE])]),
    "MissingAllowOriginHeader": Example([_get([("Content-Type", "application/json")])]),
    "MultipleAllowOriginValues": Example([_get([("Access-Control-Allow-Origin", f"{PAGE}, https://admin.example")])]),
    "InvalidAllowOriginValue": Example([_get([("Access-Control-Allow-Origin", "app.example")])]),
    "AllowOriginMismatch": Example([_get([("Access-Control-Allow-Origin", f"{PAGE}/")])],
                                   note="A trailing slash is enough: the comparison is byte for byte."),
    "InvalidAllowCredentials": Example([_get([ECHO, ("Vary", "Origin")], req=[COOKIE])]),
    "PreflightInvalidStatus": Example([_pre(status=401, resp=[ECHO, ("Access-Control-Allow-Methods", "PUT")])]),
    "PreflightDisallowedRedirect": Example([_pre(status=301, resp=[("Location", f"{API}/items/1/")])]),
    "PreflightWildcardOriginNotAllowed": Example(
        [_pre(resp=[("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "PUT")])], conditional=True),
    "PreflightMissingAllowOriginHeader": Example([_pre(resp=[("Allow", "GET, PUT, OPTIONS")])]),
    "PreflightMultipleAllowOriginValues": Example(
        [_pre(resp=[ECHO, ECHO, ("Access-Control-Allow-Methods", "PUT")])],
        note="Two identical lines count as a list too: Chromium joins them to 'a, a'."),
    "PreflightInvalidAllowOriginValue": Example(
        [_pre(resp=[("Access-Control-Allow-Origin", "true"), ("Access-Control-Allow-Methods", "PUT")])]),
    "PreflightAllowOriginMismatch": Example(
        [_pre(resp=[("Access-Control-Allow-Origin", "https://www.app.example"), ("Access-Control-Allow-Methods", "PUT")])]),
    "PreflightInvalidAllowCredentials": Example(
        [_pre(resp=[ECHO, ("Access-Control-Allow-Methods", "PUT"), ("Vary", "Origin")])], conditional=True),
    "InvalidAllowMethodsPreflightResponse": Example(
        [_pre(resp=[ECHO, ("Access-Control-Allow-Methods", "GET, PUT (idempotent)")])]),
    "InvalidAllowHeadersPreflightResponse": Example(
        [_pre(headers="x-token", resp=[ECHO, ("Access-Control-Allow-Methods", "PUT"),
                                       ("Access-Control-Allow-Headers", "x-token; content-type")])]),
    "MethodDisallowedByPreflightResponse": Example(
        [_pre(method="PATCH", resp=[ECHO, ("Access-Control-Allow-Methods", "GET, POST, patch")])],
        note="Methods are compared case-sensitively; fetch() upper-cases only DELETE, GET, HEAD, OPTIONS, POST and PUT."),
    "HeaderDisallowedByPreflightResponse": Example(
        [_pre(headers="content-type,x-token",
              resp=[ECHO, ("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "Content-Type")])]),
    "RedirectContainsCredentials": Example(
        [_get([ECHO, ("Location", "https://user:secret@api.example/items")], status=302)]),
}

NOT_ON_THE_WIRE = {
    "DisallowedByMode": "The renderer refuses the request before sending it (fetch(url, {mode: 'same-origin'}) to "
                        "another origin, or a same-origin-mode request redirected away); a proxy sees nothing, or only "
                        "the redirect that led there.",
    "InvalidResponse": "A network or TLS failure below HTTP. Through mitmproxy an unreachable server becomes "
                       "mitmproxy's own 502 without CORS headers, which Chromium reports as MissingAllowOriginHeader "
                       "(the addon says so in the verdict's cause).",
    "CorsDisabledScheme": "A cross-origin request to a scheme without CORS (file:, ftp:, a custom scheme) never "
                          "reaches an HTTP proxy.",
    "InsecureLocalNetwork": "Local Network Access is decided in the browser from the page's and the target's "
                            "address spaces. Through an explicit proxy every target's address space is unknown to "
                            "Chromium, so these errors do not occur there.",
    "InvalidLocalNetworkAccess": "As InsecureLocalNetwork: decided in the browser, not visible through a proxy.",
    "LocalNetworkAccessPermissionDenied": "As InsecureLocalNetwork: a permission prompt in the browser.",
}


def _exchange(i: int, w: Wire) -> Exchange:
    t = 1000.0 + i
    return Exchange(f"flow{i}", RequestSnapshot(w.method, API + w.path, Headers(w.request), t, "client"),
                    ResponseSnapshot(w.status, Headers(w.response), t + 0.1))


def run(example: Example):
    tracker = Tracker()
    verdicts = [tracker.observe(_exchange(i, w)).verdict for i, w in enumerate(example.exchanges)]
    return verdicts[example.flow]


def _http(w: Wire) -> str:
    host = API.split("://", 1)[1]
    lines = [f"{w.method} {w.path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in w.request]
    lines += ["", f"HTTP/1.1 {w.status} {HTTPStatus(w.status).phrase}"]
    lines += [f"{k}: {v}" for k, v in w.response]
    return "\n".join(lines)


def _anchor(name: str) -> str:
    return name.lower()


def render() -> str:
    out = [
        "# Reasons: every CORS error Chromium reports, and what to do",
        "",
        "<!-- GENERATED by docs/gen_reasons.py from addons/mitmproxy_cors/engine/reasons.py. Do not edit: "
        "edit the catalogue and run `python docs/gen_reasons.py`. -->",
        "",
        "Chromium names each CORS failure with a `network::mojom::CorsError` value: DevTools shows it in the "
        "Network panel (`corsErrorStatus.corsError`, plus `failedParameter`) and the Issues panel. Firefox "
        "has its own reason names (the MDN pages `Reason: ...`). mitmproxy-cors reports the Chromium name, the "
        "failed parameter, the nearest Firefox reason, the console message and the fix, for every flow.",
        "",
        "Every example below is run through the addon's engine when this page is generated, so each one "
        "really produces its reason. `https://app.example` is the page, `https://api.example` the API.",
        "",
        "| Chromium reason | Firefox reason | In one sentence |",
        "| --- | --- | --- |",
    ]
    for r in _ALL:
        out.append(f"| [`{r.name}`](#{_anchor(r.name)}) | {('`' + r.firefox + '`') if r.firefox else '(none)'} "
                   f"| {r.meaning} |")
    out.append("")
    for r in _ALL:
        out += [f"## {r.name}", ""]
        out.append(f"- **Chromium**: `{r.name}` (CorsError {r.number}); DevTools shows it as the request's CORS error"
                   + (", prefixed as a preflight failure" if r.preflight_prefix else "") + ".")
        if r.firefox:
            out.append(f"- **Firefox**: `{r.firefox}`: \"{r.firefox_text.replace('{p}', '<value>')}\"")
        else:
            out.append("- **Firefox**: no equivalent reason.")
        out.append(f"- **What it means**: {r.meaning}")
        example = EXAMPLES.get(r.name)
        if example is None:
            out.append(f"- **Console message**: `{r.console_text('<parameter>')}`")
            out += ["", f"**What a proxy sees.** {NOT_ON_THE_WIRE.get(r.name, 'Nothing on the wire.')}", "",
                    f"**Fix.** {r.fix}", ""]
            continue
        v = run(example)
        got = v.conditional["reason"] if example.conditional else v.reason
        if got != r.name:
            raise SystemExit(f"example for {r.name} produces {got} (verdict {v.summary()})")
        if example.conditional:
            message = v.conditional["message"]
            steps = v.conditional["fix"]
        else:
            message = v.message
            steps = [s.text() + ("" if s.required else " (recommended)") for s in v.fix]
        out.append(f"- **Console message** (for the example): `{message}`")
        out += ["", "**Example exchange**" + (" (the preflight; the page sends credentials)" if example.conditional
                                              else "") + ":", "", "```http"]
        out.append("\n\n".join(_http(w) for w in example.exchanges))
        out += ["```", ""]
        if example.note:
            out += [example.note, ""]
        if example.conditional and v.credentials_risk is None:
            flagged = v._replace(conditional={**v.conditional, "evidence": "shown"}).summary()
            out.append(f"The addon's comment on this flow: `{v.summary()}` on its own; `{flagged}` once the session "
                       "suggests the page sends credentials (the server's Access-Control-Allow-Credentials: true, or "
                       "cookies this host set or received).")
        else:
            out.append(f"The addon's comment on this flow: `{v.summary()}`")
        out += ["", f"**Fix.** {r.fix}"]
        if steps:
            out.append("For the example:")
            out.append("")
            out += [f"- {s}" for s in steps]
        out.append("")
    out += [
        "## Prefix and hint",
        "",
        f"Reasons marked as preflight failures start with \"{PREFLIGHT_PREFIX.strip()}\" in the console. "
        "Some messages for fetch() end with \"Have the server send the header with a valid value.\"",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is out of date: run python docs/gen_reasons.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
