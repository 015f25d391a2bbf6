"""The Firefox driver on its own (tests/e2e/firefox_driver.py): values both ways, a page that throws,
console entries, the proxy settings in the fresh profile, and nothing left running after stop()."""

from __future__ import annotations

import os

import pytest

from e2e_harness import DemoServers, MitmDump
from firefox_driver import BiDiError, FirefoxBrowser, check_firefox_available, live_group_members

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def page_and_firefox(tmp_path_factory):
    check_firefox_available()  # an error, never a skip
    with DemoServers() as servers:
        mitmdump = MitmDump(tmp_path_factory.mktemp("ff-driver"), with_addon=False).start()
        try:
            with FirefoxBrowser(mitmdump.port) as ff:
                ff.goto(servers.page.origin() + "/")
                yield servers, ff
        finally:
            mitmdump.stop()


def test_values_go_both_ways(page_and_firefox):
    _, ff = page_and_firefox
    args = ["s", 3, 2.5, True, None, [1, "a", [2]], {"k": {"n": [None, False]}}]
    assert ff.run("(...a) => a", *args) == args
    assert ff.run("async (x) => { await new Promise(r => setTimeout(r, 10)); return x * 2; }", 21) == 42
    assert ff.run("() => undefined") is None
    assert ff.evaluate("location.origin").startswith("http://127.0.0.1:")


def test_a_page_that_throws_raises(page_and_firefox):
    _, ff = page_and_firefox
    with pytest.raises(BiDiError, match="boom"):
        ff.run("() => { throw new Error('boom'); }")
    with pytest.raises(BiDiError, match="nope"):
        ff.run("async () => Promise.reject(new Error('nope'))")


def test_console_errors_and_logs_are_collected(page_and_firefox):
    _, ff = page_and_firefox
    ff.run("() => { console.error('driver-test error'); console.log('driver-test log'); }")
    err = ff.wait_for_console(lambda e: "driver-test error" in e.text)
    assert err.level == "error" and err in ff.console_errors()
    log = ff.wait_for_console(lambda e: "driver-test log" in e.text)
    assert log not in ff.console_errors()
    ff.clear_console()
    assert ff.console_entries() == []


def test_requests_go_through_the_proxy_and_firefox_sends_nothing_else(page_and_firefox):
    servers, ff = page_and_firefox
    status = ff.run("async (u) => (await fetch(u)).status", servers.page.origin() + "/c/driver/x")
    assert status == 200
    seen = [e.path for e in servers.exchanges()]
    assert "/c/driver/x" in seen
    assert all(p == "/" or p.startswith(("/c/", "/favicon.ico")) for p in seen), seen


def test_stop_leaves_nothing_running():
    check_firefox_available()
    ff = FirefoxBrowser(None).start()
    pid, profile = ff._proc.pid, ff._dir
    assert ff.running and ff.version
    ff.stop()
    assert not ff.running
    assert not os.path.exists(profile)
    assert live_group_members(pid) == []  # nothing of the process group Firefox led still runs
