"""A finding of the audit, the classes of CORS holes it knows, and how severe each is in context.

Severity follows what the session shows about authentication (engine/session_credentials.py):

* a grant with `Access-Control-Allow-Credentials: true` to an origin an attacker can own, where the
  session rides on cookies, is a **vulnerability, high**: the browser adds the user's cookies to the
  attacker page's request and lets that page read the answer;
* the same where the session authenticates with an `Authorization` header the page sets (and no
  cookie is seen) is a **smell, low**: another site's page cannot add that header, so it is not
  exploitable as configured, but it becomes so the day a cookie is added;
* where the session shows neither, a **vulnerability, medium**: the server says it wants
  credentialed reads, and nothing seen yet says which;
* a grant without credentials is no finding: it is what `*` does, correct for public data.

A finding is a frozen value compared by value; `record()` is its line in the JSON Lines report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .classes import CLASSES
from .fix import ALLOW_LIST_CLASSES, finding_configs


SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


class AuthContext(NamedTuple):
    """What the session shows about how requests to the audited host authenticate."""
    cookies: str | None = None  # why the session rides on cookies, or None
    authorization: str | None = None  # why requests carry an Authorization header, or None
    cross_site: bool | None = None  # the cookies go cross-site (SameSite=None); None: not seen

    def evidence(self) -> str:
        if self.cookies and self.cross_site is False:
            return (f"the session rides on cookies ({self.cookies}), set SameSite=Lax or Strict (or without "
                    "SameSite, which Chromium treats as Lax): browsers send them from pages of the same site only")
        if self.cookies:
            return f"the session rides on cookies: {self.cookies}" + (
                " (one is SameSite=None: browsers send it from any site's page where third-party cookies are allowed)"
                if self.cross_site else " (their SameSite attribute was not seen: assumed sent cross-site)")
        if self.authorization:
            return (f"no cookie seen for this host; {self.authorization}, which another site's page "
                    "cannot add")
        return "no cookie and no Authorization header seen for this host in this session"


def credentialed_grant(cls: str, auth: AuthContext) -> tuple[str, str]:
    """(kind, severity) of a grant with credentials of class `cls`, given the session's auth.

    Cookies set SameSite=Lax or Strict do not go with another site's fetch: a grant to an origin of
    another site is then medium (exploitable from the site's own subdomains, or once a cookie is
    SameSite=None), not high."""
    if cls == "subdomain-trusted":
        return "smell", "low"
    if cls == "http-origin-trusted":
        return ("vulnerability", "medium") if auth.cookies else ("smell", "low")
    if auth.cookies:
        return ("vulnerability", "medium") if auth.cross_site is False else ("vulnerability", "high")
    if auth.authorization:
        return "smell", "low"
    return "vulnerability", "medium"


@dataclass(frozen=True, slots=True)
class Finding:
    endpoint: str  # "GET https://api.example.com/items": method and URL without query
    url: str
    cls: str
    kind: str  # "vulnerability" | "smell"
    severity: str  # "high" | "medium" | "low" | "info"
    origins_granted: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    source: str = "passive"  # "passive": seen in the traffic; "active": crafted origins sent by the audit
    flow_id: str | None = None  # the flow that showed it (passive) or started the probe (active)
    allow_list: tuple[str, ...] = ()  # the origins the fix lists: those this host granted to real pages
    credentials: bool = True  # the fix allows credentials (the grant had them)
    # What the flow needs from the server, with the server's own CORS headers (server/fix_plan.py's
    # Requirement as JSON, so the value stays immutable): the fix's configuration keeps what they allow.
    requirement: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.endpoint, self.cls

    def title(self) -> str:
        entry = CLASSES.get(self.cls)
        return entry.title if entry else self.cls

    def summary(self) -> str:
        """One line, what matters first (mitmweb's comment column shows some twenty characters):
        `CORS audit HIGH origin-reflected (vulnerability): GET https://... reflects any Origin ...`"""
        return (f"CORS audit {self.severity.upper()} {self.cls} ({self.kind}): {self.endpoint} {self.title()}"
                + (f" (granted: {', '.join(self.origins_granted[:3])})" if self.origins_granted else ""))

    def digest(self) -> dict:
        """What a flow carries (flow.metadata["cors"]["audit"])."""
        return {"class": self.cls, "kind": self.kind, "severity": self.severity, "source": self.source,
                "endpoint": self.endpoint, "summary": self.summary(), "fix": self.fix[0] if self.fix else None,
                "evidence": list(self.evidence[:3]), "allow_list": list(self.allow_list),
                "credentials": self.credentials}

    def configs(self) -> dict[str, str] | None:
        """The framework configurations of the allow-list fix (server/snippets.py), or None."""
        if self.cls not in ALLOW_LIST_CLASSES:
            return None
        method = self.endpoint.split(" ", 1)[0]
        return dict(finding_configs(self.requirement, self.allow_list, (method,), self.credentials))

    def record(self) -> dict:
        """The finding's line in the JSON Lines report (docs/report-schema.md)."""
        return {"record": "finding", "url": self.url, "endpoint": self.endpoint, "class": self.cls,
                "kind": self.kind, "severity": self.severity, "origins_granted": list(self.origins_granted),
                "evidence": list(self.evidence), "fix": list(self.fix), "source": self.source,
                # not "flow_id": the verdict lines' rule "the last line for a flow_id wins" stays true
                "found_in_flow": self.flow_id, "title": self.title(), "allow_list": list(self.allow_list),
                "credentials": self.credentials, "requirement": self.requirement, "configs": self.configs()}

    @classmethod
    def from_record(cls, r: dict) -> Finding:
        return cls(r["endpoint"], r["url"], r["class"], r["kind"], r["severity"], tuple(r["origins_granted"]),
                   tuple(r["evidence"]), tuple(r["fix"]), r.get("source", "passive"), r.get("found_in_flow"),
                   tuple(r.get("allow_list") or ()), bool(r.get("credentials", True)), r.get("requirement"))


def by_severity(findings) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.kind != "vulnerability",
                                          f.endpoint, f.cls))
