"""The demo's scenarios: the CORS failures people meet most, and some that pass.

Each scenario is one request made by a page on the page origin to the API origin, whose CORS
headers are set per request by query parameters (see servers.py). `js` is an async function
`(u) => ...` that gets the scenario's URL as `u.url` (and `u.api2` for the second API origin).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .servers import api_url


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    js: str
    params: dict = field(default_factory=dict)
    credentials: bool = False  # the page sets a cookie first, so the request carries it


SCENARIOS = [
    Scenario("public-ok", "Public API with Access-Control-Allow-Origin: *",
             "async (u) => __fetch(u.url)", {"acao": "*"}),
    Scenario("no-acao", "API sends no CORS headers at all",
             "async (u) => __fetch(u.url)", {}),
    Scenario("wrong-origin", "API allows another origin (a dev server's)",
             "async (u) => __fetch(u.url)", {"acao": "http://localhost:3000"}),
    Scenario("star-with-credentials", "Wildcard origin on a request with cookies",
             "async (u) => __fetch(u.url, {credentials: 'include'})",
             {"acao": "*", "acac": "true"}, credentials=True),
    Scenario("credentials-ok", "Credentialed request, origin echoed with Allow-Credentials",
             "async (u) => __fetch(u.url, {credentials: 'include'})",
             {"acao": "echo", "acac": "true", "h": "Vary: Origin"}, credentials=True),
    Scenario("preflight-auth-404", "PUT whose preflight is rejected by an auth layer (404)",
             "async (u) => __fetch(u.url, {method: 'PUT', headers: {'Authorization': 'Bearer t'}})",
             {"p_status": "404", "acao": "echo"}),
    Scenario("missing-allow-headers", "JSON POST with an API key the preflight does not allow",
             "async (u) => __fetch(u.url, {method: 'POST', headers: {'Content-Type': 'application/json', "
             "'X-Api-Key': 'k'}, body: '{}'})",
             {"acao": "echo", "p_acam": "POST", "p_acah": "content-type"}),
    Scenario("missing-allow-methods", "DELETE not listed in Access-Control-Allow-Methods",
             "async (u) => __fetch(u.url, {method: 'DELETE'})",
             {"acao": "echo", "p_acam": "GET, POST"}),
    Scenario("preflight-ok", "PUT with JSON and a full preflight answer",
             "async (u) => __fetch(u.url, {method: 'PUT', headers: {'Content-Type': 'application/json'}, body: '{}'})",
             {"acao": "echo", "p_acam": "PUT", "p_acah": "content-type", "p_maxage": "600"}),
    Scenario("redirect-no-acao", "Old endpoint redirects, the redirect has no CORS headers",
             "async (u) => __fetch(u.url)", {"status": "302", "location": "{api2}"}),
    Scenario("unexposed-header", "Allowed, but the page cannot read X-Total-Count",
             "async (u) => { const r = await fetch(u.url); return {ok: true, status: r.status, "
             "total: r.headers.get('X-Total-Count')}; }",
             {"acao": "*", "h": "X-Total-Count: 42"}),
    Scenario("server-error", "The API crashes: a 500 error page without CORS headers",
             "async (u) => __fetch(u.url)", {"status": "500"}),
]


def scenario_url(s: Scenario, api: str, api2: str) -> str:
    params = dict(s.params)
    if params.get("location") == "{api2}":
        params["location"] = api_url(api2, f"/c/{s.id}/moved", {})
    return api_url(api, f"/c/{s.id}/", params)
