"""The origins the active audit sends, each for one way of matching origins wrongly.

For an endpoint first seen from the page origin `https://app.example.com` (or, without an Origin, the
target's own origin), the audit sends:

| class | Origin sent | a server grants it when it |
| --- | --- | --- |
| origin-reflected | `https://cors-audit-attacker.com` | echoes any Origin |
| null-origin-allowed | `null` | allows `null` (sandboxed iframes, data: URLs) |
| prefix-match | `https://app.example.com.cors-audit-attacker.com` | checks that the origin starts with a trusted one |
| suffix-match | `https://corsauditattackerexample.com` | checks that the origin ends with the trusted domain |
| unescaped-dot | `https://appxexample.com` (the dot before the registrable domain) | matches a regular expression whose dots are not escaped |
| special-characters | `https://app.example.com_.cors-audit-attacker.com`, the same with `` ` `` and `}` | matches a prefix without `$`; Chromium 156 opens pages at those host names |
| third-party-hosting | `https://cors-audit-attacker.github.io`, `.herokuapp.com`, `.netlify.app`, `.vercel.app`, `.pages.dev` | trusts a shared hosting domain |
| http-origin-trusted | `http://app.example.com` (an https site only) | trusts the http: origin |
| subdomain-trusted | `https://cors-audit-attacker.example.com` | trusts every subdomain |

The domains under `cors-audit-attacker.com` are never contacted: only the server under audit sees
them, in its Origin header. Host names that are IP addresses or single labels (`localhost`) get only
the classes that make sense for them.
"""

from __future__ import annotations

from typing import NamedTuple

from ..engine.origin import Origin

ATTACKER = "cors-audit-attacker.com"
HOSTING_DOMAINS = ("github.io", "herokuapp.com", "netlify.app", "vercel.app", "pages.dev")
SPECIAL_CHARACTERS = ("_", "`", "}")


class CraftedOrigin(NamedTuple):
    cls: str
    origin: str


def _port(o: Origin) -> str:
    default = {"http": 80, "https": 443}.get(o.scheme)
    return f":{o.port}" if o.port is not None and o.port != default else ""


def crafted_origins(base: Origin) -> tuple[CraftedOrigin, ...]:
    """The crafted origins for an endpoint whose legitimate callers are at `base`."""
    scheme, host, port = base.scheme, base.host, _port(base)
    out = [CraftedOrigin("origin-reflected", f"{scheme}://{ATTACKER}"),
           CraftedOrigin("null-origin-allowed", "null"),
           CraftedOrigin("prefix-match", f"{scheme}://{host}.{ATTACKER}")]
    named = not host.startswith("[") and not host.replace(".", "").isdigit() and "." in host
    if named:
        labels = host.split(".")
        domain = ".".join(labels[-2:])
        out.append(CraftedOrigin("suffix-match", f"{scheme}://corsauditattacker{domain}{port}"))
        if len(labels) >= 3:  # the dot before the registrable domain: www.appxexample.com can be registered
            out.append(CraftedOrigin("unescaped-dot", f"{scheme}://{'.'.join(labels[:-2])}x{domain}{port}"))
    out += [CraftedOrigin("special-characters", f"{scheme}://{host}{c}.{ATTACKER}") for c in SPECIAL_CHARACTERS]
    out += [CraftedOrigin("third-party-hosting", f"https://cors-audit-attacker.{d}") for d in HOSTING_DOMAINS]
    if scheme == "https":
        out.append(CraftedOrigin("http-origin-trusted", f"http://{host}{port}"))
    if named:
        out.append(CraftedOrigin("subdomain-trusted", f"{scheme}://cors-audit-attacker.{domain}{port}"))
    return tuple(out)
