"""The classes of CORS holes the audit knows: what the server does, why it matters, the fix."""

from __future__ import annotations

from typing import NamedTuple


class AuditClass(NamedTuple):
    title: str  # what the server does, as a clause: "reflects any Origin"
    attack: str  # why it matters
    fix: str  # the fix in one sentence


# The classes, in the order they are listed. The origin-matching classes come from the crafted
# origins of crafted_origins.py; the others from what the traffic itself shows (passive.py).
CLASSES: dict[str, AuditClass] = {
    "origin-reflected": AuditClass(
        "reflects any Origin in Access-Control-Allow-Origin",
        "any web page can read these responses",
        "compare the request's Origin with an allow-list (exact scheme, host and port) and send "
        "Access-Control-Allow-Origin only for a listed origin"),
    "null-origin-allowed": AuditClass(
        "allows the origin 'null'",
        "any site can send Origin: null from a sandboxed iframe or a data: URL, and read the answer",
        "never allow 'null': serve the calling page from a real origin and list that origin"),
    "prefix-match": AuditClass(
        "trusts any origin that starts with a trusted host name (a prefix match)",
        "an attacker registers a domain such as <trusted host>.attacker.com",
        "compare whole origins exactly; a regular expression must be anchored with $ and escape its dots"),
    "suffix-match": AuditClass(
        "trusts any origin that ends with a trusted name (a suffix match without a dot)",
        "an attacker registers a domain such as attacker<trusted domain>",
        "compare whole origins exactly; to trust subdomains, match '.' + domain at the end, not the bare name"),
    "unescaped-dot": AuditClass(
        "trusts host names where a dot of a trusted name is any character (an unescaped '.' in a regular "
        "expression)",
        "an attacker registers a domain with a letter where the dot was",
        "escape the dots of an origin regular expression (\\.), or compare whole origins exactly"),
    "special-characters": AuditClass(
        "trusts host names with special characters after a trusted host (_, `, })",
        "browsers accept such host names (Chromium 156 opened pages at all three); with a wildcard DNS record an "
        "attacker serves a page there",
        "compare whole origins exactly; a regular expression must be anchored with $"),
    "third-party-hosting": AuditClass(
        "trusts origins on shared hosting domains (github.io, herokuapp.com, ...)",
        "anyone can publish a page there",
        "list your own pages' exact origins, not the hosting provider's domain"),
    "http-origin-trusted": AuditClass(
        "trusts an http: origin although the site is served over https",
        "an attacker on the user's network can inject a page into the http: origin",
        "list only https: origins (http://localhost for development is fine)"),
    "subdomain-trusted": AuditClass(
        "trusts every subdomain of the site",
        "exploitable only through a subdomain an attacker controls (an XSS, a dangling DNS record)",
        "list the subdomains that call this API, or make sure every subdomain is as safe as this one"),
    "vary-origin-missing": AuditClass(
        "sends an Access-Control-Allow-Origin that depends on the request's Origin on a cacheable "
        "response without Vary: Origin",
        "a cache hands the answer for one origin to another: an attacker's origin can be cached for "
        "everyone (cache poisoning), and your own pages get blocked by a copy made for another",
        "add Vary: Origin to every response whose Access-Control-Allow-Origin depends on the Origin"),
    "wildcard-with-cookies": AuditClass(
        "answers Access-Control-Allow-Origin: * to requests that carry cookies",
        "if the answer depends on the cookie (or on the network the user is in), '*' lets any page read "
        "what an anonymous request gets; browsers refuse it for credentialed reads",
        "for data behind a login, list the origins and allow credentials; keep '*' for public data only"),
    "long-max-age": AuditClass(
        "lets browsers cache a preflight for longer than a day (Access-Control-Max-Age)",
        "a policy loosened by mistake stays in Firefox's cache for 24 hours (Chromium caps it at 2 hours)",
        "use a few minutes to two hours (7200)"),
    "private-network-any-origin": AuditClass(
        "grants private-network access to any origin (Access-Control-Allow-Private-Network: true with "
        "Access-Control-Allow-Origin: *)",
        "any public web page may reach this device on the user's private network",
        "list the origins that may reach it; never '*' with Access-Control-Allow-Private-Network"),
}
