"""What the engine says about one flow: frozen values, each built once.

A `Verdict` is never changed after it is made: when a later flow completes a flow's story (the
actual request behind a preflight), the tracker makes a new verdict for it (`Verdict._replace`).
`Failure` and `FixStep` are values too: equal ones are interchangeable, so the engine shares them
between flows and remembers what it derives from them by value (memo.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .reasons import REASONS


@dataclass(frozen=True, slots=True)
class FixStep:
    """One change on the server: a header to set (or remove), or the status to answer with."""

    response: str  # "preflight" | "actual" | "redirect"
    action: str  # "add" | "set" | "remove" | "status" | "no-redirect"
    header: str | None
    value: str | None
    why: str = ""
    required: bool = True  # False: recommended (e.g. Vary: Origin), not needed for the browser

    def text(self) -> str:
        if self.action == "status":
            return f"answer the {self.response} with status {self.value}"
        if self.action == "no-redirect":
            return f"answer the {self.response} itself instead of redirecting"
        if self.action == "remove":
            return f"remove {self.header}" + (f" ({self.why})" if self.why else "")
        return f"{self.action} {self.header}: {self.value}"

    def to_dict(self) -> dict:
        return {"response": self.response, "action": self.action, "header": self.header,
                "value": self.value, "why": self.why, "required": self.required}


_ON_RESPONSE = {"preflight": "on the preflight response", "actual": "on the actual response",
                "redirect": "on the redirect response"}


def steps_text(steps) -> str:
    """Fix steps in one line, each run of steps on one response after the response it changes:
    `on the preflight response: add A, add B; on the actual response: add C`."""
    parts: list[str] = []
    current = None
    for s in steps:
        if s.response != current:
            current = s.response
            parts.append(f"{_ON_RESPONSE.get(current, f'on the {current} response')}: {s.text()}")
        else:
            parts[-1] += ", " + s.text()
    return "; ".join(parts)


class _WorkedOutOnce:
    """Slots a `Failure` fills when it is made: not fields, since they are not part of its value.

    A failure is a memo key, hashed on every lookup (its steps hash in Python), and measured so that
    one built from hostile header values is not remembered beyond the last one (memo.key_chars).
    """

    __slots__ = ("chars", "_hash")


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Failure(_WorkedOutOnce):
    """A failed check: the reason Chromium would name if it were the first, and how to fix it.

    Compared and hashed by value. A misconfigured server fails the same way on every response, so
    the access check hands out one shared failure per distinct misconfiguration (access_check), and
    what is derived from a failure is remembered keyed by it (the tracker's conditional verdict).
    """

    reason: str
    parameter: str
    steps: tuple[FixStep, ...] = ()

    def __post_init__(self) -> None:
        steps = self.steps
        if steps.__class__ is not tuple:
            steps = tuple(steps)
            object.__setattr__(self, "steps", steps)
        chars = len(self.reason) + len(self.parameter)
        for s in steps:
            chars += len(s.header or "") + len(s.value or "") + len(s.why)
        object.__setattr__(self, "chars", chars)
        object.__setattr__(self, "_hash", hash((self.reason, self.parameter, steps)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self):  # copies and pickles are made again, so that they work out their slots too
        return Failure, (self.reason, self.parameter, self.steps)

    def to_dict(self) -> dict:
        return {"reason": self.reason, "parameter": self.parameter, "steps": [s.to_dict() for s in self.steps]}


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of the checks under one assumption about credentials."""

    failures: tuple[Failure, ...]  # Chromium's order
    warnings: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        return bool(self.failures)

    @property
    def reason(self) -> str | None:
        return self.failures[0].reason if self.failures else None

    @property
    def parameter(self) -> str | None:
        return self.failures[0].parameter if self.failures else None

    def steps(self) -> tuple[FixStep, ...]:
        """Every failure's fix steps in order, each change to a header once."""
        return fix_steps(self.failures)


def fix_steps(failures: Sequence[Failure]) -> tuple[FixStep, ...]:
    """The fix steps of `failures` in order, each change to a header once."""
    if len(failures) == 1:
        return failures[0].steps  # a check fixes each header once (tests/unit/test_shared_results.py)
    seen: set[tuple] = set()
    out = []
    for failure in failures:
        for step in failure.steps:
            key = (step.response, step.action, (step.header or "").lower())
            if key not in seen:
                seen.add(key)
                out.append(step)
    return tuple(out)


KINDS = ("preflight", "actual", "simple", "no-cors", "same-origin", "not-cors")


class Verdict(NamedTuple):
    """The engine's judgement of one flow, as Chromium would judge it.

    A frozen value, built once with every field: a tuple underneath, so that the engine can build
    one per flow cheaply. `_replace(...)` makes a changed copy.
    """

    flow_id: str
    kind: str  # one of KINDS
    verdict: str  # "allowed" | "blocked"
    method: str
    url: str
    origin: str | None
    time: float
    credentials: str = "unknown"  # "include" | "omit" | "unknown"
    credentials_source: str = ""
    mode: str = ""
    mode_source: str = ""
    initiator: str = "fetch"
    reason: str | None = None
    failed_parameter: str | None = None
    firefox_reason: str | None = None
    webkit_message: str | None = None  # the sentence Safari's console prints (webkit_messages.py)
    message: str = ""
    fix: tuple[FixStep, ...] = ()
    failures: tuple[Failure, ...] = ()  # every failed check, Chromium's order
    conditional: dict | None = None  # verdict under credentials: 'include' when it differs
    paired_flow_id: str | None = None
    redirected_from: str | None = None
    preflight_cache: dict | None = None
    cause: str | None = None  # the real failure behind a CORS error (server error, proxy 502)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    firefox_note: str | None = None
    webkit_note: str | None = None  # where Safari (WebKit) decides otherwise on this wire
    exposed_headers: tuple[str, ...] | None = None
    unexposed_headers: tuple[str, ...] | None = None
    # The capture holds the request but no response (a browser's HAR): the browser blocked it or it
    # failed, and what the browser judged is not in the file. `verdict` is "blocked", `reason` None.
    not_in_capture: bool = False
    # What the browser did with cookies (engine/cookie_blocking.py): withheld and refused ones by name.
    cookies: dict | None = None

    @property
    def blocked(self) -> bool:
        """Blocked by CORS. A page can also fail to read a response for other reasons (no response,
        a renderer abort): then `verdict` is "blocked" with no `reason`, and `cause` says why."""
        return self.verdict == "blocked" and self.reason is not None

    @property
    def failed_not_cors(self) -> bool:
        """The page fails for a reason that is not CORS and that the addon has something to say
        about (a WebSocket handshake the server refused): `cause` and `warnings` say what."""
        return self.verdict == "blocked" and self.reason is None and bool(self.warnings)

    @property
    def credentials_risk(self) -> dict | None:
        """`conditional` when something in the session suggests the page sends credentials (its
        `evidence`): the flows every front end flags as blocked if the page sends credentials. A
        public API ('*', no Allow-Credentials, no cookies) called without them is not flagged."""
        c = self.conditional
        return c if c is not None and c.get("evidence") else None

    @property
    def cors_relevant(self) -> bool:
        return self.kind in ("preflight", "actual", "simple")

    def summary(self) -> str:
        """One line for flow.comment and logs."""
        if self.not_in_capture:
            return f"CORS unknown: {self.cause}"
        if self.verdict == "blocked" and self.reason is None:
            return f"CORS n/a: {self.cause or 'the request failed'}"
        if self.verdict == "blocked":
            # The reason first: mitmweb's comment column shows only the first twenty characters or so.
            # "CORS blocked:" stays in every blocked comment (the filter the docs teach).
            head = self.reason
            if self.failed_parameter:
                head += f" ({self.failed_parameter})"
            head += " — CORS blocked: "
            steps = [s for s in self.fix if s.required]
            if steps:
                head += "fix " + steps_text(steps[:3])
                if len(steps) > 3:
                    head += f", +{len(steps) - 3} more"
                if self.cause:
                    head += f" [{self.cause}]"
            else:
                entry = REASONS.get(self.reason)
                head += self.cause or (entry.fix if entry else "see the flow's CORS view")
            return head
        if self.kind in ("preflight", "actual", "simple"):
            risk = self.credentials_risk
            if risk:
                # Allowed only because the page sent no credentials (the login case): worded as the
                # block it becomes, so that it is never read as a pass.
                head = f"{risk['reason']} — CORS blocked if the page sends credentials"
                steps = list(risk.get("fix") or ())
                if steps:
                    head += ": fix " + ", ".join(steps[:3]) + (f", +{len(steps) - 3} more" if len(steps) > 3 else "")
                return head
            head = f"CORS allowed ({self.kind})"
            if self.warnings:
                head += f"; warning: {self.warnings[0]}"
            return head
        if self.warnings:  # not CORS, yet something fails (the browser's cache, Local Network Access, ORB)
            return f"CORS n/a: {self.kind}; warning: {self.warnings[0]}"
        return f"CORS n/a: {self.kind}"

    def to_dict(self) -> dict:
        """Plain data (dicts, lists, str, numbers), every field in order, then `fix_text`."""
        d = self._asdict()
        d["fix"] = [s.to_dict() for s in self.fix]
        d["failures"] = [f.to_dict() for f in self.failures]
        if self.conditional is not None:
            d["conditional"] = {k: list(v) if isinstance(v, (list, tuple)) else v
                                for k, v in self.conditional.items()}
        if self.preflight_cache is not None:
            d["preflight_cache"] = dict(self.preflight_cache)
        d["warnings"] = list(self.warnings)
        d["notes"] = list(self.notes)
        if self.exposed_headers is not None:
            d["exposed_headers"] = list(self.exposed_headers)
        if self.unexposed_headers is not None:
            d["unexposed_headers"] = list(self.unexposed_headers)
        if self.cookies is not None:
            d["cookies"] = _plain_copy(self.cookies)
        d["fix_text"] = [s.text() for s in self.fix]
        return d


def _plain_copy(value):
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_copy(v) for v in value]
    return value


def firefox_reason(reason: str | None, parameter: str | None = None) -> str | None:
    if reason is None:
        return None
    entry = REASONS.get(reason)
    return entry.firefox or None if entry else None


# -- plain data, for a verdict that crosses a process boundary (mitm/worker.py -> the proxy) ---------

def verdict_to_plain(v: Verdict) -> tuple:
    """`v` as tuples, lists, dicts, str, numbers and None only (what `marshal` takes), in field order;
    `verdict_from_plain` makes the equal Verdict again."""
    return (*v[:_FIX], tuple(_step_plain(s) for s in v.fix),
            tuple((f.reason, f.parameter, tuple(_step_plain(s) for s in f.steps)) for f in v.failures),
            *v[_FIX + 2:])


def verdict_from_plain(t: tuple) -> Verdict:
    fix = tuple(FixStep(*s) for s in t[_FIX])
    failures = tuple(Failure(r, p, tuple(FixStep(*s) for s in steps)) for r, p, steps in t[_FIX + 1])
    return Verdict(*t[:_FIX], fix, failures, *t[_FIX + 2:])


def _step_plain(s: FixStep) -> tuple:
    return (s.response, s.action, s.header, s.value, s.why, s.required)


_FIX = Verdict._fields.index("fix")
assert Verdict._fields[_FIX + 1] == "failures"


_FIELD_INDEX = {name: i for i, name in enumerate(Verdict._fields)}


def _replace(self: Verdict, /, **changes) -> Verdict:
    """`Verdict._replace`, in a quarter of the time: namedtuple's own pops every one of the 31 fields
    from the keywords (2 us here), and the page rules, the cookie rule and pairing replace a field or
    two of many verdicts."""
    values = list(self)
    for name, value in changes.items():
        i = _FIELD_INDEX.get(name)
        if i is None:
            raise ValueError(f"Got unexpected field names: {[n for n in changes if n not in _FIELD_INDEX]!r}")
        values[i] = value
    return tuple.__new__(type(self), values)


Verdict._replace = _replace  # a NamedTuple body may not define it
