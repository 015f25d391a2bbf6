"""The session as one self-contained HTML page (`cors_html`): what a frontend developer sends to the
backend team.

The summary (the ledger's counts and groups), then one section per group with its example flow: the
sequence the browser ran (mitm/sequence.py) drawn as inline SVG with the broken hop marked, the
console sentence, the fix steps and the checks; then the server fix for every blocked flow, merged
into one configuration per framework (server/snippets.py). Inline CSS, no script, no external
resource: it opens offline, from a CI artifact or a mail. Every value is escaped: URLs, origins and
header values are whatever the traffic carried. Rendered from mitm/stories.py, which keeps report
lines (no cookie or credential values) and requirements, at the end of the session, wherever the
ledger lives (mitm/gate.py finish_session: the proxy, or mitmdump's analysis worker).
"""

from __future__ import annotations

import html
import time

from ..server import snippets
from ..server.snippets import aggregate, policy_for, problems_text, render_all
from .ledger import UNKNOWN_FIX, Group, Ledger, counts_text
from .report import replace_file
from .sequence import Sequence, sequence_of
from .stories import Stories, Story

WHICH = (
    ("blocked", "Blocked", "the browser blocked these requests"),
    ("conditional", "Blocked if the page sends credentials",
     "allowed as sent; blocked as soon as the request carries cookies or Authorization"),
    ("unknown", "No response in the capture", "a browser's HAR holds these requests without a response: "
                                              "blocked or failed in the browser"),
)
STATE_WORD = {"pass": "passes", "fail": "fails", "cond": "fails with credentials", "skip": "not reached",
              "info": "info", "unknown": "unknown", "pending": "not seen"}


def e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def html_report(ledger: Ledger, stories: Stories, now: float | None = None) -> str:
    c = ledger.counts()
    groups = {which: ledger.groups(which) for which, _, _ in WHICH}
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now if now is not None else time.time()))
    anchors: dict[tuple[str, tuple], str] = {}
    for which, _, _ in WHICH:
        for g in groups[which]:
            if stories.story_of(which, g.key) is not None:
                anchors[(which, g.key)] = f"story-{len(anchors) + 1}"
    head = counts_text(c) if c["cors"] else "no CORS flows seen (cross-origin requests with an Origin header)"
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No script, no fetch: a hostile value that slipped through escaping still could not run.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">",
        f"<title>CORS report: {e(head)}</title>",
        f"<style>{CSS}</style></head><body>",
        MARKERS,
        '<header><h1>Why the browser blocked these requests</h1>',
        f'<p class="meta">mitmproxy-cors report, {e(stamp)}. Verdicts as Chromium decides them; '
        "each fix is a change on the server.</p></header>",
        _summary(c, head, groups, anchors, ledger),
    ]
    if ledger.refusals:  # the page probe's: calls the browser refused, which left no flow
        n = sum(count for count, _ in ledger.refusals.values())
        out.append(f'<section id="refused"><h2>Blocked in the page before sending ({n})</h2>'
                   '<p class="note">The page probe saw these calls fail without any request reaching the proxy '
                   "(cors_probe).</p><ul>")
        for (page, method, url), (count, line) in ledger.refusals.items():
            out.append(f"<li><b>{count} ×</b> {e(page)} → {e(method)} {e(url)}<br>{e(line)}</li>")
        out.append("</ul></section>")
    story_html = [_story(stories.story_of(which, g.key), g, anchors[(which, g.key)])
                  for which, _, _ in WHICH for g in groups[which] if (which, g.key) in anchors]
    if story_html:
        out.append('<section id="stories"><h2>Stories</h2>')
        out.append('<p class="note">One example flow per group: the sequence the browser ran, where it broke '
                   "(<span class=\"fail-text\">red</span>), what the console said, the fix and every check.</p>")
        out.extend(story_html)
        missing = sum(len(groups[w]) for w, _, _ in WHICH) - len(story_html)
        if missing:
            out.append(f'<p class="note">{missing} more group(s) have no story here: the session keeps the '
                       f"first {stories.max_stories}, and none for flows it folded into counts.</p>")
        out.append("</section>")
    out.append(_merged_fix(stories, groups))
    out.append("<footer>Made by mitmproxy-cors from the flows that went through the proxy. Cookie, Set-Cookie "
               "and Authorization values are never included.</footer></body></html>")
    return "\n".join(out) + "\n"


def write_html(path: str, ledger: Ledger, stories: Stories) -> None:
    """Replace `path` in one step. Raises OSError."""
    replace_file(path, html_report(ledger, stories).encode("utf-8", "replace"), ".html")


def write_now(path: str, ledger: Ledger, stories: Stories) -> list[str]:
    """`cors.html`: write the page and say so, as ["ok" | "error", line]: plain data, which the
    analysis worker sends back to the proxy as it is."""
    try:
        write_html(path, ledger, stories)
    except OSError as err:
        return ["error", f"cors.html: cannot write {path!r}: {err.strerror or err}"]
    c = ledger.counts()
    return ["ok", f"cors.html: wrote {path}: {c['blocked']} blocked, {c['conditional']} blocked if the page "
                  "sends credentials"]


# -- the summary ----------------------------------------------------------------------------------

def _summary(c, head: str, groups: dict[str, list[Group]], anchors: dict, ledger: Ledger) -> str:
    cards = [("blocked", c["blocked"], "blocked"), ("conditional", c["conditional"], "blocked if credentials"),
             ("unknown", c["unknown"], "no response in the capture"), ("pass", c["allowed"], "allowed")]
    out = ['<section id="summary"><h2>Summary</h2>', f'<p class="counts-text">{e(head)}</p>', '<div class="cards">']
    out += [f'<div class="card {cls}" data-count="{n}"><b>{n}</b><span>{e(label)}</span></div>'
            for cls, n, label in cards]
    out.append("</div>")
    if not any(groups.values()):
        out.append('<p class="all-clear">Nothing blocked.</p></section>' if c["cors"] else "</section>")
        return "\n".join(out)
    out.append('<table class="groups"><thead><tr><th>flows</th><th>page origin &rarr; target</th>'
               "<th>reason</th><th>fix</th><th>example</th></tr></thead>")
    for which, title, _ in WHICH:
        if not groups[which]:
            continue
        out.append(f'<tbody class="{which}"><tr class="group-head"><th colspan="5">{e(title)}</th></tr>')
        for g in groups[which]:
            anchor = anchors.get((which, g.key))
            reason = f'<a href="#{anchor}">{e(g.reason)}</a>' if anchor else e(g.reason)
            out.append(f"<tr><td class=\"num\">{g.count}</td><td class=\"pair\">{e(g.origin)}<br>&rarr; {e(g.target)}</td>"
                       f"<td class=\"reason\">{reason}</td><td>{e(g.fix)}</td><td class=\"url\">{e(g.example)}</td></tr>")
        out.append("</tbody>")
    out.append("</table>")
    if ledger.dropped:
        out.append(f'<p class="note">{ledger.dropped} blocked flow(s) beyond the first {ledger.max_groups} '
                   "groups are not listed.</p>")
    out.append("</section>")
    return "\n".join(out)


# -- one story --------------------------------------------------------------------------------------

def _story(story: Story, g: Group, anchor: str) -> str:
    line = story.line
    which = story.which
    title = dict((w, t) for w, t, _ in WHICH)[which]
    seq = sequence_of(line, story.paired, story.asked_method)
    out = [f'<article class="story {which}" id="{anchor}" data-which="{which}" data-reason="{e(g.reason)}">',
           f"<h3>{e(title)}: {e(g.reason)}</h3>",
           f'<p class="route">{e(g.origin)} &rarr; {e(g.target)} &middot; {g.count} flow(s), e.g. '
           f'<span class="url">{e(line.get("method"))} {e(line.get("url"))}</span></p>']
    if seq is not None:
        out.append(_svg(seq))
        state = seq.hops[seq.broken].state if seq.broken is not None else "pass"
        out.append(f'<p class="ending {state}">{e(seq.ending)}</p>')
    cond = line.get("conditional") or {}
    if which == "conditional":
        message, steps = cond.get("message"), [{"text": t} for t in cond.get("fix") or ()]
        if cond.get("evidence"):
            out.append(f'<p class="note">What suggests the page sends credentials: {e(cond["evidence"])}.</p>')
    elif which == "unknown":
        message, steps = line.get("cause"), [{"text": UNKNOWN_FIX}]
    else:
        message, steps = line.get("message"), line.get("fix") or []
    if message:
        out.append("<h4>What Chromium's console says</h4>")
        out.append(f'<pre class="console">{e(message)}</pre>')
    if line.get("cause") and which != "unknown" and line["cause"] not in (message or ""):
        out.append(f'<p class="cause">Underneath: {e(line["cause"])}</p>')
    out.append(_steps(steps, line))
    for label, checked in _checked(line, story.paired):
        out.append(_checks(label, checked))
    out.append("</article>")
    return "\n".join(out)


def _steps(steps: list[dict], line: dict) -> str:
    fixable = (line.get("cors_fix") or {}).get("not_fixable")
    if not steps and not fixable:
        return ""
    out = ['<h4>Fix (on the server)</h4>', '<ul class="fix">']
    by_response: dict[str, list[dict]] = {}
    for s in steps:
        by_response.setdefault(s.get("response") or "", []).append(s)
    for response, group in by_response.items():
        items = []
        for s in group:
            why = s.get("why") or ""
            if s.get("required") is False:
                why = "recommended" + (f": {why}" if why else "")
            items.append(f"<li><code>{e(s.get('text'))}</code>" + (f' <span class="why">{e(why)}</span>' if why else "")
                         + "</li>")
        if response:
            out.append(f'<li><span class="on">on the {e(response)} response:</span><ul>{"".join(items)}</ul></li>')
        else:
            out.extend(items)
    if fixable:
        out.append(f'<li class="unfixable">{e(fixable)}</li>')
    out.append("</ul>")
    return "\n".join(out)


def _checked(line: dict, paired: dict | None) -> list[tuple[str, dict]]:
    """The checks to show: the example flow's, then its paired flow's."""
    return [(f"Checks on the {'preflight' if x.get('kind') == 'preflight' else 'actual'} response"
             + (f" ({x['status']})" if x.get("status") is not None else " (no response)"), x)
            for x in (line, paired) if x and x.get("checks")]


def _checks(label: str, line: dict) -> str:
    out = [f"<h4>{e(label)}</h4>", '<table class="checks"><thead><tr><th></th><th>check</th><th>needed</th>'
           "<th>seen</th></tr></thead><tbody>"]
    for c in line.get("checks") or ():
        state = c.get("state") or "info"
        details = "".join(f"<div class=\"detail\">{e(d)}</div>" for d in c.get("details") or ())
        out.append(f'<tr class="check {e(state)}" data-state="{e(state)}"><td><span class="badge {e(state)}">'
                   f"{e(STATE_WORD.get(state, state))}</span></td><td><b>{e(c.get('check'))}</b>"
                   f"<div>{e(c.get('result'))}</div>{details}</td><td><code>{e(c.get('needed'))}</code></td>"
                   f"<td><code>{e(c.get('seen'))}</code></td></tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


# -- the picture ----------------------------------------------------------------------------------

COLOR = {"pass": "#2e7d32", "fail": "#c62828", "cond": "#b26a00", "unknown": "#6d6d6d", "skip": "#9e9e9e",
         "pending": "#9e9e9e"}
W, LEFT, RIGHT, TOP, ROW, UNSENT_ROW = 760, 170, 600, 70, 112, 56


def _short(url: str, n: int = 46) -> str:
    rest = url.split("://", 1)[-1]
    path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return path if len(path) <= n else path[: n - 1] + "…"


def _mark(state: str, x: int, y: int) -> str:
    """A hop's verdict as a drawn badge: no font needs to hold ✓ or ✗."""
    color = COLOR[state]
    if state == "pass":
        glyph = f'<path d="M{x - 6} {y} l4 5 l8 -10" stroke="#fff" stroke-width="3" fill="none"/>'
    elif state == "fail":
        glyph = (f'<path d="M{x - 6} {y - 6} l12 12 M{x + 6} {y - 6} l-12 12" stroke="#fff" stroke-width="3" '
                 'fill="none"/>')
    else:
        glyph = (f'<text x="{x}" y="{y + 5}" text-anchor="middle" fill="#fff" font-weight="bold" '
                 f'font-size="15">{"!" if state == "cond" else "?" if state == "unknown" else "–"}</text>')
    return f'<circle cx="{x}" cy="{y}" r="13" fill="{color}"/>{glyph}'


def _svg(seq: Sequence) -> str:
    rows = [ROW if h.sent or h.state not in ("skip", "pending") else UNSENT_ROW for h in seq.hops]
    height = TOP + sum(rows) + 10
    out = [f'<figure class="sequence"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" '
           f'width="{W}" height="{height}" role="img" aria-label="{e(seq.ending)}">']
    for x, who, origin in ((LEFT, "page (browser)", seq.page), (RIGHT, "server", seq.server)):
        out.append(f'<rect x="{x - 140}" y="6" width="280" height="44" rx="6" class="actor"/>'
                   f'<text x="{x}" y="24" text-anchor="middle" class="actor-name">{e(who)}</text>'
                   f'<text x="{x}" y="42" text-anchor="middle" class="actor-origin">{e(_short_origin(origin))}</text>'
                   f'<line x1="{x}" y1="50" x2="{x}" y2="{height - 4}" class="lifeline"/>')
    for i, h in enumerate(seq.hops):
        y = TOP + sum(rows[:i])
        broken = i == seq.broken
        cls = "hop broken" if broken else "hop"
        out.append(f'<g class="{cls}" data-role="{h.role}" data-state="{h.state}">')
        if broken:
            out.append(f'<rect x="4" y="{y - 8}" width="{W - 8}" height="{rows[i] - 6}" rx="6" class="broken-band"/>')
        label = f"{i + 1}  {h.method} {_short(h.url)}" + ("  (preflight)" if h.role == "preflight" else "")
        title = f"<title>{e(h.method)} {e(h.url)}</title>"
        if not h.sent:
            out.append(f'<text x="{(LEFT + RIGHT) // 2}" y="{y + 8}" text-anchor="middle" class="label muted">'
                       f"{e(label)}{title}</text>"
                       f'<line x1="{LEFT}" y1="{y + 16}" x2="{RIGHT}" y2="{y + 16}" class="arrow never" '
                       'marker-end="url(#arrow-skip)"/>'
                       f'<text x="{LEFT + 12}" y="{y + 36}" class="label muted">{e(h.outcome)}</text>')
        else:
            status = str(h.status) if h.status is not None else ("?" if h.state == "unknown" else "no response")
            back = "fail" if broken and h.state == "fail" else "plain"
            out.append(f'<text x="{(LEFT + RIGHT) // 2}" y="{y + 8}" text-anchor="middle" class="label">'
                       f"{e(label)}{title}</text>"
                       f'<line x1="{LEFT}" y1="{y + 16}" x2="{RIGHT}" y2="{y + 16}" class="arrow" '
                       'marker-end="url(#arrow-plain)"/>'
                       f'<text x="{(LEFT + RIGHT) // 2}" y="{y + 40}" text-anchor="middle" class="label">'
                       f"{e(status)}</text>"
                       f'<line x1="{RIGHT}" y1="{y + 48}" x2="{LEFT}" y2="{y + 48}" '
                       f'class="arrow {back}{" dashed" if h.status is None else ""}" marker-end="url(#arrow-{back})"/>')
        if h.state not in ("skip", "pending"):
            word = "allowed" if h.state == "pass" else h.outcome
            if broken:
                word = f"breaks here: {word}"
            out.append(_mark(h.state, LEFT, y + 78)
                       + f'<text x="{LEFT + 22}" y="{y + 83}" class="verdict {h.state}">{e(word)}</text>')
        if h.this:
            out.append(f'<text x="{W - 10}" y="{y + 83}" text-anchor="end" class="this">the example flow</text>')
        out.append("</g>")
    out.append("</svg></figure>")
    return "\n".join(out)


def _short_origin(origin: str, n: int = 40) -> str:
    return origin if len(origin) <= n else origin[: n - 1] + "…"


# -- the merged fix ---------------------------------------------------------------------------------

def _merged_fix(stories: Stories, groups: dict[str, list[Group]]) -> str:
    out = ['<section id="fix"><h2>The server fix, merged per framework</h2>']
    if not (groups["blocked"] or groups["conditional"]):
        out.append('<p class="note">Nothing to change on the server.</p></section>')
        return "\n".join(out)
    needs = aggregate(stories.requirements.values())
    out.append('<p class="note">One configuration that makes every blocked flow of this session pass, and those '
               "blocked if the page sends credentials: the origins, methods and request headers they use. Pick "
               "your framework.</p>")
    out.append('<ul class="needs">' + "".join(f"<li>{e(x)}</li>" for x in needs.summary_lines()) + "</ul>")
    if needs.origins:
        titles = getattr(snippets, "TITLES", {})
        for i, (fw, text) in enumerate(render_all(policy_for(needs), needs).items()):
            out.append(f'<details class="framework" data-framework="{e(fw)}"{" open" if i == 0 else ""}>'
                       f"<summary>{e(titles.get(fw, fw))}</summary><pre>{e(text.rstrip())}</pre></details>")
    problems = [p for p in problems_text(needs) if p.strip()]
    if problems:
        out.append(f"<h3>{e(problems[0].rstrip(':'))}</h3>")
        out.append('<ul class="problems">' + "".join(f"<li>{e(p.strip())}</li>" for p in problems[1:]) + "</ul>")
    if stories.requirements_dropped:
        out.append(f'<p class="note">{stories.requirements_dropped} flow(s) with new requirements beyond the first '
                   f"{stories.max_requirements} are not merged here.</p>")
    out.append("</section>")
    return "\n".join(out)


# Arrow heads, defined once for every picture of the page.
MARKERS = ('<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>' + "".join(
    f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
    f'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="{color}"/></marker>'
    for name, color in (("plain", "#455a64"), ("fail", "#c62828"), ("skip", "#9e9e9e"))) + "</defs></svg>")

CSS = """
:root{--fail:#c62828;--pass:#2e7d32;--cond:#b26a00;--muted:#6d6d6d;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;
 margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:21px;border-bottom:1px solid var(--line);padding-bottom:4px;
 margin-top:36px}h3{font-size:17px;margin:0 0 4px}h4{font-size:14px;margin:16px 0 6px;text-transform:uppercase;
 letter-spacing:.04em;color:#57606a}
.meta,.note,footer{color:#57606a}.note{font-size:14px}footer{margin-top:40px;font-size:13px}
code,pre,.url{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
.url{word-break:break-all}td.url{min-width:16em}td.pair{white-space:nowrap}
.cards{display:flex;gap:12px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:150px;background:var(--bg)}
.card b{display:block;font-size:26px}.card.blocked b{color:var(--fail)}.card.conditional b{color:var(--cond)}
.card.unknown b{color:var(--muted)}.card.pass b{color:var(--pass)}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
thead th{background:var(--bg)}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.group-head th{background:#fff;font-size:13px;text-transform:uppercase;letter-spacing:.04em}
tbody.blocked tr.group-head th{color:var(--fail)}tbody.conditional tr.group-head th{color:var(--cond)}
td.reason a{color:inherit;font-weight:600}
.story{border:1px solid var(--line);border-left:6px solid var(--fail);border-radius:8px;padding:16px 20px;
 margin:20px 0}.story.conditional{border-left-color:var(--cond)}.story.unknown{border-left-color:var(--muted)}
.route{margin:0 0 8px;color:#57606a}
figure.sequence{margin:8px 0;overflow-x:auto}
svg .actor{fill:var(--bg);stroke:#8c959f}svg .actor-name{font-weight:600;font-size:14px}
svg .actor-origin{font-size:12px;fill:#57606a;font-family:ui-monospace,"DejaVu Sans Mono",monospace}
svg .lifeline{stroke:#8c959f;stroke-dasharray:4 4}
svg .arrow{stroke:#455a64;stroke-width:2}svg .arrow.fail{stroke:var(--fail);stroke-width:2.5}
svg .arrow.never{stroke:#9e9e9e;stroke-dasharray:6 5}
svg .arrow.dashed{stroke-dasharray:6 5}
svg .label{font-size:13px;font-family:ui-monospace,"DejaVu Sans Mono",monospace;paint-order:stroke;
 stroke:#fff;stroke-width:5px;stroke-linejoin:round}svg .muted{fill:#8c959f}
svg .broken .label{stroke:#fdecea}
svg .verdict{font-size:14px;font-weight:600}svg .verdict.fail{fill:var(--fail)}svg .verdict.pass{fill:var(--pass)}
svg .verdict.cond{fill:var(--cond)}svg .verdict.unknown{fill:var(--muted)}
svg .broken-band{fill:#fdecea;stroke:#f5b7b1}svg .this{font-size:12px;fill:#8c959f}
.ending{font-weight:600;margin:4px 0 0}.ending.fail,.fail-text{color:var(--fail)}.ending.cond{color:var(--cond)}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px;white-space:pre-wrap;
 word-break:break-word;margin:0}
pre.console{color:var(--fail);background:#fff5f5;border-color:#f5c2c0}
.cause{color:var(--cond);font-weight:600}
ul.fix{margin:0;padding-left:20px}ul.fix li{margin:3px 0}.on{color:#57606a}.why{color:#57606a;font-size:13px}
.unfixable{color:var(--fail)}
table.checks td:first-child{width:1%;white-space:nowrap}table.checks b{white-space:nowrap}.detail{color:#57606a;font-size:13px}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;color:#fff;
 background:var(--muted)}.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}
.badge.cond{background:var(--cond)}.badge.skip,.badge.info{background:#8c959f}
tr.check.fail td{background:#fff5f5}
details.framework{border:1px solid var(--line);border-radius:6px;margin:8px 0}
details.framework summary{cursor:pointer;padding:8px 12px;font-weight:600;background:var(--bg)}
details.framework pre{border:0;border-top:1px solid var(--line);border-radius:0}
"""
