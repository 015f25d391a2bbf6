"""cors.fix when the server already sends CORS headers: said first, kept in the merged configuration
(never narrower than what the server allowed), and written to a new file (issue 13, item 2)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmproxy import exceptions

from mitmproxy_cors.engine.access_check import access_failures
from mitmproxy_cors.engine.model import Headers, RequestSnapshot
from mitmproxy_cors.engine.preflight_check import check_preflight
from mitmproxy_cors.engine.safelist import needs_preflight
from mitmproxy_cors.mitm.fixer import CorsFixer
from mitmproxy_cors.pipeline import configs_for
from mitmproxy_cors.server.fix_plan import Requirement, plan
from mitmproxy_cors.server.framework_options import flask_cors_kwargs
from mitmproxy_cors.server.middleware import answer_preflight, decorate
from mitmproxy_cors.server.snippets import FRAMEWORKS, aggregate, policy_for, render, render_all, report

from .conftest import API, PAGE, cors_req, preflight_req, response

A = "http://127.0.0.1:8001"
B = "http://localhost:8001"
U = "http://127.0.0.1:8002/api/"
LAYER = [("Access-Control-Allow-Origin", A), ("Access-Control-Allow-Credentials", "true"),
         ("Access-Control-Allow-Methods", "GET, POST"), ("Access-Control-Allow-Headers", "Authorization"),
         ("Access-Control-Expose-Headers", "X-Total"), ("Access-Control-Max-Age", "600")]


def pf(method="PUT", acrh=None, origin=A, path="p"):
    h = [("Origin", origin), ("Access-Control-Request-Method", method), ("Sec-Fetch-Mode", "cors")]
    if acrh:
        h.append(("Access-Control-Request-Headers", acrh))
    return RequestSnapshot("OPTIONS", U + path, Headers(h))


def act(method="GET", origin=A, path="g", extra=()):
    return RequestSnapshot(method, U + path, Headers([("Origin", origin), ("Sec-Fetch-Mode", "cors"), *extra]))


def req_of(request, fields, status=200) -> Requirement:
    return plan(request, status, Headers(fields)).requirement


# -- the server's own CORS headers on the requirement ------------------------------------------------------

def test_requirement_carries_the_servers_cors_headers_only():
    fields = [("Content-Type", "text/plain"), *LAYER, ("Set-Cookie", "sid=secret"), ("Vary", "Origin")]
    r = req_of(pf(), fields)
    assert r.server_cors == LAYER
    assert req_of(act(), fields).server_cors == LAYER
    assert req_of(act(), [("Content-Type", "text/plain")]).server_cors == []
    d = r.to_dict()
    assert d["server_cors"] == [list(x) for x in LAYER]
    assert Requirement.from_dict(d) == r


# -- merging: never narrower ------------------------------------------------------------------------------

def test_what_the_layer_allowed_is_kept_though_no_flow_asks_for_it():
    n = aggregate([req_of(pf("PUT", origin=B), LAYER)])
    assert n.origins == [A, B]  # the layer's origin, and the one that failed
    assert n.methods == ["GET", "POST", "PUT"]
    assert n.headers == ["authorization"]
    assert n.expose == ["x-total"] and n.credentials is True and n.max_age == 600
    assert ("request header", "authorization") in n.kept and ("origin", A) in n.kept
    p = policy_for(n)
    assert p.allow_headers == ("authorization",) and p.max_age == 600 and p.allow_credentials
    assert "kept from the server's own CORS headers" in "\n".join(n.summary_lines())


def test_keep_existing_off_gives_what_the_flows_alone_need():
    n = aggregate([req_of(pf("PUT", origin=B), LAYER)], keep_existing=False)
    assert n.origins == [B] and n.methods == ["PUT"] and n.headers == [] and n.max_age is None
    assert n.existing  # still said


def test_wildcard_origin_stays_without_credentials():
    n = aggregate([req_of(pf("PUT"), [("Access-Control-Allow-Origin", "*")])])
    p = policy_for(n)
    assert p.any_origin and not p.allow_credentials
    assert flask_cors_kwargs(p)["origins"] == "*"
    assert "origins: * (any, as the server sent)" in n.summary_lines()


@pytest.mark.parametrize("evidence", ["acac", "cookie"])
def test_wildcard_origin_with_credentials_cannot_stay_and_says_so(evidence):
    fields = [("Access-Control-Allow-Origin", "*")]
    extra = ()
    if evidence == "acac":
        fields.append(("Access-Control-Allow-Credentials", "true"))
    else:
        extra = [("Cookie", "sid=1")]
    n = aggregate([req_of(act(origin=B, extra=extra), fields)])
    p = policy_for(n)
    assert not p.any_origin and p.allow_origins == (B,) and p.allow_credentials
    assert any("browsers refuse '*' with credentials" in note for note in n.notes)
    assert "browsers refuse '*' with credentials" in render(p, "flask", n)


def test_origin_values_are_read_as_the_fetch_standard_reads_them():
    fields = [("Access-Control-Allow-Origin", "HTTP://Example.COM/, https://b.example"),
              ("Access-Control-Allow-Methods", "put, purge, *"), ("Access-Control-Allow-Headers", "X-Foo, *"),
              ("Access-Control-Max-Age", "5"), ("Access-Control-Allow-Private-Network", "true")]
    n = aggregate([req_of(pf("DELETE"), fields),
                   req_of(pf("DELETE", path="q"), [("Access-Control-Max-Age", "60"),
                                                    ("Access-Control-Allow-Origin", "null")])])
    assert n.origins == [A, "http://example.com", "https://b.example"]
    assert "PUT" in n.methods and "purge" in n.methods and "x-foo" in n.headers
    assert "null" not in n.origins and any("Access-Control-Allow-Origin: null" in x for x in n.notes)
    assert n.max_age == 60 and n.private_network
    p = policy_for(n)
    assert p.any_method and p.any_header


def test_wildcard_expose_stays_only_without_credentials():
    fields = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "*"), ("X-Total", "7")]
    assert "*" in aggregate([req_of(act(), fields)]).expose
    n = aggregate([req_of(act(extra=[("Cookie", "sid=1")]), fields)])
    assert "*" not in n.expose and "x-total" in n.expose
    assert any("Expose-Headers: *" in note for note in n.notes)


# The property: a hand-written layer (the same headers on every response), a session of a few requests,
# cors.fix on its blocked flows alone; the merged policy, as the generic middleware applies it, allows
# every request shape the layer allows (seen or not) and every blocked request sent without credentials.
# The one documented exception: '*' with credentials in play lists the origins seen instead.
ORIGINS = (A, B)
METHODS = ("GET", "PUT", "PATCH", "DELETE", "PURGE")
HEADERS = (("authorization", "Authorization", "Bearer t"), ("x-foo", "X-Foo", "1"),
           ("content-type", "Content-Type", "application/json"))
SHAPES = [(origin, method, [h for i, h in enumerate(HEADERS) if mask >> i & 1], include)
          for origin in ORIGINS for method in METHODS for mask in range(1 << len(HEADERS))
          for include in (False, True)]
_layer = st.fixed_dictionaries({
    "Access-Control-Allow-Origin": st.sampled_from([None, "*", A, B, "null", A + "/", f"{A}, {B}"]),
    "Access-Control-Allow-Credentials": st.sampled_from([None, "true"]),
    "Access-Control-Allow-Methods": st.one_of(st.none(), st.just("*"), st.lists(
        st.sampled_from(["GET", "POST", "PUT", "put", "PATCH", "DELETE", "PURGE"]), unique=True).map(", ".join)),
    "Access-Control-Allow-Headers": st.one_of(st.none(), st.just("*"), st.lists(
        st.sampled_from(["Authorization", "X-Foo", "Content-Type"]), unique=True).map(", ".join)),
})


def _requests(shape):
    origin, method, headers, include = shape
    unsafe = sorted(h[0] for h in headers)
    extra = [(name, value) for _, name, value in headers] + ([("Cookie", "sid=1")] if include else [])
    actual = RequestSnapshot(method, U + "x", Headers([("Origin", origin), ("Sec-Fetch-Mode", "cors"), *extra]))
    preflight = pf(method, ",".join(unsafe) or None, origin, "x") if needs_preflight(method, unsafe) else None
    return unsafe, preflight, actual


def _allowed(shape, status, fields, answer=None) -> bool:
    """Chromium's checks of the preflight (if any) and the actual response; `answer` gives the fields."""
    origin, method, _, include = shape
    unsafe, preflight, actual = _requests(shape)
    if preflight is not None:
        st_, hs = (status, fields) if answer is None else answer(preflight)
        if check_preflight(status=st_, headers=Headers(hs), origin=origin, include=include, method=method,
                           unsafe_headers=unsafe, redirected=False)[0].blocked:
            return False
    hs = fields if answer is None else answer(actual)[1]
    return not access_failures(Headers(hs), origin, include, "actual")


@settings(max_examples=300, deadline=None)
@given(_layer, st.lists(st.integers(0, len(SHAPES) - 1), min_size=1, max_size=6, unique=True))
def test_merged_configuration_never_narrows_what_the_layer_allowed(layer, session):
    fields = [(k, v) for k, v in layer.items() if v is not None]
    requirements, blocked = [], []
    for shape in (SHAPES[i] for i in session):
        if _allowed(shape, 200, fields):
            continue
        blocked.append(shape)
        unsafe, preflight, actual = _requests(shape)
        failed_preflight = preflight is not None and check_preflight(
            status=200, headers=Headers(fields), origin=shape[0], include=shape[3], method=shape[1],
            unsafe_headers=unsafe, redirected=False)[0].blocked
        requirements.append(req_of(preflight if failed_preflight else actual, fields))  # what @marked selects
    if not requirements:
        return
    needs = aggregate(requirements)
    policy = policy_for(needs)

    def answer(request):
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            a = answer_preflight(policy, request)
            return a.status, a.headers
        return 200, decorate(policy, request, Headers([]))

    star_listed = layer["Access-Control-Allow-Origin"] == "*" and "origin" not in needs.wildcards
    for shape in SHAPES:
        if _allowed(shape, 200, fields) and not (star_listed and shape[0] not in needs.origins):
            assert _allowed(shape, 200, fields, answer), (layer, shape, policy)
    for shape in blocked:
        if not shape[3]:
            assert _allowed(shape, 200, fields, answer), (layer, shape, policy)


# -- the output ---------------------------------------------------------------------------------------------

def _needs_with_layer():
    return aggregate([req_of(pf("PUT", path="put"), LAYER),
                      req_of(pf("POST", "content-type", path="post"), LAYER),
                      req_of(act(path="public", extra=[("Cookie", "sid=SECRETCOOKIE"),
                                                       ("Authorization", "Bearer SECRETTOKEN")]),
                             [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true"),
                              ("Set-Cookie", "sid=SECRETSET")]),
                      req_of(act(path="boom"), [], status=500)])


def test_the_warning_comes_first_and_lists_which_responses_carried_which_headers():
    n = _needs_with_layer()
    text = report(n)
    assert text.startswith("WARNING: the server already sends CORS headers (3 response(s) below). Remove")
    assert "may do nothing" in text and "@cross_origin" in text and "nginx add_header" in text
    assert f"preflight for PUT {U}put, preflight for POST {U}post:" in text
    assert f"GET {U}public:" in text and "Access-Control-Allow-Origin: *; Access-Control-Allow-Credentials: true" in text
    assert text.index("WARNING") < text.index("CORS configuration for 4 flow(s)") < text.index("=== Express")
    for fw in FRAMEWORKS:
        snippet = render(policy_for(n), fw, n)
        assert snippet.splitlines()[0].endswith("WARNING: the server already sends CORS headers (3 response(s) "
                                                "below). Remove that CORS code before")
    assert "after_request" in render(policy_for(n), "flask", n)
    assert "@CrossOrigin" in render(policy_for(n), "spring", n)


def test_no_secret_value_in_any_output():
    n = _needs_with_layer()
    texts = [report(n), *render_all(policy_for(n), n).values(), *configs_for(req_of(
        act(extra=[("Cookie", "sid=SECRETCOOKIE"), ("Authorization", "Bearer SECRETTOKEN")]), LAYER)).values()]
    for text in texts:
        assert "SECRET" not in text


def test_without_existing_headers_the_output_is_unchanged():
    n = aggregate([req_of(pf("PUT"), [])])
    text = report(n)
    assert text.startswith("Smallest CORS configuration for 1 flow(s)") and "WARNING" not in text
    assert not n.existing and not n.kept and n.max_age is None


def test_callers_with_the_old_arguments_still_work():
    """The HTML report calls aggregate(requirements) and render_all(policy_for(needs), needs)."""
    n = aggregate([req_of(pf("PUT"), LAYER)])
    assert set(render_all(policy_for(n), n)) == set(FRAMEWORKS)
    assert render(policy_for(n), "flask") and report(n, ["go"])
    # the per-flow configurations of the report line are memoized on the Needs' fields: hashable
    assert "max_age=600" in configs_for(req_of(pf("PUT"), LAYER))["flask"]


# -- the command: through the proxy, patched flows, writing a file -----------------------------------------

SERVER_LAYER = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Headers", "Authorization"),
                ("Content-Type", "text/plain")]


@pytest.mark.asyncio
async def test_patched_flows_are_judged_on_the_servers_original_headers(proxy):
    proxy.set(cors_fix="~all")
    f = await proxy.exchange(cors_req(extra=[("Cookie", "sid=1")]), response(200, SERVER_LAYER, b"ok"))
    assert f.response.headers["Access-Control-Allow-Origin"] == PAGE  # what the browser got: patched
    lines = proxy.master.commands.execute("cors.fix @all flask")
    text = "\n".join(lines)
    assert lines[0].startswith("# WARNING: the server already sends CORS headers")
    assert f"GET {API}/g:" in text and "Access-Control-Allow-Origin: *;" in text  # the server's, not the patch
    assert 'allow_headers=["authorization"]' in text and "browsers refuse '*' with" in text


@pytest.mark.asyncio
async def test_cors_fix_writes_a_new_file_and_never_overwrites_one(proxy, tmp_path):
    await proxy.exchange(preflight_req(acrh="x-foo"), response(200, SERVER_LAYER))
    target = tmp_path / "cors_config.py"
    lines = proxy.master.commands.execute(f"cors.fix @all flask {target}")
    assert lines[-1] == f"cors.fix: written to {target}"
    written = target.read_text()
    assert written == "\n".join(lines[:-1]) + "\n"
    compile(written, str(target), "exec")  # the warning is comments: the file is valid Python
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(exceptions.CommandError, match="exists.*never overwrites"):
        proxy.master.commands.execute(f"cors.fix @all flask {target}")
    assert target.read_text() == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cors_config.py"]  # no temporary file left


@pytest.mark.asyncio
@pytest.mark.parametrize("args, message", [
    ("rails", "unknown framework 'rails'; one of all, express"),
    ("flask {missing}/x.py", "cannot write .*no such directory"),
    ("flask {tmp}", "cannot write .*it is a directory"),
])
async def test_bad_input_is_one_clear_line(proxy, tmp_path, args, message):
    await proxy.exchange(preflight_req(), response(200, SERVER_LAYER))
    args = args.format(missing=tmp_path / "nope", tmp=tmp_path)
    with pytest.raises(exceptions.CommandError, match=message) as e:
        proxy.master.commands.execute(f"cors.fix @all {args}")
    assert "\n" not in str(e.value)


def test_a_place_no_file_can_be_created_in_is_one_clear_error():
    """/proc passes the up-front checks even for root; creating the file there fails."""
    target = "/proc/cors_fix_test.py"
    with pytest.raises(exceptions.CommandError, match=f"^cors.fix: cannot write {target}: ") as e:
        CorsFixer().fix([_flow_with_layer()], "flask", target)
    assert "\n" not in str(e.value) and not os.path.exists(target)


def test_no_cors_flows_writes_nothing(tmp_path):
    target = tmp_path / "x.py"
    assert CorsFixer().fix([], "flask", str(target)) == ["cors.fix: no CORS requests among the 0 flow(s); "
                                                         "nothing written"]
    assert not target.exists()


def _flow_with_layer():
    from mitmproxy.test import tflow

    from .conftest import request
    f = tflow.tflow(req=request("GET", API + "/g", {"Origin": PAGE, "Sec-Fetch-Mode": "cors"}), resp=True)
    f.response.headers["Access-Control-Allow-Origin"] = "*"
    return f


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
