"""The fix for a finding, in the form of the CORS fixes: steps on the responses, then the framework
configuration that does it (server/snippets.py): an allow-list of exact origins, credentials only
where the session uses them, and Vary: Origin (every snippet's middleware sends it)."""

from __future__ import annotations

import json

from ..engine.memo import memoized
from ..engine.model import Exchange
from ..server.fix_plan import Requirement, credentials_hole, plan
from ..server.snippets import Needs, aggregate, policy_for, render_all
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


def allow_list_needs(requirement_json: str | None, allow_list: tuple[str, ...], methods: tuple[str, ...],
                     credentials: bool) -> Needs:
    """What the fixed configuration must allow: what the server allows today (its own CORS headers on
    the flow, merged as `cors.fix` merges them: never narrower), with the origins replaced by the
    allow-list and no origin the audit would flag."""
    r = Requirement.from_dict(json.loads(requirement_json)) if requirement_json else None
    needs = aggregate([r]) if r is not None else Needs(methods=list(methods))
    if "origin" in needs.wildcards:
        needs.wildcards.remove("origin")
    origins = list(allow_list) or [o for o in needs.origins if r is None or not credentials_hole(o, r.url)]
    needs.origins = origins or ["https://your-page.example"]
    if credentials:
        needs.credentials = True
    return needs


@memoized(64, 1 << 16)
def finding_configs(requirement_json: str | None, allow_list: tuple[str, ...], methods: tuple[str, ...],
                    credentials: bool) -> tuple[tuple[str, str], ...]:
    needs = allow_list_needs(requirement_json, allow_list, methods, credentials)
    return tuple(render_all(policy_for(needs), needs).items())


def requirement_json(ex: Exchange) -> str | None:
    """What this exchange needs from the server, with the server's own CORS headers, as JSON; None
    without a response."""
    if ex.response is None:
        return None
    try:
        r = plan(ex.request, ex.response.status, ex.response.headers).requirement
    except Exception:  # the fix's configuration then lists what the finding knows, nothing more
        return None
    return json.dumps(r.to_dict()) if r is not None else None
