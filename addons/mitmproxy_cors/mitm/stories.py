"""What the HTML report (mitm/html_report.py) needs at the end of a session, kept as the session runs:
per group of the ledger, one example story (its report line, and its paired flow's); and the distinct
server requirements of every flow in a group, for the merged fix per framework.

Beside the ledger, in the same Analysis (the proxy, or mitmdump's analysis worker), fed the same
Decisions. Bounded: a cap on stories, on distinct requirements and on the preflights remembered for
pairing; what no longer fits is counted, not kept. Report lines carry no cookie or credential
values (pipeline.redact), so neither does anything kept here.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ..pipeline import Decision, requirement_for
from ..server.fix_plan import Requirement
from .ledger import Ledger


@dataclass(slots=True)
class Story:
    which: str  # the ledger's group: blocked | conditional | unknown
    key: tuple  # (page origin, target, reason), as Ledger.groups files it
    flow_id: str
    line: dict  # the example flow's report line
    paired: dict | None  # its paired flow's report line (preflight <-> actual), when known
    asked_method: str | None  # a preflight's Access-Control-Request-Method


class Stories:
    def __init__(self, max_stories: int = 100, max_requirements: int = 1_000, recent: int = 256) -> None:
        self.max_stories = max_stories
        self.max_requirements = max_requirements
        self.recent_size = recent
        self.max_signatures = 4 * max_requirements
        self._signatures: OrderedDict[tuple, None] = OrderedDict()  # flows whose requirement is taken
        self.stories: dict[tuple[str, tuple], Story] = {}
        self.requirements: dict[tuple, Requirement] = {}
        self.requirements_dropped = 0  # flows whose (new) requirement found no room
        # Recent preflights, for an actual request paired with one decided in an earlier batch (a
        # preflight cache hit); the tracker hands a waiting preflight back in the same batch.
        self._recent: OrderedDict[str, Decision] = OrderedDict()

    def ingest(self, decisions: tuple[Decision, ...], lines: list[dict] | None, ledger: Ledger) -> None:
        """One batch of Decisions (a flow's and the earlier ones it completes), after the ledger took
        them; `lines`: their report lines when already rendered (the report is on)."""
        batch = {d.flow_id: (d, lines[i] if lines is not None else None) for i, d in enumerate(decisions)}
        for d in decisions:
            if d.verdict.kind == "preflight":
                self._recent[d.flow_id] = d
                self._recent.move_to_end(d.flow_id)
                if len(self._recent) > self.recent_size:
                    self._recent.popitem(last=False)
        for d, line in batch.values():
            group = ledger.group_of(d.flow_id)
            if group is None:
                continue
            which, key = group
            if which != "unknown":  # a request with no response in the capture requires nothing known
                self._require(d, line)
            story = self.stories.get(group)
            if story is None and len(self.stories) < self.max_stories:
                self.stories[group] = self._story(which, key, d, line, batch)
            elif story is not None and story.flow_id == d.flow_id:  # the example's later line (paired now)
                self.stories[group] = self._story(which, key, d, line, batch)

    def _story(self, which: str, key: tuple, d: Decision, line: dict | None, batch: dict) -> Story:
        pid = d.verdict.paired_flow_id
        paired = None
        if pid in batch:
            other, paired = batch[pid]
            paired = paired if paired is not None else other.report_line()
        elif pid in self._recent:
            paired = self._recent[pid].report_line()
        asked = d.exchange.request.headers.get("Access-Control-Request-Method") if d.verdict.kind == "preflight" else None
        return Story(which, key, d.flow_id, line if line is not None else d.report_line(), paired, asked)

    def _require(self, d: Decision, line: dict | None) -> None:
        sig = _signature(d)
        if sig is not None:
            if sig in self._signatures:
                return  # a flow shaped like one seen before: its requirement merges alike
            self._signatures[sig] = None
            if len(self._signatures) > self.max_signatures:
                self._signatures.popitem(last=False)
        r = None
        fix = (line or {}).get("cors_fix")
        if fix and fix.get("requirement"):  # already worked out for the report line
            r = Requirement.from_dict(fix["requirement"])
        else:
            r = requirement_for(d.exchange)
        if r is None:
            return
        key = _requirement_key(r)
        if key in self.requirements:
            return
        if len(self.requirements) >= self.max_requirements:
            self.requirements_dropped += 1
            return
        self.requirements[key] = r

    def story_of(self, which: str, key: tuple) -> Story | None:
        return self.stories.get((which, key))

    def clear(self) -> None:
        self.stories.clear()
        self.requirements.clear()
        self._signatures.clear()
        self.requirements_dropped = 0
        self._recent.clear()


_CORS_REQUEST_HEADERS = ("content-type", "access-control-request-method", "access-control-request-headers",
                         "access-control-request-private-network")


def _signature(d: Decision) -> tuple | None:
    """What a flow's requirement depends on, read cheaply off its exchange: flows with equal
    signatures have requirements that merge alike, so only the first is worked out (some 30 us each).
    None where the requirement must be worked out (the proxy patched the response)."""
    ex = d.exchange
    if ex.extra.get("cors_patch"):  # (extra also holds the server's address)
        return None
    req, resp, v = ex.request, ex.response, d.verdict
    idx = req.headers.by_name
    cors = None
    if resp is not None:
        cors = tuple((k.lower(), val) for k, val in resp.headers.fields if k[:15].lower() == "access-control-")
    return (v.kind, v.origin, req.method, tuple(sorted(idx)), tuple(str(idx.get(h)) for h in _CORS_REQUEST_HEADERS),
            resp.status if resp is not None else None, cors, ex.error,
            req.url if v.cause else None)  # a problem no configuration fixes is listed by URL


def _requirement_key(r: Requirement) -> tuple:
    """Requirements that merge alike are one: the URL matters only where no configuration helps (the
    merged fix lists those by URL)."""
    d = r.to_dict()
    if not r.problem:
        d["url"] = None
    return _frozen(d)


def _frozen(value):
    if isinstance(value, dict):
        return tuple((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value
