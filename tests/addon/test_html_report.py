"""The sequence of a CORS story (text in cors.explain, a picture in the HTML report) and `cors_html`:
the page's content, escaping, no secrets, bounded memory, the option's checks, the worker's finish."""

from __future__ import annotations

import asyncio
import html.parser
import io
import re

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from mitmproxy_cors.engine.reasons import REASONS
from mitmproxy_cors.mitm import explain
from mitmproxy_cors.mitm.analysis import Analysis
from mitmproxy_cors.mitm.gate import CorsGate, finish_session
from mitmproxy_cors.mitm.html_command import CorsHtmlCommand
from mitmproxy_cors.mitm.html_report import html_report
from mitmproxy_cors.mitm.offload import AnalysisWorker, worker_command
from mitmproxy_cors.mitm.observer import CorsObserver
from mitmproxy_cors.mitm.sequence import sequence_of, text_lines
from mitmproxy_cors.mitm.snapshot import record_of
from mitmproxy_cors.mitm.stories import Stories
from mitmproxy_cors.mitm.worker import WorkerAnalysis, read_frames

from .flows import API, PAGE, cors_get, make_flow, preflight, put_pair

SECRETS = ("sid=SECRET-COOKIE", "Bearer SECRET-TOKEN", "session=SECRET-SET-COOKIE")
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def session_flows() -> list:
    """A failed preflight, an actual request blocked after a good preflight, a request carrying
    secrets answered with a hostile Access-Control-Allow-Origin, the login case, and an unreachable
    server."""
    failed = preflight(API + "/items/1", "DELETE", "x-token", status=204,
                       resp_headers=[("Access-Control-Allow-Origin", PAGE)], t=2000.0)
    pre, act = put_pair(API + "/items/2")
    act.response.headers.pop("Access-Control-Allow-Origin")
    secret = cors_get(API + "/me", ("Cookie", SECRETS[0]), ("Authorization", SECRETS[1]), status=200,
                      resp_headers=[("Access-Control-Allow-Origin", HOSTILE), ("Set-Cookie", SECRETS[2])], t=3000.0)
    login = cors_get(API + "/public", status=200, resp_headers=[("Access-Control-Allow-Origin", "*"),
                                                               ("Access-Control-Allow-Credentials", "true")], t=3500.0)
    down = cors_get("http://b.test:9/api", error="[Errno 111] Connection refused", t=4000.0)
    return [failed, pre, act, secret, login, down]


def analysed(flows, analysis: Analysis | None = None) -> Analysis:
    analysis = analysis or Analysis()
    for f in flows:
        analysis.handle(record_of(f, None))
    return analysis


class Page(html.parser.HTMLParser):
    """Tags with their attributes, and the text, of an HTML page (strict enough to catch a stray tag)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def having(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]


# -- the sequence ---------------------------------------------------------------------------------------


def test_a_failed_preflight_breaks_at_the_preflight_and_the_actual_request_is_never_sent():
    a = analysed([session_flows()[0]])
    [story] = a.stories.stories.values()
    seq = sequence_of(story.line, story.paired, story.asked_method)
    assert [(h.role, h.state, h.sent) for h in seq.hops] == [("preflight", "fail", True), ("actual", "skip", False)]
    assert seq.broken == 0 and seq.hops[1].method == "DELETE"
    lines = [t for _, t in text_lines(seq)]
    assert "✗ MethodDisallowedByPreflightResponse" in lines[1] and lines[1].startswith(" ▸1 preflight")
    assert "never sent" in lines[2]
    assert lines[-1].startswith("  ✗ breaks at 1")


def test_the_paired_preflight_shows_which_hop_of_the_pair_broke():
    a = analysed(session_flows()[1:3])
    [story] = a.stories.stories.values()
    assert story.line["kind"] == "actual" and story.paired["kind"] == "preflight"
    seq = sequence_of(story.line, story.paired)
    assert [(h.role, h.state, h.status, h.this) for h in seq.hops] == [
        ("preflight", "pass", 204, False), ("actual", "fail", 200, True)]
    assert seq.broken == 1 and "MissingAllowOriginHeader" in seq.hops[1].outcome


def test_the_login_case_and_an_unreachable_server():
    a = analysed(session_flows()[4:])
    login = a.stories.story_of("conditional", (PAGE, API, "WildcardOriginNotAllowed"))
    seq = sequence_of(login.line)
    assert seq.hops[0].state == "cond" and "only if the page sends credentials" in seq.ending
    [down] = [s for s in a.stories.stories.values() if s.which == "blocked"]
    seq = sequence_of(down.line)
    assert seq.hops[0].status is None and "no response reached the browser" in seq.ending
    assert "none" in text_lines(seq)[1][1]


@pytest.mark.parametrize("ascii", [False, True])
def test_the_text_fits_80_columns_for_every_reason(ascii):
    for reason in REASONS:
        for kind, paired in (("preflight", None), ("actual", {"kind": "preflight", "verdict": "allowed",
                                                              "method": "OPTIONS", "status": 204, "url": API})):
            line = {"kind": kind, "verdict": "blocked", "reason": reason, "method": "OPTIONS" if kind == "preflight"
                    else "DELETE", "url": API + "/x", "origin": PAGE, "status": 204}
            for _, text in text_lines(sequence_of(line, paired, "DELETE"), ascii=ascii):
                assert len(text) <= 80, text
                assert not ascii or text.isascii(), text


async def test_cors_explain_draws_the_sequence_with_the_paired_flow():
    observer = CorsObserver()
    with taddons.context(observer) as tctx:
        tctx.configure(observer)
        pre, act = session_flows()[1:3]
        for f in (pre, act):
            await tctx.cycle(observer, f)
        for f, mine in ((pre, 1), (act, 2)):
            text = explain.text(f, observer.flows.get, line=observer.flows.line_of(f))
            seq = text.split("Sequence (▸ this flow)\n", 1)[1].split("\n\n", 1)[0].splitlines()
            assert seq[0] == f"  page {PAGE}  ─▶  server {API}"
            assert seq[1].startswith(" ▸1" if mine == 1 else "  1") and "✓ allowed" in seq[1]
            assert seq[2].startswith(" ▸2" if mine == 2 else "  2") and "✗ MissingAllowOriginHeader" in seq[2]
            assert seq[3].startswith("  ✗ breaks at 2")


def test_flows_cors_does_not_govern_have_no_sequence():
    assert sequence_of({"kind": "same-origin", "verdict": "allowed"}) is None


# -- the page ----------------------------------------------------------------------------------------


def test_the_page_has_the_summary_a_story_per_group_the_checks_and_the_merged_fix():
    text = html_report(analysed(session_flows()).ledger, analysed(session_flows()).stories)
    page = Page(text)
    stories = page.having("article")
    assert sorted((s["data-which"], s["data-reason"]) for s in stories) == [
        ("blocked", "MethodDisallowedByPreflightResponse"),
        ("blocked", "MissingAllowOriginHeader"), ("blocked", "MissingAllowOriginHeader"), ("blocked", "MultipleAllowOriginValues"),
        ("conditional", "WildcardOriginNotAllowed")]
    # every story is linked from the summary table, and draws exactly one broken hop
    assert {a["href"] for a in page.having("a")} == {"#" + s["id"] for s in stories}
    for chunk in text.split("<article")[1:]:
        assert chunk.count('class="hop broken"') == 1
        assert "<h4>What Chromium's console says</h4>" in chunk and 'class="checks"' in chunk
    assert [d["data-framework"] for d in page.having("details")] == [
        "express", "flask", "starlette", "django", "spring", "aspnet", "go", "nginx"]
    assert "methods: DELETE, PUT" in text or "methods: GET, PUT, DELETE" in text
    assert "Not fixable by server CORS configuration" in text and "http://b.test:9/api" in text
    # self-contained: no script, nothing fetched
    assert not page.having("script") and not page.having("link") and "src=" not in text.replace("src=x", "")
    assert "default-src &#x27;none&#x27;" in text or "default-src 'none'" in text


def test_hostile_header_values_are_escaped_and_secret_values_never_appear():
    text = html_report(*(lambda a: (a.ledger, a.stories))(analysed(session_flows())))
    assert HOSTILE not in text and "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    for secret in SECRETS:
        assert secret.split("=")[-1].split(" ")[-1] not in text


def test_a_session_without_cors_says_so_and_one_without_failures_has_nothing_to_fix():
    empty = html_report(Analysis().ledger, Stories())
    assert "no CORS flows seen" in empty and "<article" not in empty
    ok = analysed([cors_get(status=200, resp_headers=[("Access-Control-Allow-Origin", PAGE)])])
    text = html_report(ok.ledger, ok.stories)
    assert "Nothing blocked." in text and "Nothing to change on the server." in text


def test_memory_is_bounded_per_group_and_in_groups():
    a = Analysis()
    a.stories = Stories(max_stories=3, max_requirements=4, recent=2)
    flows = []
    for i in range(40):  # 10 groups (targets) of 4 flows, each flow with a method of its own
        flows.append(make_flow(f"X-M{i}", f"http://h{i % 10}.test/p{i}", [("Origin", PAGE)], status=204,
                               t=1000.0 + i))
        flows.append(preflight(f"http://h{i % 10}.test/q{i}", "PUT", status=204, t=1000.5 + i,
                               resp_headers=[("Access-Control-Allow-Origin", PAGE),
                                             ("Access-Control-Allow-Methods", "PUT")]))
    analysed(flows, a)
    assert len(a.ledger.groups()) == 10
    assert len(a.stories.stories) == 3 and len(a.stories.requirements) == 4
    assert a.stories.requirements_dropped > 0 and len(a.stories._recent) == 2
    text = html_report(a.ledger, a.stories)
    assert text.count("<article") == 3 and "7 more group(s) have no story here" in text
    assert "beyond the first 4 are not merged" in text
    a.clear()
    assert not a.stories.stories and not a.stories.requirements


# -- the option, the command, the finish ------------------------------------------------------------------


async def test_bad_values_raise_one_line_and_keep_the_previous_path(tmp_path):
    gate = CorsGate(Analysis())
    with taddons.context(gate) as tctx:
        good = tmp_path / "report.html"
        tctx.configure(gate, cors_html=str(good))
        assert gate.html == str(good)
        for bad, says in ((str(tmp_path / "no" / "such" / "r.html"), "no such directory"),
                          (str(tmp_path), "it is a directory")):
            with pytest.raises(exceptions.OptionsError, match=f"cors_html: cannot write .*{says}"):
                tctx.configure(gate, cors_html=bad)
            assert gate.html == str(good)
        tctx.configure(gate, cors_html="")
        assert gate.html == ""


def test_the_session_end_writes_the_page_in_the_proxy_and_in_the_worker(tmp_path):
    path = tmp_path / "proxy.html"
    a = analysed(session_flows())
    assert not finish_session(a, "", "off", str(path))
    assert path.read_text().count("<article") == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cors-")]  # no temporary file left

    worker = WorkerAnalysis()
    for f in session_flows():
        worker.handle(("flow", record_of(f, None)))
    out = tmp_path / "worker.html"
    assert worker.handle(("finish", {"summary": False, "html": str(out), "fail_on": "blocked"})) is False
    assert worker.exit_status != 0 and out.read_text().count("<article") == 5


async def test_cors_html_writes_the_page_now_in_the_proxy(tmp_path):
    command = CorsHtmlCommand(analysed(session_flows()))
    with taddons.context(command) as tctx:
        out = tmp_path / "now.html"
        said = tctx.master.commands.execute(f"cors.html {out}")
        assert said.startswith(f"cors.html: wrote {out}: 4 blocked") and out.read_text().count("<article") == 5
        with pytest.raises(exceptions.CommandError, match="no such directory"):
            command.html(str(tmp_path / "missing" / "x.html"))


class _Observer:
    def __init__(self, worker) -> None:
        self.worker = worker


async def test_cors_html_asks_the_worker_that_holds_the_session(tmp_path):
    worker = AnalysisWorker(asyncio.get_running_loop(), worker_command())
    try:
        for f in session_flows():
            worker.send(("flow", record_of(f, None)))
        command = CorsHtmlCommand(Analysis(), _Observer(worker))  # the proxy's own ledger is empty
        out = tmp_path / "from-worker.html"
        assert command.html(str(out)).startswith(f"cors.html: wrote {out}: 4 blocked")
        assert out.read_text().count("<article") == 5
    finally:
        worker.close({"summary": False})


def test_the_worker_answers_a_failed_write_with_the_reason(tmp_path):
    reply = io.BytesIO()
    worker = WorkerAnalysis(reply=reply)
    worker.handle(("html", str(tmp_path / "gone" / "x.html")))  # the folder went after the proxy checked it
    [frame] = list(read_frames(io.BytesIO(reply.getvalue())))
    assert frame[0] == "error" and frame[1].startswith("cors.html: cannot write")


def test_the_merged_fix_names_every_method_the_blocked_flows_use():
    text = html_report(*(lambda a: (a.ledger, a.stories))(analysed(session_flows())))
    needs = re.search(r'<ul class="needs">(.*?)</ul>', text).group(1)
    for method in ("DELETE", "PUT", "GET"):
        assert method in needs
