"""The fix for a finding, in the form of the CORS fixes: steps on the responses, then the framework
configuration that does it (server/snippets.py): an allow-list of exact origins, credentials only
where the session uses them, and Vary: Origin (every snippet's middleware sends it)."""

from __future__ import annotations

from ..engine.memo import memoized
from ..server.snippets import Needs, policy_for, render_all
from .classes import CLASSES

# Classes whose fix is an allow-list of exact origins.
ALLOW_LIST_CLASSES = frozenset({"origin-reflected", "null-origin-allowed", "prefix-match", "suffix-match",
                                "unescaped-dot", "special-characters", "third-party-hosting",
                                "http-origin-trusted", "subdomain-trusted", "vary-origin-missing"})


def fix_steps(cls: str, legit_origins: tuple[str, ...], credentials: bool) -> tuple[str, ...]:
    listed = ", ".join(legit_origins) if legit_origins else "the exact origins of your own pages"
    steps = []
    if cls in ALLOW_LIST_CLASSES:
        steps.append(f"on every CORS response: set Access-Control-Allow-Origin only to an origin on an allow-list, "
                     f"compared exactly (scheme, host and port): {listed}")
        steps.append("on every CORS response: add Vary: Origin")
        if credentials:
            steps.append("send Access-Control-Allow-Credentials: true only together with a listed origin")
    elif cls == "private-network-any-origin":
        steps.append(f"on the preflight response: set Access-Control-Allow-Origin to a listed origin ({listed}), "
                     "never '*', when it answers Access-Control-Allow-Private-Network: true")
    elif cls == "long-max-age":
        steps.append("on the preflight response: set Access-Control-Max-Age: 7200 (or less)")
    entry = CLASSES.get(cls)
    if entry is not None:
        steps.append(f"in short: {entry.fix}")
    return tuple(steps)


@memoized(64, 4096)
def allow_list_configs(legit_origins: tuple[str, ...], methods: tuple[str, ...], credentials: bool
                       ) -> tuple[tuple[str, str], ...]:
    """The framework configurations of an allow-list (server/snippets.py renders them). Without a
    known origin, a placeholder the user replaces."""
    needs = Needs(origins=list(legit_origins) or ["https://your-page.example"], methods=list(methods),
                  credentials=True if credentials else None)
    return tuple(render_all(policy_for(needs), needs, summary=False).items())
