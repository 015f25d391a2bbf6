"""Filter recipes from docs/filtering.md, on the View as the console (f) and mitmweb (Search) use them.

mitmproxy 11 matches regexes case-sensitively, 12 case-insensitively (since 11.1.0); the recipes
that work the same on both are the ones the docs recommend.
"""

from __future__ import annotations

import pytest
from .conftest import PAGE, cors_get, make_flow, preflight
from .helpers import V12
from mitmproxy import flowfilter

FINE = {"Access-Control-Allow-Origin": PAGE, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
# "*" from a server that says Allow-Credentials: true: fine as sent, blocked if the page sends credentials.
STAR_CREDS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}


@pytest.fixture
async def flows(stack):
    fl = {
        "blocked": cors_get("/blocked", resp={"Access-Control-Allow-Origin": "http://evil.test"}),
        "preflight": preflight("/pre", "PUT", resp={}),
        "warning": cors_get("/warn", resp=STAR_CREDS),
        "allowed": cors_get("/fine", resp=FINE),
        "allowed-preflight": preflight("/ok", "PUT", resp={**FINE, "Access-Control-Allow-Methods": "PUT"}),
        "same": make_flow("GET", "http://api.test:8000/same", {}, 200, {}, body=b"x"),
        # the audit: a server trusting Origin: null with credentials (docs/audit.md)
        "audit": cors_get("/null", extra={"Origin": "null"},
                          resp={"Access-Control-Allow-Origin": "null", "Access-Control-Allow-Credentials": "true"}),
    }
    stack.feed(*fl.values())
    return stack, fl


def matching(fl, expr: str) -> set[str]:
    f = flowfilter.parse(expr)
    return {name for name, flow in fl.items() if f(flow)}


# Recipes that behave the same on 11 and 12.
PORTABLE = {
    "~marker heavy_multiplication_x": {"blocked", "preflight"},
    "~marker warning": {"warning"},
    "~marked": {"blocked", "preflight", "warning", "audit"},
    '~comment "CORS blocked"': {"blocked", "preflight", "warning"},  # also "blocked if the page sends credentials"
    '~comment "CORS audit"': {"audit"},
    '~comment "CORS audit MEDIUM"': {"audit"},
    "~marker radioactive": {"audit"},
    '~comment "CORS blocked:"': {"blocked", "preflight"},
    '~comment "(?i)cors blocked"': {"blocked", "preflight", "warning"},
    # Blocked comments start with the reason, and every preflight reason with "Preflight"; without
    # the caret mitmproxy 12 (case-insensitive) would also list "CORS allowed (preflight)".
    "~comment ^Preflight": {"preflight"},
    "~comment CORS": {"blocked", "preflight", "warning", "allowed", "allowed-preflight", "audit"},
    "~meta \"'kind': 'preflight'\"": {"preflight", "allowed-preflight"},
    "~meta \"'reason': 'AllowOriginMismatch'\"": {"blocked"},
    "~marker heavy_multiplication_x & ~m OPTIONS": {"preflight"},
    "!~marker heavy_multiplication_x & ~comment CORS": {"warning", "allowed", "allowed-preflight", "audit"},
}


@pytest.mark.parametrize("expr", list(PORTABLE))
async def test_portable_recipes(flows, expr):
    _stack, fl = flows
    assert matching(fl, expr) == PORTABLE[expr]


async def test_lowercase_comment_filter_differs_between_11_and_12(flows):
    """`~comment "cors blocked"`: 12 ignores case, 11 does not: the docs say to write the case
    of the comment ("CORS blocked") or add (?i)."""
    _stack, fl = flows
    expected = {"blocked", "preflight", "warning"} if V12 else set()
    assert matching(fl, '~comment "cors blocked"') == expected


async def test_view_filter_lists_only_blocked_flows(flows):
    """What `f` in the console and the Search box in mitmweb do: set view_filter."""
    stack, fl = flows
    stack.tctx.options.view_filter = "~marker heavy_multiplication_x"
    assert {f.id for f in stack.view} == {fl["blocked"].id, fl["preflight"].id}
    stack.tctx.options.view_filter = '~comment "CORS blocked:" & ~m GET'
    assert [f.id for f in stack.view] == [fl["blocked"].id]
    stack.tctx.options.view_filter = ""
    assert len(stack.view) == 7


async def test_commands_take_the_recipes_as_flow_specs(flows):
    stack, _fl = flows
    lines = stack.run('cors.explain "~marker heavy_multiplication_x"')
    assert sum(1 for x in lines if x.startswith("CORS BLOCKED")) == 2
