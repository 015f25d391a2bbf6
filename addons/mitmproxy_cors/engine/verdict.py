"""What the engine says about one flow."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from .reasons import REASONS

T = TypeVar("T")


@dataclass(slots=True)
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


@dataclass(slots=True, eq=False, weakref_slot=True)
class Failure:
    """A failed check: the reason Chromium would name if it were the first, and how to fix it.

    The same failure recurs on every response of a misconfigured server, so checks share one object
    per distinct failure (access_check): failures are never modified, and compare and hash by
    identity. What is derived from one is remembered with it (`derived`).
    """

    reason: str
    parameter: str
    steps: list[FixStep] = field(default_factory=list)


# What the engine derives from a failure (its fix steps, its preflight variant, how it reads under
# credentials 'include'), kept for as long as the failure lives: nothing outlives what it came from.
_DERIVED: weakref.WeakKeyDictionary[Failure, dict] = weakref.WeakKeyDictionary()


def derived(failure: Failure, key, make: Callable[..., T], *args) -> T:
    """What `make(*args)` derives from `failure`, made once and kept with the failure (see _DERIVED).
    Arguments rather than a closure: this runs for most blocked flows."""
    memo = _DERIVED.get(failure)
    if memo is None:
        memo = _DERIVED[failure] = {}
    value = memo.get(key)
    if value is None:
        value = memo[key] = make(*args)
    return value


@dataclass(slots=True)
class Outcome:
    """The result of the checks under one assumption about credentials."""

    failures: list[Failure]
    warnings: Sequence[str] = ()  # read only; most outcomes have none

    @property
    def blocked(self) -> bool:
        return bool(self.failures)

    @property
    def reason(self) -> str | None:
        return self.failures[0].reason if self.failures else None

    @property
    def parameter(self) -> str | None:
        return self.failures[0].parameter if self.failures else None

    def steps(self) -> list[FixStep]:
        """Every failure's fix steps in order, each change to a header once."""
        failures = self.failures
        if len(failures) == 1:  # a shared failure has the same steps each time
            return list(derived(failures[0], "steps", _steps, failures))
        return list(_steps(failures))


def _steps(failures) -> tuple[FixStep, ...]:
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


@dataclass(slots=True)
class Verdict:
    flow_id: str
    kind: str
    verdict: str  # "allowed" | "blocked"
    method: str
    url: str
    origin: str | None
    time: float
    # How the request was judged; first after the identity so that the engine can pass them in order.
    credentials: str = "unknown"  # "include" | "omit" | "unknown"
    credentials_source: str = ""
    mode: str = ""
    mode_source: str = ""
    initiator: str = "fetch"
    reason: str | None = None
    failed_parameter: str | None = None
    firefox_reason: str | None = None
    message: str = ""
    fix: list[FixStep] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # every failed check, Chromium's order
    conditional: dict | None = None  # verdict under credentials: 'include' when it differs
    paired_flow_id: str | None = None
    redirected_from: str | None = None
    preflight_cache: dict | None = None
    cause: str | None = None  # the real failure behind a CORS error (server error, proxy 502)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    firefox_note: str | None = None
    exposed_headers: list[str] | None = None
    unexposed_headers: list[str] | None = None

    @property
    def blocked(self) -> bool:
        """Blocked by CORS. A page can also fail to read a response for other reasons (no response,
        a renderer abort): then `verdict` is "blocked" with no `reason`, and `cause` says why."""
        return self.verdict == "blocked" and self.reason is not None

    @property
    def cors_relevant(self) -> bool:
        return self.kind in ("preflight", "actual", "simple")

    def summary(self) -> str:
        """One line for flow.comment and logs."""
        if self.verdict == "blocked" and self.reason is None:
            return f"CORS n/a: {self.cause or 'the request failed'}"
        if self.verdict == "blocked":
            head = f"CORS blocked: {self.reason}"
            if self.failed_parameter:
                head += f" ({self.failed_parameter})"
            steps = [s for s in self.fix if s.required]
            if steps:
                head += "; " + ", ".join(s.text() for s in steps[:3])
                if len(steps) > 3:
                    head += f", +{len(steps) - 3} more"
            if self.cause:
                head += f" [{self.cause}]"
            return head
        if self.kind in ("preflight", "actual", "simple"):
            head = f"CORS allowed ({self.kind})"
            if self.conditional:
                head += (
                    f"; blocked with {self.conditional['reason']} if the page sends credentials"
                )
            elif self.warnings:
                head += f"; warning: {self.warnings[0]}"
            return head
        return f"CORS n/a: {self.kind}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["fix_text"] = [s.text() for s in self.fix]
        return d


def firefox_reason(reason: str | None, parameter: str | None = None) -> str | None:
    if reason is None:
        return None
    entry = REASONS.get(reason)
    return entry.firefox or None if entry else None
