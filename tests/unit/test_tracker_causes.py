"""The real cause behind a CORS error: server error pages, 404/405 on OPTIONS, the proxy's own 502.

References: Chromium checks a preflight's origin before its status (`CheckPreflightAccess` in
services/network/cors/preflight_controller.cc), and network failures surface as `net::ERR_*`, not as CORS
errors; the reasons MissingAllowOriginHeader, PreflightInvalidStatus and
PreflightMissingAllowOriginHeader in docs/reasons.md; a refused upstream connection becomes mitmproxy's
own 502 without CORS headers, which Chromium reports as MissingAllowOriginHeader (tests/e2e/README.md,
"What the proxy changes"; docs/proxy-limits.md, "What the proxy itself changes").
"""

import pytest

from .wire import API, PAGE, Wire, acam, acao, cors_request, preflight_request, request, response

URL = API + "/api"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_page_without_acao_names_the_status(status):
    v = Wire().fetch("GET", URL, (), [], status=status).verdict
    assert v.reason == "MissingAllowOriginHeader"
    assert v.cause and str(status) in v.cause
    assert str(status) in v.message


def test_404_without_acao_names_the_404():
    v = Wire().fetch("GET", URL, (), [], status=404).verdict
    assert v.reason == "MissingAllowOriginHeader"
    assert v.cause and "404" in v.cause


def test_error_status_with_acao_is_readable_by_the_page():
    # The CORS check looks at ACAO/ACAC only: a 500 carrying ACAO is not a CORS failure.
    v = Wire().fetch("GET", URL, (), [acao(PAGE)], status=500).verdict
    assert v.verdict == "allowed"
    assert v.cause is None


def test_mismatch_has_no_server_cause():
    v = Wire().fetch("GET", URL, (), [acao("http://other.test")], status=500).verdict
    assert v.reason == "AllowOriginMismatch"
    assert v.cause is None


def test_preflight_404_without_acao_is_missing_allow_origin_with_the_404_as_cause():
    # Chromium reported a 404 preflight without ACAO as PreflightMissingAllowOriginHeader (e2e case
    # `pf-404-no-acao`).
    v = Wire().preflight(URL, "PUT", None, status=404).verdict
    assert v.reason == "PreflightMissingAllowOriginHeader"
    assert v.cause and "404" in v.cause


def test_preflight_404_with_acao_is_invalid_status_with_the_404_as_cause():
    # Chromium reported a 404 preflight with ACAO as PreflightInvalidStatus (e2e case `pf-404-acao`).
    v = Wire().preflight(URL, "PUT", None, acao(PAGE), acam("PUT"), status=404).verdict
    assert (v.reason, v.failed_parameter) == ("PreflightInvalidStatus", "")
    assert v.cause and "404" in v.cause
    assert v.firefox_reason == "CORSPreflightDidNotSucceed"


@pytest.mark.parametrize("status", [405, 501])
def test_preflight_unrouted_options_names_the_status(status):
    v = Wire().preflight(URL, "PUT", None, status=status).verdict
    assert v.reason == "PreflightMissingAllowOriginHeader"
    assert v.cause and str(status) in v.cause and "OPTIONS" in v.cause


@pytest.mark.parametrize("status", [401, 403])
def test_preflight_rejected_by_an_auth_layer_names_the_status(status):
    v = Wire().preflight(URL, "PUT", None, acao(PAGE), acam("PUT"), status=status).verdict
    assert v.reason == "PreflightInvalidStatus"
    assert v.cause and str(status) in v.cause


def test_preflight_server_error_names_the_status():
    v = Wire().preflight(URL, "PUT", None, status=500).verdict
    assert v.reason == "PreflightMissingAllowOriginHeader"
    assert v.cause and "500" in v.cause


# -- the proxy's own 502 (error hook) --------------------------------------------------------------


def test_unreachable_server_is_missing_allow_origin_with_the_proxy_502_as_cause():
    w = Wire()
    d = w.observe(cors_request("GET", URL), error="[Errno 111] Connect call failed ('10.0.0.9', 8002)",
                  proxy_answered_error=True)
    v = d.verdict
    assert v.verdict == "blocked"
    assert (v.reason, v.failed_parameter) == ("MissingAllowOriginHeader", "")
    assert v.cause and "502" in v.cause and "proxy" in v.cause
    assert "Connect call failed" in v.cause


def test_the_proxys_502_advises_the_connection_not_a_header():
    """The server was never reached: no Access-Control-Allow-Origin on it would change anything."""
    v = Wire().observe(cors_request("GET", URL), error="[Errno 111] Connect call failed",
                       proxy_answered_error=True).verdict
    assert v.fix == ()
    assert "no CORS header can fix this" in v.cause and "Access-Control-Allow-Origin:" not in v.summary()


@pytest.mark.parametrize("error", ["Certificate verify failed: self-signed certificate",
                                   "Certificate verify failed: unable to get local issuer certificate"])
def test_an_untrusted_dev_certificate_names_the_proxy_setting(error):
    """A local HTTPS server with a self-signed or mkcert certificate: mitmproxy refuses it and
    answers 502 itself; the fix is mitmproxy's --ssl-insecure (or trusting the dev CA)."""
    for req in (cors_request("GET", URL), preflight_request(URL, "PUT")):
        v = Wire().observe(req, error=error, proxy_answered_error=True).verdict
        assert v.reason in ("MissingAllowOriginHeader", "PreflightMissingAllowOriginHeader")  # as Chromium says
        assert v.fix == ()
        assert "--ssl-insecure" in v.cause and "ssl_verify_upstream_trusted_ca" in v.cause
        assert "--ssl-insecure" in v.summary()


def test_unreachable_server_on_a_preflight_is_preflight_missing_allow_origin():
    w = Wire()
    v = w.observe(preflight_request(URL, "PUT"), error="[Errno 111] Connect call failed",
                  proxy_answered_error=True).verdict
    assert v.reason == "PreflightMissingAllowOriginHeader"
    assert v.cause and "502" in v.cause


def test_unreachable_server_on_a_navigation_is_not_a_cors_error():
    w = Wire()
    v = w.observe(request("GET", URL, ("Accept", "text/html")), error="Connect call failed",
                  proxy_answered_error=True).verdict
    assert v.reason is None
    assert v.verdict == "allowed"


def test_request_the_client_abandoned_is_not_called_a_cors_block():
    # In Chromium network failures surface as net::ERR_* without a corsErrorStatus; a request with no
    # response at all (client gone, connection killed) has no CORS verdict to report.
    w = Wire()
    v = w.observe(cors_request("GET", URL), error="Client disconnected.").verdict
    assert v.reason is None
    assert not v.summary().startswith("CORS blocked")


def test_a_cross_origin_font_is_never_credentialed_so_a_wildcard_is_no_warning():
    """CSS Fonts fetch with credentials 'same-origin': Access-Control-Allow-Origin: * on a font is
    fine for every page, not 'blocked if the page sends credentials'."""
    font = request("GET", URL, ("Origin", PAGE), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "font"))
    v = Wire().observe(font, response(200, acao("*"))).verdict
    assert (v.verdict, v.kind, v.conditional) == ("allowed", "simple", None)
    assert v.credentials == "omit" and "same-origin" in v.credentials_source
    fetch = cors_request("GET", URL)
    assert Wire().observe(fetch, response(200, acao("*"))).verdict.conditional is not None
