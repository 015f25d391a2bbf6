"""The session's CORS outcome as JUnit XML (`cors_junit`), the report CI systems read.

One test case per group of the summary (page origin -> target, reason): a group of blocked flows
is a failure; a group blocked only if the page sends credentials is a failure under `cors_fail_on=conditional`
and a passing case that says so otherwise; a group of requests the capture holds without a response
(a browser's HAR) is a failure, since nothing says they passed; one passing case counts the allowed CORS flows. No CORS
flow at all is a skipped case: the browser's requests probably did not go through the proxy.
The same function runs wherever the session's ledger is (the proxy, or mitmdump's analysis worker).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from .ledger import Group, Ledger
from .report import replace_file

SUITE = "mitmproxy-cors"


def junit_xml(ledger: Ledger, fail_on: str, now: float | None = None) -> bytes:
    c = ledger.counts()
    cases: list[ET.Element] = []
    failures = 0
    for g in ledger.groups():
        cases.append(_case(f"blocked: {g.origin} -> {g.target}: {g.reason}", g,
                           f"CORS blocked: {g.reason} ({g.count} flow(s))", failure=True))
        failures += 1
    strict = fail_on == "conditional"
    for g in ledger.groups("unknown"):  # never an all-clear
        cases.append(_case(f"{g.reason}: {g.origin} -> {g.target}", g,
                           f"{g.reason} ({g.count} flow(s)): blocked or failed in the browser", failure=True))
        failures += 1
    for g in ledger.groups("conditional"):
        cases.append(_case(f"blocked if the page sends credentials: {g.origin} -> {g.target}: {g.reason}", g,
                           f"blocked with {g.reason} if the page sends credentials ({g.count} flow(s))",
                           failure=strict))
        failures += strict
    if c["cors"]:
        allowed = ET.Element("testcase", classname=SUITE, name=f"allowed CORS flows: {c['allowed']}")
        cases.append(allowed)
    else:
        none = ET.Element("testcase", classname=SUITE, name="CORS flows")
        ET.SubElement(none, "skipped", message="no cross-origin request went through the proxy: is the "
                                               "browser using it?")
        cases.append(none)
    if ledger.dropped:
        more = ET.Element("testcase", classname=SUITE, name=f"{ledger.dropped} more blocked flow(s)")
        ET.SubElement(more, "failure", message=f"{ledger.dropped} blocked flow(s) beyond the groups listed")
        cases.append(more)
        failures += 1
    skipped = 0 if c["cors"] else 1
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now if now is not None else time.time()))
    suites = ET.Element("testsuites", name=SUITE, tests=str(len(cases)), failures=str(failures))
    suite = ET.SubElement(suites, "testsuite", name=SUITE, tests=str(len(cases)), failures=str(failures),
                          errors="0", skipped=str(skipped), timestamp=stamp)
    suite.extend(cases)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


def _case(name: str, g: Group, message: str, failure: bool) -> ET.Element:
    case = ET.Element("testcase", classname=SUITE, name=name)
    text = (f"fix: {g.fix}\n" if g.fix else "") + f"e.g. {g.example}\n"
    if failure:
        el = ET.SubElement(case, "failure", message=message, type=g.reason)
        el.text = text
    else:
        out = ET.SubElement(case, "system-out")
        out.text = message + "\n" + text
    return case


def write_junit(path: str, ledger: Ledger, fail_on: str) -> None:
    """Replace `path` in one step (a partly written file is never left behind). Raises OSError."""
    replace_file(path, junit_xml(ledger, fail_on), ".xml")
