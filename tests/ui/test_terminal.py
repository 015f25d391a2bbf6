"""mitmdump's terminal: the rich line per verdict, the summary table, the options that quiet them."""

from __future__ import annotations

import io

import pytest
from .conftest import API, PAGE, cors_get, preflight
from mitmproxy import exceptions
from rich.console import Console

from mitmproxy_cors.mitm.terminal import summary_table, verdict_line

FINE = {"Access-Control-Allow-Origin": PAGE, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
# "*" from a server that says Allow-Credentials: true: fine as sent, blocked if the page sends credentials.
STAR_CREDS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}


def terminal(stack, color: bool = True) -> io.StringIO:
    buf = io.StringIO()
    stack.terminal.activate(Console(file=buf, force_terminal=color, color_system="standard" if color else None,
                                    width=300, highlight=False, soft_wrap=True, emoji=False))
    return buf


async def test_blocked_line_has_colour_reason_and_fix(stack):
    buf = terminal(stack)
    stack.feed(cors_get("/x", resp={"Access-Control-Allow-Origin": "http://evil.test"}))
    out = buf.getvalue()
    assert out.count("\n") == 1
    assert "\x1b[1;37;41mCORS BLOCKED\x1b[0m" in out  # bold white on red
    assert f"GET {API}/x" in out and f"from {PAGE}" in out
    assert "\x1b[1;31mAllowOriginMismatch\x1b[0m" in out
    assert f"set Access-Control-Allow-Origin: {PAGE}" in out


async def test_plain_text_when_not_a_terminal(stack):
    buf = terminal(stack, color=False)
    stack.feed(preflight("/p", "PUT", resp={}))
    out = buf.getvalue()
    assert "\x1b[" not in out
    assert (f"CORS BLOCKED OPTIONS {API}/p from {PAGE} (preflight)  PreflightMissingAllowOriginHeader  "
            f"fix: on the preflight response: add Access-Control-Allow-Origin: {PAGE}, add Access-Control-Allow-Methods: PUT") in out


async def test_cors_log_decides_which_lines(stack):
    buf = terminal(stack, color=False)
    stack.feed(cors_get("/ok", resp=FINE))
    assert buf.getvalue() == ""  # default cors_log=blocked
    stack.feed(cors_get("/cond0", resp=STAR_CREDS))  # ... and blocked with credentials
    assert "CORS BLOCKED IF CREDENTIALS GET" in buf.getvalue()
    stack.tctx.configure(stack.observer, cors_log="cors")
    stack.feed(cors_get("/ok2", resp=FINE), cors_get("/cond", resp=STAR_CREDS))
    lines = buf.getvalue().splitlines()
    assert "CORS allowed GET" in lines[1]
    assert "CORS BLOCKED IF CREDENTIALS GET" in lines[2] and \
        "blocked with WildcardOriginNotAllowed if the page sends credentials" in lines[2]
    stack.tctx.configure(stack.observer, cors_log="off")
    stack.feed(cors_get("/bad", resp={}))
    assert len(buf.getvalue().splitlines()) == 3


async def test_summary_table_at_done(stack):
    buf = terminal(stack, color=False)
    stack.feed(cors_get("/a", resp={}), cors_get("/b", resp={}), preflight("/c", "PUT", resp={}),
               cors_get("/ok", resp=FINE))
    buf.truncate(0)
    buf.seek(0)
    stack.tctx.master.should_exit.set()  # the proxy is stopping
    stack.terminal.done()
    out = buf.getvalue()
    assert "CORS summary: 3 blocked of 4 CORS flow(s)" in out
    row = next(line for line in out.splitlines() if "MissingAllowOriginHeader" in line and "Preflight" not in line)
    assert "│     2 │ http://app.test │ http://api.test:8000 │ MissingAllowOriginHeader" in row
    assert stack.observer.analysis.print_line.__qualname__ == "log_line"  # handed back (by name: tests/addon reload our modules)


async def test_summary_off_and_nothing_seen(stack):
    buf = terminal(stack, color=False)
    stack.tctx.configure(stack.terminal, cors_summary="off")
    stack.feed(cors_get("/a", resp={}))
    buf.truncate(0)
    buf.seek(0)
    stack.tctx.master.should_exit.set()
    stack.terminal.done()
    assert buf.getvalue() == ""
    assert summary_table(stack.ledger.__class__()).plain == "CORS summary: no cross-origin requests seen."


async def test_no_table_on_a_hot_reload(stack):
    """mitmproxy calls done() when the script is reloaded too; the table waits for the real end."""
    buf = terminal(stack, color=False)
    stack.feed(cors_get("/a", resp={}))
    buf.truncate(0)
    buf.seek(0)
    stack.terminal.done()
    assert buf.getvalue() == ""
    assert stack.observer.analysis.print_line.__qualname__ == "log_line"


async def test_bad_option_values_give_one_clear_error(stack):
    with pytest.raises(exceptions.OptionsError, match=r"^cors_summary must be one of on, off, not 'maybe'$"):
        stack.tctx.configure(stack.terminal, cors_summary="maybe")
    with pytest.raises(exceptions.OptionsError, match=r"^cors_log must be one of blocked, cors, off, not 'loud'$"):
        stack.tctx.configure(stack.observer, cors_log="loud")
    assert stack.tctx.options.cors_summary == "on"  # rolled back
    with pytest.raises(exceptions.OptionsError):  # exactly the declared choices
        stack.tctx.configure(stack.terminal, cors_summary="OFF")


async def test_verdict_line_for_a_server_error_names_the_cause(stack):
    from mitmproxy_cors.engine.tracker import Tracker
    from mitmproxy_cors.mitm.snapshot import exchange_of

    v = Tracker().observe(exchange_of(cors_get("/err", resp={}, status=500))).verdict
    line = verdict_line(v).plain
    assert "MissingAllowOriginHeader" in line
    assert "[the server answered 500" in line


async def test_flows_allowed_only_without_credentials_are_grouped_after_folding(stack):
    """The ledger folds old flows into counts; the groups of flows that fail only with credentials
    (cors_junit, cors_fail_on=conditional) survive that like the blocked groups do."""
    from mitmproxy_cors.mitm.junit import junit_xml
    from mitmproxy_cors.mitm.ledger import Ledger

    ledger = Ledger(capacity=2)
    stack.observer.analysis.ledger = ledger
    star = STAR_CREDS
    stack.feed(*[cors_get(f"/star{i}", resp=star) for i in range(5)], cors_get("/none", resp={}))
    [g] = ledger.groups("conditional")
    assert (g.count, g.reason, g.target) == (5, "WildcardOriginNotAllowed", API)
    assert [x.reason for x in ledger.groups()] == ["MissingAllowOriginHeader"]
    assert ledger.counts()["conditional"] == 5
    xml = junit_xml(ledger, "conditional").decode()
    assert 'failures="2"' in xml and "(5 flow(s))" in xml
    assert 'failures="1"' in junit_xml(ledger, "blocked").decode()


async def test_the_login_case_is_listed_by_the_summary_and_cors_report(stack):
    """Allowed only because no cookie went with the request: listed after the blocked groups, worded
    as the block it becomes."""
    from mitmproxy_cors.mitm.ledger import report_lines

    stack.feed(cors_get("/none", resp={}), cors_get("/star", resp=STAR_CREDS))
    table = Console(width=300, record=True)
    table.print(summary_table(stack.ledger))
    text = table.export_text()
    assert "CORS summary: 1 blocked of 2 CORS flow(s), 1 blocked if the page sends credentials" in text
    assert "WildcardOriginNotAllowed if the page sends credentials" in text
    lines = report_lines(stack.ledger)
    assert lines[0] == "cors.report: 1 blocked of 2 CORS flow(s), 1 blocked if the page sends credentials, in 2 group(s):"
    assert any(x.endswith(f"{PAGE} -> {API}  WildcardOriginNotAllowed if the page sends credentials") for x in lines)
