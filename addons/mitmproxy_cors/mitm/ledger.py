"""The latest CORS verdict of every flow this session, for `cors.report` and mitmdump's summary.

mitm/analysis.py hands it every Decision, updates included, by flow id: it needs no flow object,
so a preflight updated after mitmdump dropped its flow is counted as the report counts it.
Entries are small and bounded.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass

from ..audit.finding import Finding, by_severity
from ..engine.origin import origin_of_url
from ..engine.verdict import Verdict, steps_text


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to build, once per flow
class Entry:
    origin: str
    target: str
    reason: str | None
    kind: str
    blocked: bool
    conditional: bool
    fix: str  # the first required fix step, or the reason's general fix
    example: str  # "METHOD url"
    cond_reason: str | None = None  # allowed, but blocked with this reason if the page sends credentials
    cond_fix: str = ""
    server_blocked: bool = False  # the proxy patched it (cors_fix, cors_policy) and the server alone is blocked
    unknown: bool = False  # no response in the capture (a browser's HAR): neither allowed nor known blocked


@dataclass(slots=True)
class Group:
    origin: str
    target: str
    reason: str
    count: int
    fix: str
    example: str

    @property
    def key(self) -> tuple:
        return (self.origin, self.target, self.reason)


def target_of(url: str) -> str:
    o = origin_of_url(url)
    return o.serialize() if o is not None else url


class Ledger:
    # Recent flows stay individually (a verdict can still change, e.g. a preflight once paired);
    # older ones are folded into counts, so memory stays flat however long the proxy runs.
    def __init__(self, capacity: int = 2_000, max_groups: int = 1_000) -> None:
        self.capacity = capacity
        self.max_groups = max_groups
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self._retired_counts: Counter = Counter()
        self._retired_groups: dict[tuple, Group] = {}
        self._retired_conditional: dict[tuple, Group] = {}  # allowed only without credentials
        self._retired_unknown: dict[tuple, Group] = {}  # no response in the capture
        self.dropped = 0  # blocked flows whose group could not be kept (more than max_groups groups)
        # The audit's findings, one per endpoint and class (the most severe kept), and what the
        # active audit sent: the exit summary and cors.report list them.
        self.findings: OrderedDict[tuple, Finding] = OrderedDict()
        self.probes: list[str] = []  # one line per endpoint the active audit probed (the latest 200)
        # The page probe's requests the browser refused before sending: counted, the latest 200 kept
        self.refusals: OrderedDict[tuple, tuple[int, str]] = OrderedDict()  # (page, method, url) -> (count, line)
        self.audit = None  # the passive audit (audit/passive.py): which echoes it could not explain

    def add_findings(self, findings) -> None:
        for f in findings:
            self.findings[f.key] = f
            while len(self.findings) > self.max_groups:
                self.findings.popitem(last=False)

    def unexplained_echoes(self) -> int:
        """Endpoints echoing the page's origin with credentials that the active audit did not probe."""
        return self.audit.unexplained_echoes() if self.audit is not None else 0

    def add_refusal(self, key: tuple, line: str) -> None:
        count = self.refusals.pop(key, (0, ""))[0] + 1
        self.refusals[key] = (count, line)
        while len(self.refusals) > 200:
            self.refusals.popitem(last=False)

    def add_probe_line(self, line: str) -> None:
        self.probes.append(line)
        del self.probes[:-200]

    def ingest(self, v: Verdict, patch: dict | None = None) -> None:
        """`patch`: the Decision's patch record, when the proxy changed the response."""
        flow_id = v.flow_id
        # A request a browser's HAR holds without a response is never an all-clear: counted when it
        # was cross-origin, or when the capture does not say which page made it.
        unknown = v.not_in_capture and (v.cors_relevant or v.origin is None)
        if not (v.cors_relevant or v.blocked or unknown):
            self.entries.pop(flow_id, None)
            return
        steps = [s for s in v.fix if s.required]
        fix = steps_text(steps[:1]) if steps else ""
        if len(steps) > 1:
            fix += f" (+{len(steps) - 1} more)"
        cond = v.credentials_risk if v.verdict != "blocked" else None
        self.entries[flow_id] = Entry(
            origin=v.origin or "null",
            target=target_of(v.url),
            reason=v.reason,
            kind=v.kind,
            blocked=v.verdict == "blocked" and not v.not_in_capture,
            conditional=cond is not None,
            # A server error or an unreachable server comes first: the CORS headers are missing because of it.
            fix=v.cause or fix,
            example=f"{v.method} {v.url}",
            cond_reason=cond.get("reason") if cond else None,
            cond_fix="; ".join(cond.get("fix") or ()) if cond else "",
            server_blocked=_server_blocked(patch),
            unknown=unknown,
        )
        self.entries.move_to_end(flow_id)
        while len(self.entries) > self.capacity:
            _, old = self.entries.popitem(last=False)
            self._retire(old)

    def _retire(self, e: Entry) -> None:
        self._count(self._retired_counts, e)
        grouped = _grouping(e)
        if grouped is None:
            return
        key, fix = grouped
        groups = self._retired_by(_which(e))
        g = groups.get(key)
        if g is not None:
            g.count += 1
        elif len(groups) < self.max_groups:
            groups[key] = Group(e.origin, e.target, key[2], 1, fix, e.example)
        else:
            self.dropped += 1

    @staticmethod
    def _count(c: Counter, e: Entry) -> None:
        c["cors"] += 1
        c["unknown" if e.unknown else "blocked" if e.blocked else "allowed"] += 1
        if e.conditional and not e.blocked:
            c["conditional"] += 1
        if e.server_blocked:
            c["patched"] += 1  # blocked as the server answers, allowed (or not) through the proxy's patch
        if e.blocked or e.server_blocked:
            c["server_blocked"] += 1

    def group_of(self, flow_id: str) -> tuple[str, tuple] | None:
        """(`blocked` | `conditional` | `unknown`, group key) of a flow still held individually, as
        `groups` files it; None when it is in no group (allowed, not CORS, or retired)."""
        e = self.entries.get(flow_id)
        grouped = _grouping(e) if e is not None else None
        return (_which(e), grouped[0]) if grouped is not None else None

    def clear(self) -> int:
        n = len(self.entries)
        n += self._retired_counts["cors"]
        self.entries.clear()
        self._retired_counts.clear()
        self._retired_groups.clear()
        self._retired_conditional.clear()
        self._retired_unknown.clear()
        self.dropped = 0
        self.findings.clear()
        self.refusals.clear()
        self.probes.clear()
        return n

    def counts(self) -> Counter:
        c: Counter = Counter(self._retired_counts)
        for e in self.entries.values():
            self._count(c, e)
        return c

    def _retired_by(self, which: str) -> dict[tuple, Group]:
        return {"blocked": self._retired_groups, "conditional": self._retired_conditional,
                "unknown": self._retired_unknown}[which]

    def groups(self, which: str = "blocked") -> list[Group]:
        """Flows grouped by (page origin, target, reason), most frequent first: `blocked` ones;
        `conditional`: allowed only without credentials, by the reason they would fail with;
        `unknown`: held by the capture without a response."""
        out: dict[tuple, Group] = {
            k: Group(g.origin, g.target, g.reason, g.count, g.fix, g.example)
            for k, g in self._retired_by(which).items()
        }
        for e in self.entries.values():
            grouped = _grouping(e)
            if grouped is None or _which(e) != which:
                continue
            key, fix = grouped
            g = out.get(key)
            if g is None:
                out[key] = Group(e.origin, e.target, key[2], 1, fix, e.example)
            else:
                g.count += 1
        return sorted(out.values(), key=lambda g: (-g.count, g.origin, g.target, g.reason))


def _server_blocked(patch: dict | None) -> bool:
    """The proxy patched the response, and the server's own one is blocked as sent (not only if the
    page sends credentials)."""
    if not patch or not patch.get("patched"):
        return False
    server = patch.get("server") or {}
    return server.get("verdict") == "blocked" and not server.get("only_with_credentials")


_UNKNOWN_REASON = {"actual": "no response in the capture; it needed a preflight",
                   "simple": "no response in the capture",
                   "preflight": "a preflight with no response in the capture",
                   "": "no response in the capture; the page is unknown"}
UNKNOWN_FIX = ("record the page through the proxy: a browser's HAR holds neither the preflight nor the "
               "response the browser judged")


def _which(e: Entry) -> str:
    return "unknown" if e.unknown else "blocked" if e.blocked else "conditional"


def _grouping(e: Entry) -> tuple[tuple, str] | None:
    """(group key, fix) of a blocked flow, one allowed only without credentials, or one the capture
    holds without a response; None otherwise."""
    if e.unknown:
        return (e.origin, e.target, _UNKNOWN_REASON.get(e.kind, _UNKNOWN_REASON[""])), UNKNOWN_FIX
    if e.blocked:
        return (e.origin, e.target, e.reason or "no response"), e.fix
    if e.conditional and e.cond_reason:
        return (e.origin, e.target, e.cond_reason), e.cond_fix
    return None


def patched_text(c: Counter) -> str:
    """How many the server alone blocks, when the proxy patched some (cors_fix, cors_policy): "0
    blocked" must not read as a fixed server."""
    if not c["patched"]:
        return ""
    return f" through the proxy's patches (the server alone: {c['server_blocked']} blocked, {c['patched']} patched)"


def counts_text(c: Counter) -> str:
    """`3 blocked of 9 CORS flow(s)...`: the head of the summary, `cors.report` and the gate."""
    text = f"{c['blocked']} blocked of {c['cors']} CORS flow(s)" + patched_text(c)
    if c["conditional"]:
        text += f", {c['conditional']} blocked if the page sends credentials"
    if c["unknown"]:
        text += (f", {c['unknown']} with no response in the capture (blocked or failed in the browser; "
                 "a browser's HAR does not hold why)")
    return text


def report_lines(ledger: Ledger) -> list[str]:
    """The text of `cors.report`: the verdicts, the page probe's refusals, then the audit's findings."""
    return _verdict_lines(ledger) + refusal_lines(ledger) + audit_lines(ledger)


def refusal_lines(ledger: Ledger) -> list[str]:
    """Requests the page made that the browser refused before sending (the page probe saw them)."""
    if not ledger.refusals:
        return []
    out = [f"cors probe: {sum(n for n, _ in ledger.refusals.values())} request(s) blocked in the page before "
           "sending (no flow):"]
    for (page, method, url), (count, line) in ledger.refusals.items():
        out.append(f"{count:>5} x  {page} -> {method} {url}")
        out.append(f"          {line}")
    return out


def audit_lines(ledger: Ledger) -> list[str]:
    """The audit's part of `cors.report` and of `cors.audit`."""
    findings = by_severity(ledger.findings.values())
    out = []
    if findings:
        vuln = sum(f.kind == "vulnerability" for f in findings)
        out.append(f"cors audit: {vuln} vulnerabilit{'y' if vuln == 1 else 'ies'}, {len(findings) - vuln} smell(s):")
        for f in findings:
            out.append(f"  {f.severity.upper():<6} {f.kind:<13} {f.cls}: {f.endpoint}")
            out.append(f"          {f.title()}" + (f"; granted: {', '.join(f.origins_granted[:4])}"
                                                  if f.origins_granted else ""))
            if f.fix:
                out.append(f"          fix: {f.fix[0]}")
    echoes = ledger.unexplained_echoes()
    if echoes:
        out.append(f"cors audit: {echoes} endpoint(s) echo the page's origin with credentials: an allow-list "
                   "or any origin? The traffic cannot tell; cors_audit=active (or cors.audit FLOWS) sends crafted "
                   "origins to find out.")
    return out


def _verdict_lines(ledger: Ledger) -> list[str]:
    c = ledger.counts()
    if not c["cors"]:
        return ["cors.report: no CORS flows seen yet (cross-origin requests with an Origin header)."]
    head = "cors.report: " + counts_text(c)
    groups = ledger.groups()
    conditional = ledger.groups("conditional")
    unknown = ledger.groups("unknown")
    if not groups and not conditional and not unknown:
        return [head + ": nothing blocked."]
    out = [head + f", in {len(groups) + len(conditional) + len(unknown)} group(s):"]
    for g, suffix in ([(g, "") for g in groups] + [(g, " if the page sends credentials") for g in conditional]
                      + [(g, "") for g in unknown]):
        out.append(f"{g.count:>5} x  {g.origin} -> {g.target}  {g.reason}{suffix}")
        if g.fix:
            out.append(f"          fix: {g.fix}")
        out.append(f"          e.g. {g.example}")
    if ledger.dropped:
        out.append(f"({ledger.dropped} blocked flow(s) beyond the first {ledger.max_groups} groups are not listed)")
    return out
