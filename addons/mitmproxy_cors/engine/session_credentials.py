"""What the session shows about how pages authenticate to each host: cookies, or an Authorization
header the page sets.

The wire does not say whether a page fetched with `credentials: 'include'`, but the session does:
a host that sets cookies, or receives them, has a session that rides on cookies, and a browser
sends those cookies to it on any credentialed request, from any site that may read the answer.
An `Authorization` header is different: a page adds it itself, and another site's page cannot.

Used by the tracker (a response that fails only with credentials is flagged when the session
suggests them) and by the audit (a CORS hole with credentials is serious where cookies carry the
session, a smell where only an Authorization header does). Bounded: the oldest hosts go first.
"""

from __future__ import annotations

from collections import OrderedDict

from .model import Exchange


class SessionCredentials:
    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        # Hosts (and cookie Domains) that set or received cookies, with what showed it.
        self._cookies: OrderedDict[str, str] = OrderedDict()
        # Hosts whose requests carried an Authorization header, with what showed it.
        self._authorization: OrderedDict[str, str] = OrderedDict()
        # Hosts (cookie Domains) whose Set-Cookie was seen: True when one of the cookies goes with
        # cross-site requests (SameSite=None, not Partitioned), False when all stay same-site.
        self._cross_site: OrderedDict[str, bool] = OrderedDict()

    def note(self, ex: Exchange, host: str | None) -> None:
        """Remember what this exchange shows (`host`: the target's host; None for no URL)."""
        if host is None:
            return
        idx = ex.request.headers.by_name
        resp = ex.response
        sets = resp is not None and "set-cookie" in resp.headers.by_name
        if "cookie" in idx:
            self._remember(self._cookies, host, f"requests to {host} carry cookies (flow {ex.id[:8]})")
        if sets:
            for value in resp.headers.get_all("Set-Cookie"):
                domain = cookie_domain(value) or host
                self._remember(self._cookies, domain, f"{host} sets cookies (flow {ex.id[:8]})")
                if not self._cross_site.get(domain):
                    self._cross_site[domain] = sent_cross_site(value)
                    while len(self._cross_site) > self.capacity:
                        self._cross_site.popitem(last=False)
        if "authorization" in idx:
            self._remember(self._authorization, host,
                           f"requests to {host} carry an Authorization header (flow {ex.id[:8]})")

    def cookies_for(self, host: str) -> str | None:
        """Why this host's session rides on cookies (a cookie Domain covering it counts), or None."""
        cookies = self._cookies
        if not cookies or not host:
            return None
        why = cookies.get(host)
        if why is None and not host.startswith("["):
            labels = host.split(".")
            for i in range(1, len(labels) - 1):
                why = cookies.get(".".join(labels[i:]))
                if why is not None:
                    break
        return why

    def cookies_cross_site(self, host: str) -> bool | None:
        """Do this host's cookies go with cross-site requests? True: one was set with SameSite=None
        (not Partitioned); False: every Set-Cookie seen keeps them same-site (Lax, Strict, or no
        SameSite, which Chromium treats as Lax); None: no Set-Cookie seen (only Cookie headers)."""
        if not host:
            return None
        found = self._cross_site.get(host)
        if found is None and not host.startswith("["):
            labels = host.split(".")
            for i in range(1, len(labels) - 1):
                found = self._cross_site.get(".".join(labels[i:]))
                if found is not None:
                    break
        return found

    def authorization_for(self, host: str) -> str | None:
        """Why requests to this host are authenticated by a header the page sets, or None."""
        return self._authorization.get(host) if host else None

    def _remember(self, table: OrderedDict[str, str], key: str, why: str) -> None:
        if key not in table:
            table[key] = why
            while len(table) > self.capacity:
                table.popitem(last=False)

    def __len__(self) -> int:
        return len(self._cookies)

    def clear(self) -> None:
        self._cookies.clear()
        self._authorization.clear()
        self._cross_site.clear()


def cookie_domain(set_cookie: str) -> str | None:
    """The Domain attribute of a Set-Cookie value, lowercased without its leading dot."""
    for part in set_cookie.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "domain":
            value = value.strip().lstrip(".").lower()
            return value or None
    return None


def sent_cross_site(set_cookie: str) -> bool:
    """Does the browser send this cookie with cross-site requests (a fetch from another site's page)?
    Only with SameSite=None, and not when Partitioned (CHIPS: kept per top-level site)."""
    attrs = [part.strip().lower() for part in set_cookie.split(";")[1:]]
    return "samesite=none" in [a.replace(" ", "") for a in attrs] and "partitioned" not in attrs
