"""engine/local_network_access.py: address spaces as Chromium names them, and the warning when a page
calls a more private address than its own (which an explicit proxy hides from Chromium)."""

import pytest

from mitmproxy_cors.engine.local_network_access import address_space, host_space
from mitmproxy_cors.engine.model import Exchange, Headers, RequestSnapshot, ResponseSnapshot
from mitmproxy_cors.engine.tracker import Tracker


@pytest.mark.parametrize("ip, space", [
    ("127.0.0.1", "loopback"), ("127.8.9.1", "loopback"), ("::1", "loopback"), ("[::1]", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("10.1.2.3", "local"), ("172.16.0.1", "local"), ("172.31.255.255", "local"), ("192.168.1.1", "local"),
    ("169.254.1.1", "local"), ("100.64.0.1", "local"), ("fd00::1", "local"), ("fe80::1%eth0", "local"),
    ("::ffff:192.168.0.1", "local"),
    ("172.32.0.1", "public"), ("8.8.8.8", "public"), ("2606:4700::1111", "public"),
    ("not an ip", None), ("", None),
])
def test_address_spaces(ip, space):
    assert address_space(ip) == space


@pytest.mark.parametrize("host, space", [
    ("localhost", "loopback"), ("api.localhost", "loopback"), ("127.0.0.1", "loopback"), ("[::1]", "loopback"),
    ("192.168.0.10", "local"), ("example.com", None), ("1.2.3.4", "public"),
])
def test_what_a_host_shows_by_itself(host, space):
    assert host_space(host) == space


class Session:
    def __init__(self):
        self.t = Tracker()
        self.n = 0

    def flow(self, url, req, server_ip=None, resp=(("Access-Control-Allow-Origin", "*"),)):
        self.n += 1
        ex = Exchange(f"f{self.n}", RequestSnapshot("GET", url, Headers(list(req)), self.n, "c"),
                      ResponseSnapshot(200, Headers(list(resp)), self.n),
                      extra={"server_ip": server_ip} if server_ip else {})
        return self.t.observe(ex).verdict

    def document(self, url, server_ip):
        return self.flow(url, [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")], server_ip, ())

    def fetch(self, url, page, server_ip=None):
        return self.flow(url, [("Origin", page), ("Sec-Fetch-Mode", "cors"), ("Referer", page + "/")], server_ip)


def _lna(v):
    return [w for w in v.warnings if w.startswith("Local Network Access")]


@pytest.mark.parametrize("page_ip, target_ip, warned", [
    ("93.184.216.34", "127.0.0.1", True), ("93.184.216.34", "192.168.1.20", True), ("192.168.1.5", "127.0.0.1", True),
    ("192.168.1.5", "10.0.0.7", False), ("127.0.0.1", "192.168.1.20", False), ("127.0.0.1", "127.0.0.1", False),
    ("93.184.216.34", "8.8.8.8", False),
])
def test_a_target_more_private_than_the_page_is_warned(page_ip, target_ip, warned):
    s = Session()
    assert not _lna(s.document("https://app.example.com/", page_ip))  # a top-level navigation: not checked
    v = s.fetch("http://api.internal.test/x", "https://app.example.com", target_ip)
    assert v.verdict == "allowed"
    assert bool(_lna(v)) is warned
    if warned:
        assert "LocalNetworkAccessPermissionDenied" in _lna(v)[0] and "targetAddressSpace" in _lna(v)[0]


def test_without_addresses_ip_literal_and_localhost_hosts_speak():
    s = Session()
    assert _lna(s.fetch("http://localhost:3000/x", "http://93.184.216.34"))
    assert not _lna(s.fetch("http://127.0.0.1:3000/x", "http://localhost:8080"))


def test_an_unknown_page_is_said_not_guessed():
    s = Session()
    v = s.fetch("http://api.test/x", "https://app.example.com", "192.168.1.20")
    assert not _lna(v) and any("address space is unknown" in n for n in v.notes)


def test_no_cors_loads_are_warned_too():
    s = Session()
    s.document("https://app.example.com/", "93.184.216.34")
    v = s.flow("http://router.test/logo.gif", [("Sec-Fetch-Mode", "no-cors"), ("Referer", "https://app.example.com/")],
               "192.168.0.1", ())
    assert v.kind == "no-cors" and _lna(v) and v.summary().startswith("CORS n/a: no-cors; warning: Local Network Access")
