"""The audit in mitmproxy: options `cors_audit` and `cors_audit_scope`, the active probe, `cors.audit`.

* `passive` (the default): the pipeline's passive audit (audit/passive.py) looks at every flow, with
  no extra request; its findings reach the flows, the log, the summary and the report.
* `active`: also, for each endpoint in `cors_audit_scope` (a flow filter, required), when its first
  flow completes, the crafted origins of audit/crafted_origins.py are sent to the server
  (audit/active.py says which requests, and never repeats a request that may change data). The
  requests go straight to the server from this process, one at a time and at most RATE per second,
  for at most MAX_ENDPOINTS endpoints; they are not flows, so they are never counted as the user's
  traffic, and they carry `X-Mitmproxy-Cors-Audit: crafted origin` for the server's logs. What they
  prove is judged here and handed to the session's Analysis (in this process, or the analysis
  worker's), which reports it like any finding. When the proxy stops, the probes still to send are
  sent first (at most DONE_WAIT seconds), so that the report holds everything they found.
* `off`: no audit.

`cors.audit FLOWS [framework]` probes the endpoints of the selected flows (an explicit selection is
its own scope) and lists their findings with the evidence and, with a framework, its configuration.
"""

from __future__ import annotations

import asyncio
import http.client as httpclient
import logging
import socket
import ssl
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from urllib.parse import urlsplit

from mitmproxy import command, ctx, exceptions, flowfilter, hooks, http
from mitmproxy import flow as mflow

from ..audit.active import ProbePlan, ProbeResult, judge_probes, plan_probes
from ..audit.finding import SEVERITY_ORDER, Finding
from ..audit.fix import requirement_json
from ..audit.passive import auth_for
from ..engine.session_credentials import SessionCredentials
from ..server.snippets import FRAMEWORKS, framework_name
from .analysis import Analysis
from .annotate import METADATA_KEY, FlowIndex, annotate
from .explain import wrap
from .view import wrap_width
from .options import choice, flow_filter, reported
from .snapshot import exchange_of
from .terminal import stopping

logger = logging.getLogger("mitmproxy_cors.audit")

AUDIT_CHOICES = ("passive", "active", "off")
MAX_ENDPOINTS = 100  # endpoints probed per session
RATE = 5.0  # crafted requests per second, at most
TIMEOUT = 10.0  # seconds per crafted request
DONE_WAIT = 60.0  # seconds the proxy waits at exit for probes under way


def send_probe(url: str, address: tuple[str, int] | None, probe, timeout: float = TIMEOUT,
               verify: bool = True) -> ProbeResult:
    """Send one crafted request straight to the server (no proxy), to `address` (where the proxy
    reached it) or else the URL's host; only the status and headers are read."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        sock = socket.create_connection(address or (host, port), timeout=timeout)
        if parts.scheme == "https":
            context = ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=host)
        conn = httpclient.HTTPConnection(host, port, timeout=timeout)
        conn.sock = sock
        try:
            conn.putrequest(probe.method, path, skip_accept_encoding=True)
            for name, value in probe.headers:
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            return ProbeResult(probe, resp.status, tuple(resp.getheaders()))
        finally:
            conn.close()
    except (OSError, httpclient.HTTPException, ValueError) as e:
        return ProbeResult(probe, None, None, f"{type(e).__name__}: {e}")


def server_address(f: http.HTTPFlow) -> tuple[str, int] | None:
    """Where the proxy reached the server (its resolution, /etc/hosts, a script's redirect), unless
    an upstream proxy stood between."""
    conn = f.server_conn
    if conn is None or getattr(conn, "via", None) is not None:
        return None
    peer = conn.peername
    return (str(peer[0]), int(peer[1])) if peer else None


class CorsAudit:
    name = "cors-audit"

    def __init__(self, analysis: Analysis, flows: FlowIndex, observer) -> None:
        self.analysis = analysis
        self.flows = flows
        self.observer = observer  # its analysis worker, when one runs, holds the session's findings
        self.mode = "passive"
        self.scope: flowfilter.TFilter | None = None
        # Who authenticates how, for the severity of what the probes find (the pipeline's own table
        # may live in the analysis worker).
        self.credentials = SessionCredentials(1024)
        self._probed: OrderedDict[str, None] = OrderedDict()
        self._queue: deque[ProbePlan] = deque()
        self._task: asyncio.Task | None = None
        self._current: tuple[ProbePlan, list] | None = None  # the plan under way and its answers so far
        self.sent = 0
        self.send = send_probe  # tests may replace the transport, never the judging

    def load(self, loader) -> None:
        loader.add_option(
            "cors_audit", str, "passive",
            "Audit the servers' CORS policies: 'passive' (from the traffic, no extra request), 'active' "
            "(also send crafted Origin headers to each endpoint in cors_audit_scope, which it needs) or 'off'.",
            choices=AUDIT_CHOICES,
        )
        loader.add_option(
            "cors_audit_scope", str, "",
            "cors_audit=active: a flow filter naming the endpoints the audit may send crafted requests "
            "to (required), e.g. '~d api.example.com'.",
        )

    def configure(self, updated: set[str]) -> None:
        if not updated & {"cors_audit", "cors_audit_scope"}:
            return
        with reported(updated):
            mode = choice("cors_audit", ctx.options.cors_audit, AUDIT_CHOICES)
            scope = flow_filter("cors_audit_scope", ctx.options.cors_audit_scope.strip())
            if mode == "active" and scope is None:
                raise exceptions.OptionsError(
                    "cors_audit=active sends crafted requests to servers, and only to those in cors_audit_scope: "
                    "set it to a flow filter, e.g. --set cors_audit_scope='~d api.example.com'")
            self.mode, self.scope = mode, scope
            self.analysis.audit_enabled = mode != "off"

    # -- hooks --------------------------------------------------------------------------------

    def response(self, f: http.HTTPFlow) -> None:
        if self.mode != "active":
            return
        try:
            ex = exchange_of(f)
        except Exception:  # the observer reports unreadable flows; the audit skips them
            return
        target = urlsplit(ex.request.url).hostname
        self.credentials.note(ex, target)
        if self.scope is not None and self.scope(f):
            self._enqueue(ex, f)

    def done(self) -> None:
        """Finish the probes still to send, so that the report holds what they find. mitmproxy calls
        `done` synchronously (on a script reload too), so the rest is sent from here, blocking, for
        at most DONE_WAIT seconds, and only when the proxy is stopping."""
        if self._task is None or self._task.done():
            return
        self._task.cancel()
        current, self._current = self._current, None
        if not stopping():
            self._queue.clear()
            return
        logger.warning("cors audit: sending the crafted requests of %d endpoint(s) before exiting (at most %d s)",
                       len(self._queue) + (current is not None), DONE_WAIT)
        verify = not getattr(ctx.options, "ssl_insecure", False)
        deadline = time.monotonic() + DONE_WAIT
        # The endpoint under way goes on where it stopped (the request in flight is sent again: its
        # answer went with the cancelled task), then the queue.
        work = ([current] if current is not None else []) + [(plan, []) for plan in self._queue]
        self._queue.clear()
        for n, (plan, results) in enumerate(work):
            if time.monotonic() >= deadline:
                logger.warning("cors audit: stopped with %d endpoint(s) not probed", len(work) - n)
                break
            for probe in plan.probes[len(results):]:
                time.sleep(1 / RATE)
                results.append(self.send(plan.url, plan.address, probe,
                                         min(TIMEOUT, max(1.0, deadline - time.monotonic())), verify))
                self.sent += 1
            self._judge_safely(plan, results)

    # -- probing ------------------------------------------------------------------------------

    def _enqueue(self, ex, f: http.HTTPFlow) -> ProbePlan | None:
        """Plan and queue the probe of this flow's endpoint, once per session; the plan, or None."""
        plan = plan_probes(ex.request, f.id, server_address(f))
        if plan is None or not plan.probes or plan.endpoint in self._probed:
            return None
        if len(self._probed) >= MAX_ENDPOINTS:
            if len(self._probed) == MAX_ENDPOINTS:
                logger.warning("cors audit: %d endpoints probed, the most per session; no more", MAX_ENDPOINTS)
                self._probed["(limit)"] = None
            return None
        plan = plan._replace(requirement=requirement_json(ex))
        self._probed[plan.endpoint] = None
        self._queue.append(plan)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return plan

    async def _run(self) -> None:
        verify = not getattr(ctx.options, "ssl_insecure", False)
        while self._queue:
            plan = self._queue.popleft()
            results: list[ProbeResult] = []
            self._current = (plan, results)  # done() goes on from here if the proxy stops
            for probe in plan.probes:
                started = time.monotonic()
                results.append(await asyncio.to_thread(self.send, plan.url, plan.address, probe, TIMEOUT, verify))
                self.sent += 1
                await asyncio.sleep(max(0.0, 1 / RATE - (time.monotonic() - started)))
            self._current = None
            self._judge_safely(plan, results)

    def _judge_safely(self, plan: ProbePlan, results: list[ProbeResult]) -> None:
        try:
            self._judged(plan, results)
        except Exception:
            logger.exception("cors audit: could not judge the answers for %s", plan.endpoint)

    def _judged(self, plan: ProbePlan, results: list[ProbeResult]) -> None:
        auth = auth_for(self.credentials, plan.host)
        target = f"{urlsplit(plan.url).scheme}://{urlsplit(plan.url).netloc}"
        legit = (plan.base_origin,) if plan.base_origin != target else ()
        findings, line = judge_probes(plan, results, auth, legit)
        logger.info("cors audit: %s", line)
        worker = self.observer.worker
        if worker is None or not worker.send(("findings", [f.record() for f in findings], line, plan.endpoint)):
            self.analysis.add_findings(findings, line, plan.endpoint)  # no worker (or it died): kept here
        if findings:
            self._annotate(plan.flow_id, findings)

    def _annotate(self, flow_id: str | None, findings: tuple[Finding, ...]) -> None:
        f = self.flows.get(flow_id) if flow_id else None
        line = f.metadata.get(METADATA_KEY) if isinstance(f, http.HTTPFlow) else None
        if not isinstance(line, dict) or "verdict" not in line:
            return
        known = {a["class"]: a for a in line.get("audit") or []}
        for finding in findings:
            known[finding.cls] = finding.digest()
        line = dict(line, audit=sorted(known.values(), key=lambda a: (SEVERITY_ORDER.get(a["severity"], 9),
                                                                       a["kind"] != "vulnerability")))
        annotate(f, line)
        ctx.master.addons.trigger(hooks.UpdateHook([f]))

    def _note_credentials(self, selected: Sequence[mflow.Flow]) -> None:
        """What the flows the View keeps (else the selected ones) show about cookies and Authorization."""
        try:
            kept = ctx.master.commands.call("view.flows.resolve", "@all")
        except Exception:  # mitmdump: no View
            kept = selected
        for f in list(kept)[-10_000:]:
            if isinstance(f, http.HTTPFlow) and f.response is not None:
                try:
                    ex = exchange_of(f)
                except Exception:
                    continue
                self.credentials.note(ex, urlsplit(ex.request.url).hostname)

    # -- command ------------------------------------------------------------------------------

    @command.command("cors.audit")
    def audit(self, flows: Sequence[mflow.Flow], framework: str = "") -> Sequence[str]:
        """Send crafted origins to the endpoints of these flows (each once per session) and list the
        findings on them; with a framework (express, flask, ...), the configuration that fixes them."""
        fw = framework_name(framework) if framework else None
        if framework and fw is None:
            raise exceptions.CommandError(f"cors.audit: unknown framework {framework!r}; one of {', '.join(FRAMEWORKS)}")
        if self.mode != "active":  # the session's cookies were not followed: learn them from the flows kept
            self._note_credentials(flows)
        queued, probes = 0, 0
        for f in flows:
            if not isinstance(f, http.HTTPFlow) or f.response is None:
                continue
            try:
                ex = exchange_of(f)
            except Exception:
                continue
            plan = self._enqueue(ex, f)
            if plan is not None:
                queued += 1
                probes += len(plan.probes)
        out: list[str] = []
        if queued:
            out.append(f"cors.audit: sending {probes} crafted request(s) to {queued} endpoint(s), at most {RATE:g} "
                       "per second, straight to the server; findings follow in the event log, on the flows and in "
                       "cors.report")
        else:
            out.append("cors.audit: the endpoints of these flows were probed already (or have no response yet)")
        seen: dict[tuple, dict] = {}
        requirements: dict[str, str | None] = {}
        for f in flows:
            line = f.metadata.get(METADATA_KEY) if isinstance(f, http.HTTPFlow) else None
            if isinstance(line, dict):
                for a in line.get("audit") or []:
                    seen.setdefault((a.get("endpoint"), a["class"]), a)
                    if fw is not None and a.get("endpoint") not in requirements:
                        try:
                            requirements[a.get("endpoint")] = requirement_json(exchange_of(f))
                        except Exception:
                            requirements[a.get("endpoint")] = None
        if not seen:
            out.append("no finding on these flows yet")
        width = wrap_width(command=True)  # the console's viewer: wrapped whole words, not cut mid-word

        def say(text: str) -> None:
            out.extend([t for _, t in wrap([("text", text)], width)] if width else [text])

        for a in seen.values():
            out.append("")
            say(a["summary"])
            for e in a.get("evidence") or []:
                say(f"  evidence: {e}")
            if a.get("fix"):
                say(f"  fix: {a['fix']}")
            if fw is not None:
                # What the server allows today (the flow's own CORS headers) is kept in the configuration.
                finding = Finding(a.get("endpoint") or "GET /", "", a["class"], a["kind"], a["severity"],
                                  allow_list=tuple(a.get("allow_list") or ()), credentials=bool(a.get("credentials")),
                                  requirement=requirements.get(a.get("endpoint")))
                configs = finding.configs()
                if configs:
                    out.append(f"  {fw}:")
                    out.extend("    " + x for x in configs[fw].splitlines())
        return out

