"""What the user sees on a flow: comment, marker, metadata (tests/addon/README.md, "Annotating flows")."""

from mitmproxy.utils import emoji

from .flows import API, PAGE, cors_get, make_flow, preflight, put_pair

URL = API + "/api"


async def test_blocked_flow_gets_comment_marker_and_metadata(cors):
    f = cors_get(URL, status=200)
    meta = await cors.run(f)
    assert meta["verdict"] == "blocked"
    assert meta["reason"] == "MissingAllowOriginHeader"
    assert meta["failed_parameter"] == ""
    assert f.marked == ":heavy_multiplication_x:"
    assert f.comment.startswith("MissingAllowOriginHeader — CORS blocked: ")
    # The comment says what to change.
    assert "Access-Control-Allow-Origin" in f.comment


async def test_blocked_comment_names_the_failed_parameter(cors):
    f = cors_get(URL, status=200, resp_headers=[("Access-Control-Allow-Origin", "http://other.test")])
    await cors.run(f)
    assert f.comment.startswith("AllowOriginMismatch (http://other.test) — CORS blocked: ")


async def test_allowed_flow_gets_an_allowed_comment_and_no_marker(cors):
    f = cors_get(URL, status=200, resp_headers=[("Access-Control-Allow-Origin", PAGE),
                                                ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")])
    meta = await cors.run(f)
    assert meta["verdict"] == "allowed"
    assert f.marked == ""
    assert f.comment.startswith("CORS allowed")


async def test_conditionally_blocked_flow_gets_a_warning_marker(cors):
    # ACAO `*` fails only when the credentials mode is 'include' (https://fetch.spec.whatwg.org/#cors-check);
    # nothing on the wire says which mode the page used (docs/proxy-limits.md, "Credentials"); the
    # server's own Allow-Credentials: true says the page is expected to send them.
    f = cors_get(URL, status=200, resp_headers=[("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")])
    meta = await cors.run(f)
    assert meta["verdict"] == "allowed"
    assert meta["conditional"]["reason"] == "WildcardOriginNotAllowed"
    assert f.marked == ":warning:"
    assert "WildcardOriginNotAllowed" in f.comment


async def test_markers_are_valid_mitmproxy_markers(cors):
    blocked = cors_get(URL, status=200)
    warned = cors_get(URL, status=200, resp_headers=[("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")])
    await cors.run(blocked)
    await cors.run(warned)
    for f in (blocked, warned):
        assert isinstance(f.marked, str)
        assert f.marked in emoji.emoji


async def test_users_own_comment_is_preserved(cors):
    f = cors_get(URL, status=200)
    f.comment = "my note: check with the backend team"
    meta = await cors.run(f)
    assert f.comment == "my note: check with the backend team"
    assert meta["reason"] == "MissingAllowOriginHeader"
    assert f.marked == ":heavy_multiplication_x:"


async def test_non_cors_flow_gets_metadata_only(cors):
    f = make_flow("GET", API + "/page", [("Accept", "text/html"), ("Upgrade-Insecure-Requests", "1")], status=200)
    meta = await cors.run(f)
    assert meta["kind"] == "not-cors"
    assert meta["verdict"] == "allowed"
    assert f.comment == ""
    assert f.marked == ""


async def test_same_origin_flow_is_not_marked(cors):
    f = make_flow("POST", PAGE + "/x", [("Origin", PAGE)], status=200)
    meta = await cors.run(f)
    assert meta["kind"] == "same-origin"
    assert f.comment == "" and f.marked == ""


async def test_metadata_is_a_digest_of_the_report_line(cors):
    """The flow carries what filters and the Detail tab need, the same values as the report line."""
    f = cors_get(URL, status=200)
    line = await cors.run(f)
    digest = f.metadata["cors"]
    assert list(digest) == ["verdict", "reason", "failed_parameter", "kind", "summary", "credentials", "conditional",
                            "warnings", "paired_flow_id", "redirected_from", "method", "url", "origin", "flow_id",
                            "update", "status"]
    assert all(digest[k] == line[k] for k in digest if k != "conditional")
    assert len(repr(digest)) < 600  # a few lines in the console's Detail tab, not forty


async def test_metadata_has_the_report_fields(cors):
    f = cors_get(URL, status=200)
    meta = await cors.run(f)
    for key in ("flow_id", "time", "method", "url", "origin", "kind", "verdict", "reason", "failed_parameter",
                "firefox_reason", "message", "fix", "paired_flow_id", "credentials", "conditional"):
        assert key in meta, key
    assert meta["flow_id"] == f.id
    assert meta["url"] == URL
    assert meta["origin"] == PAGE
    assert meta["firefox_reason"] == "CORSMissingAllowOrigin"
    assert meta["message"].startswith(f"Access to fetch at '{URL}' from origin '{PAGE}' has been blocked")


async def test_preflight_is_reannotated_when_its_actual_request_arrives(cors):
    pre = preflight(URL, "PUT", status=204, resp_headers=[("Access-Control-Allow-Origin", "*"),
                                                          ("Access-Control-Allow-Methods", "PUT"),
                                                          ("Access-Control-Allow-Credentials", "true")],
                    t=1000.0)
    pre_meta = await cors.run(pre)
    assert pre_meta["conditional"] is not None
    assert pre.marked == ":warning:"
    act = make_flow("PUT", URL, [("Origin", PAGE)], status=200, resp_headers=[("Access-Control-Allow-Origin", "*")],
                    t=1000.1, client_conn=pre.client_conn)
    act_meta = await cors.run(act)
    assert act_meta["paired_flow_id"] == pre.id
    # The preflight's flow now knows its actual request, and that credentials were not included.
    assert pre.metadata["cors"]["paired_flow_id"] == act.id
    assert pre.metadata["cors"]["credentials"] == "omit"
    assert pre.metadata["cors"]["conditional"] is None
    assert pre.marked == ""  # our warning marker is withdrawn once the doubt is gone


async def test_reannotated_preflight_is_refreshed_in_the_ui(cors):
    # A *different* flow is refreshed by triggering the update hook (tests/addon/README.md, "Hooks").
    seen = []

    class Recorder:
        def update(self, flows):
            seen.extend(flows)

    cors.tctx.master.addons.add(Recorder())
    pre, act = put_pair(URL)
    await cors.run(pre)
    await cors.run(act)
    assert pre in seen


async def test_no_update_is_triggered_when_no_addon_listens(cors, monkeypatch):
    """A bare mitmdump has no `update` hook anywhere: walking the chain for nothing is skipped."""
    from mitmproxy import hooks

    triggered = []
    real = cors.tctx.master.addons.trigger
    monkeypatch.setattr(cors.tctx.master.addons, "trigger",
                        lambda ev: triggered.append(ev) if isinstance(ev, hooks.UpdateHook) else real(ev))
    pre, act = put_pair(URL)
    await cors.run(pre)
    await cors.run(act)
    assert pre.metadata["cors"]["paired_flow_id"] == act.id  # re-annotated all the same
    assert triggered == []


async def test_blocked_preflight_comment_and_marker(cors):
    pre = preflight(URL, "PUT", "x-foo", status=204, resp_headers=[("Access-Control-Allow-Origin", PAGE),
                                                                   ("Access-Control-Allow-Methods", "PUT")])
    meta = await cors.run(pre)
    assert meta["kind"] == "preflight"
    assert (meta["reason"], meta["failed_parameter"]) == ("HeaderDisallowedByPreflightResponse", "x-foo")
    assert pre.marked == ":heavy_multiplication_x:"
    assert "x-foo" in pre.comment
