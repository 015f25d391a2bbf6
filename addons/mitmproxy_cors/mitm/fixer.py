"""Trying the server's CORS fix through the proxy (`cors_fix`, `cors_policy`) and printing it as
configuration for the user's framework (`cors.fix`).

Hooks, and why there:

* ``request``: a CORS preflight in a `cors_policy` scope is answered by the proxy, as the emulated
  middleware would answer it; nothing goes upstream.
* ``responseheaders``: the server's response is judged on its own (server/fix_plan.py) and, in
  scope, a failing preflight is replaced by a 204 and an actual response gets its CORS headers
  corrected (or decorated by the policy). Headers are final here, so streamed responses are
  patched too. This addon runs before mitmproxy's ``modify_headers``, which may still change them.
* ``response``: what was changed is measured against the server's original headers (whoever
  changed them, --modify-headers included), recorded in ``flow.metadata["cors_patch"]`` and
  logged. The observer's ``response`` hook runs after this one and judges the final headers.

``cors.fix`` renders what the selected flows need (server/snippets.py), saying first when the
server already sends CORS headers; with a path it writes that text to a new file, atomically and
never over an existing one.

Flows out of every scope are not touched. The fix text for blocked flows (`cors_fix` in the report)
is part of the flow's Decision (pipeline.py), judged there on the server's original response that
this addon records in ``cors_patch``; header values of cookies and credentials are not recorded.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Sequence

from mitmproxy import command, ctx, exceptions, flow, flowfilter, http, types

from ..audit.policy_check import policy_findings
from ..engine.model import Headers
from ..engine.request_mode import classify
from ..pipeline import REDACTED, SECRET_HEADERS, redact, requirement_for
from ..server.fix_plan import Plan, plan
from ..server.middleware import answer_preflight, decorate, is_preflight
from ..server.snippets import FRAMEWORKS, aggregate, framework_name, policy_for, problems_text, render, report
from .addon_chain import foreign_addons_with
from .options import flow_filter, reported
from .policy_file import LoadedPolicy, PolicyError, load_policy_file
from .snapshot import PATCH_KEY, exchange_of, request_of

logger = logging.getLogger("mitmproxy_cors.fix")

META_PATCH = PATCH_KEY
_CORS_NAMES = ("access-control-", "vary")
_RELOAD_INTERVAL = 1.0
PENDING_FLOWS = 10_000


def _fields(h: http.Headers) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in h.fields]


def _encode(fields: list[tuple[str, str]]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in fields)


def _drop_body(_data: bytes) -> list[bytes]:
    return []


def header_changes(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> list[dict]:
    """Per header name (case-insensitive, first spelling kept): what changed, in a stable order."""
    def table(fields):
        out: dict[str, tuple[str, list[str]]] = {}
        for k, v in fields:
            entry = out.setdefault(k.lower(), (k, []))
            entry[1].append(v)
        return out

    old, new = table(before), table(after)
    changes = []
    for low in list(old) + [n for n in new if n not in old]:
        o, n = old.get(low), new.get(low)
        if o is not None and n is not None and o[1] == n[1]:
            continue
        name = (n or o)[0]
        action = "add" if o is None else "remove" if n is None else "set"
        changes.append({"header": name, "action": action,
                        "before": ", ".join(o[1]) if o else None, "after": ", ".join(n[1]) if n else None})
    return changes


def changes_text(changes: list[dict]) -> str:
    sign = {"add": "+", "remove": "-", "set": "~"}
    return " ".join(f"{sign[c['action']]}{c['header']}" for c in changes) or "(no header changed)"


class CorsFixer:
    name = "cors_fixer"

    def __init__(self) -> None:
        self.fix_filter: flowfilter.TFilter | None = None
        self.policies: list[LoadedPolicy] = []
        self.policy_path = ""
        self._policy_mtime: float | None = None
        self._next_stat = 0.0
        self.patched = 0
        # flow id -> (status, header fields) as the server sent them, for flows nothing patched in
        # `responseheaders`: `response` then only compares (mitmproxy's header fields are an
        # immutable tuple, so keeping a reference is a snapshot). Bounded: some flows never finish.
        self._originals: dict[str, tuple[int, tuple]] = {}
        self._settled: dict[str, None] = {}  # flows `settle` finished before their `response` (bounded)
        self._others_may_patch = True  # until configure/running know better
        # The per-flow hooks' guard: is there anything to patch, or to watch another addon patch?
        self.watching = True

    def _watch(self) -> None:
        self.watching = self.fix_filter is not None or bool(self.policies) or self._others_may_patch

    def running(self) -> None:
        self._others_may_patch = _others_may_patch()
        self._watch()

    # -- options --------------------------------------------------------------------------------

    def load(self, loader) -> None:
        loader.add_option(
            "cors_fix", str, "",
            "Flow filter: for matching flows, apply the smallest CORS change that makes the browser "
            "allow them (failing preflights answered 204; ACAO/ACAC/ACEH corrected). Empty: off. "
            "Example: '~d api.example.com'; '~all' for every flow.",
        )
        loader.add_option(
            "cors_policy", str, "",
            "A TOML/YAML/JSON file describing the server-side CORS configuration to emulate "
            "(origins, methods, headers, credentials, ...) with a flow filter 'scope'. Empty: off.",
        )

    def configure(self, updated: set[str]) -> None:
        with reported(updated):
            self._configure(updated)

    def _configure(self, updated: set[str]) -> None:
        # Compute everything first, then switch: a bad value leaves the previous configuration in force.
        new_filter = self.fix_filter
        new_policies, new_path, new_mtime = self.policies, self.policy_path, self._policy_mtime
        if "cors_fix" in updated:
            new_filter = flow_filter("cors_fix", ctx.options.cors_fix.strip())
        if "cors_policy" in updated:
            path = ctx.options.cors_policy.strip()
            if not path:
                new_policies, new_path, new_mtime = [], "", None
            elif path != self.policy_path or self._mtime(path) != self._policy_mtime:
                try:
                    new_policies = load_policy_file(path)
                except PolicyError as e:
                    raise exceptions.OptionsError(f"cors_policy: {e}") from None
                new_path, new_mtime = path, self._mtime(path)
                for lp in new_policies:
                    for w in lp.policy.warnings:
                        logger.warning("cors_policy %s: %s: %s", path, lp.policy.label(), w)
                    # The proxy answers as the policy says; an opening the audit would flag is said at once.
                    for finding in policy_findings(lp.policy):
                        logger.warning("cors_policy %s: %s: the audit would flag this policy: %s %s, %s (granted: %s); "
                                       "fix: %s", path, lp.policy.label(), finding.severity, finding.kind,
                                       finding.title(), ", ".join(finding.origins_granted[:3]),
                                       finding.fix[0] if finding.fix else "")
        self.fix_filter = new_filter
        changed_policy = new_path != self.policy_path or new_policies is not self.policies
        self.policies, self.policy_path, self._policy_mtime = new_policies, new_path, new_mtime
        if "cors_fix" in updated and ctx.options.cors_fix.strip():
            logger.info("cors_fix: patching flows matching %s", ctx.options.cors_fix.strip())
        if updated & {"modify_headers", "scripts"}:
            self._others_may_patch = _others_may_patch()
        self._watch()
        if changed_policy and self.policies:
            logger.info("cors_policy: %s: %s", self.policy_path,
                        "; ".join(f"{lp.policy.label()} ({lp.policy.middleware})"
                                  + (f" for {lp.policy.scope}" if lp.policy.name else "")
                                  for lp in self.policies))

    @staticmethod
    def _mtime(path: str) -> float | None:
        try:
            return os.stat(os.path.expanduser(path)).st_mtime
        except OSError:
            return None

    def _maybe_reload(self) -> None:
        """Pick up edits to the policy file; a broken edit is reported and the old policy kept."""
        if not self.policy_path or time.monotonic() < self._next_stat:
            return
        self._next_stat = time.monotonic() + _RELOAD_INTERVAL
        mtime = self._mtime(self.policy_path)
        if mtime is None or mtime == self._policy_mtime:
            return
        self._policy_mtime = mtime
        try:
            self.policies = load_policy_file(self.policy_path)
            self._watch()
            logger.info("cors_policy: reloaded %s", self.policy_path)
        except PolicyError as e:
            logger.error("cors_policy: %s; keeping the previous policy", e)

    @property
    def active(self) -> bool:
        return self.fix_filter is not None or bool(self.policies)

    def _policy_for(self, f: http.HTTPFlow) -> LoadedPolicy | None:
        for lp in self.policies:
            if lp.matches(f):
                return lp
        return None

    # -- hooks ------------------------------------------------------------------------------------

    def request(self, f: http.HTTPFlow) -> None:
        if not self.policies or f.response or f.error or not f.live:
            return
        try:
            self._request(f)
        except Exception:  # never break a flow: it goes upstream unanswered
            logger.exception("cors_policy: could not answer %s %s", f.request.method, f.request.pretty_url)

    def _request(self, f: http.HTTPFlow) -> None:
        self._maybe_reload()
        lp = self._policy_for(f)
        if lp is None:
            return
        req = request_of(f)
        if not is_preflight(req):
            return
        answer = answer_preflight(lp.policy, req)
        f.response = self._make_response(answer.status, answer.headers, answer.body)
        f.metadata[META_PATCH] = {
            "patched": True, "by": f"policy {lp.policy.label()}", "middleware": lp.policy.middleware,
            "answered_by_proxy": True, "server": None, "original": None,
            "note": "preflight answered by the emulated middleware; the server never saw it",
            "_expected": [list(x) for x in answer.headers],
        }

    def responseheaders(self, f: http.HTTPFlow) -> None:
        if not self.watching or f.response is None:
            return
        meta = f.metadata.get(META_PATCH)
        if meta is not None and meta.get("answered_by_proxy"):
            return  # our own answer from `request`
        try:
            self._responseheaders(f)
        except Exception:  # never break a flow; the observer still judges it
            logger.exception("cors_fix: could not process %s %s", f.request.method, f.request.pretty_url)

    def _responseheaders(self, f: http.HTTPFlow) -> None:
        lp = self._policy_for(f) if (self.policies and f.live) else None
        in_fix_scope = f.live and self.fix_filter is not None and self.fix_filter(f)
        if lp is None and not in_fix_scope:
            # Nothing of ours applies (the usual case: patching off). Only remember what the server
            # sent, in case another addon (--modify-headers) changes it before `response`.
            self._originals[f.id] = (f.response.status_code, f.response.headers.fields)
            if len(self._originals) > PENDING_FLOWS:
                del self._originals[next(iter(self._originals))]
            return
        req = request_of(f)
        original = _fields(f.response.headers)
        status = f.response.status_code
        p = plan(req, status, Headers(original))
        if p.kind == "none" and lp is None:
            return
        meta = f.metadata[META_PATCH] = _patch_meta(p, status, original)
        if lp is not None and p.kind != "preflight":
            # A middleware decorates every response, CORS or not (Vary: Origin, Flask-CORS' always_send).
            new = decorate(lp.policy, req, Headers(original))
            meta["by"], meta["middleware"] = f"policy {lp.policy.label()}", lp.policy.middleware
            if new != original:
                f.response.headers.fields = _encode(new)
            meta["_expected"] = [list(x) for x in new]
        elif in_fix_scope:
            meta["by"] = "cors_fix"
            if p.action == "answer":
                old = f.response
                new_response = self._make_response(p.status, p.headers, b"")
                new_response.timestamp_start = old.timestamp_start
                if old.stream:
                    new_response.stream = _drop_body  # the server's body never reaches the browser
                else:
                    meta["_clear_body"] = True  # the layer will store the server's body; drop it in `response`
                f.response = new_response
                meta["answered_by_proxy"] = True
                meta["_expected"] = [list(x) for x in p.headers]
            elif p.action == "patch":
                f.response.headers.fields = _encode(p.headers)
                meta["_expected"] = [list(x) for x in p.headers]
            elif p.action == "unfixable":
                meta["not_fixable"] = p.why
        if "_expected" not in meta:
            meta["_expected"] = [list(x) for x in original]
        meta["_original"] = original

    def settle(self, f: http.HTTPFlow) -> None:
        """Record now what `response` would record: a long-lived response is judged at its headers
        (mitm/observer.py), and its `response` comes only when the stream closes."""
        self.response(f)
        self._settled[f.id] = None
        if len(self._settled) > PENDING_FLOWS:
            del self._settled[next(iter(self._settled))]

    def response(self, f: http.HTTPFlow) -> None:
        if self._settled and self._settled.pop(f.id, 0) is None:
            return  # recorded by `settle`
        if not self.watching and META_PATCH not in f.metadata:
            return
        sent = self._originals.pop(f.id, None)
        if f.response is None:
            return
        meta = f.metadata.get(META_PATCH)
        if meta is None:
            if sent is None or (sent[0] == f.response.status_code and sent[1] == f.response.headers.fields):
                return  # nobody changed the server's response
            try:
                meta = self._changed_by_others(f, *sent)
            except Exception:
                logger.exception("cors_fix: could not record %s %s", f.request.method, f.request.pretty_url)
                return
            if meta is None:
                return
        try:
            self._finish(f, meta)
        except Exception:
            logger.exception("cors_fix: could not record %s %s", f.request.method, f.request.pretty_url)

    def error(self, f: http.HTTPFlow) -> None:
        if self._settled and self._settled.pop(f.id, 0) is None:
            return  # recorded by `settle`
        if not self.watching and META_PATCH not in f.metadata:
            return
        self._originals.pop(f.id, None)
        meta = f.metadata.get(META_PATCH)
        if meta is not None:
            meta.pop("_expected", None)
            meta.pop("_clear_body", None)
            meta.pop("_original", None)
        if f.response is not None:
            return
        try:
            self._error(f)
        except Exception:
            logger.exception("cors_fix: could not record %s %s", f.request.method, f.request.pretty_url)

    def _error(self, f: http.HTTPFlow) -> None:
        req = request_of(f)
        if classify(req).kind not in ("preflight", "cors"):
            return
        why = (f"no response from the server ({f.error.msg if f.error else 'unknown error'}): "
               "no CORS header can fix that; fix the connection or the server")
        lp = self._policy_for(f) if f.live else None
        if f.live and (lp is not None or (self.fix_filter is not None and self.fix_filter(f))):
            by = f"policy {lp.policy.label()}" if lp is not None else "cors_fix"
            f.metadata[META_PATCH] = {"patched": False, "by": by, "answered_by_proxy": False,
                                      "server": None, "original": None, "not_fixable": why}
            logger.info("%s: %s %s not fixable: %s", by, f.request.method, f.request.pretty_url, why)

    # -- work ---------------------------------------------------------------------------------------

    def _changed_by_others(self, f: http.HTTPFlow, status: int, fields: tuple) -> dict | None:
        """Another addon changed a response we left alone: judge the server's own response, as
        `_responseheaders` does for flows in scope, so that `_finish` can show the difference."""
        headers = Headers.from_bytes(fields)
        p = plan(request_of(f), status, headers)
        if p.kind == "none":
            return None
        meta = f.metadata[META_PATCH] = _patch_meta(p, status, headers.fields)
        meta["_expected"] = meta["_original"] = [list(x) for x in headers.fields]  # `_finish` names who changed it
        return meta

    def _finish(self, f: http.HTTPFlow, meta: dict) -> None:
        if meta.pop("_clear_body", False) and f.response.raw_content is not None:
            f.response.raw_content = b""
        expected = [tuple(x) for x in meta.pop("_expected", [])]
        final = _fields(f.response.headers)
        original = meta.get("original")
        before = [tuple(x) for x in meta.pop("_original", [])]
        changes = header_changes(before, final)
        meta["changed"] = [_redact_change(c) for c in changes]
        if original and original["status"] != f.response.status_code:
            meta["status"] = [original["status"], f.response.status_code]
        if expected and final != expected:
            others = header_changes([tuple(x) for x in expected], final)
            meta["note"] = ("changed after " + (meta.get("by") or "the server") + " by another addon "
                            "(e.g. --modify-headers): " + changes_text(others))
            if meta.get("by") is None:
                meta["by"] = "another addon (e.g. --modify-headers)"
        meta["patched"] = bool(changes) or "status" in meta
        if not meta["patched"]:
            if meta.get("by") is None and "not_fixable" not in meta:
                del f.metadata[META_PATCH]
            return
        req = request_of(f)
        now = plan(req, f.response.status_code, Headers(final))
        meta["with_fix"] = _server_dict(now)
        self.patched += 1
        if meta.get("server"):
            server = meta["server"]["text"]
        else:
            server = "not asked" if meta.get("answered_by_proxy") else "n/a (not a CORS request)"
        how = "answered by the proxy" if meta.get("answered_by_proxy") else "headers changed"
        peer = f.client_conn.peername if f.client_conn else None
        logger.info("%s: %s %s: server: %s; with fix: %s; %s: %s", meta.get("by"), f.request.method,
                    f.request.pretty_url, server, meta["with_fix"]["text"], how, changes_text(changes),
                    extra={"client": peer} if peer else None)

    @staticmethod
    def _make_response(status: int, fields: list[tuple[str, str]], body: bytes) -> http.Response:
        resp = http.Response.make(status, b"")
        fields = list(fields)
        names = {k.lower() for k, _ in fields}
        if status not in (204, 304) and "content-length" not in names and "transfer-encoding" not in names:
            fields.append(("Content-Length", str(len(body))))
        resp.headers = http.Headers(_encode(fields))
        resp.raw_content = body
        return resp

    # -- commands -------------------------------------------------------------------------------------

    @command.command("cors.fix")
    def fix(self, flows: Sequence[flow.Flow], framework: str = "all", path: types.Path = "") -> Sequence[str]:
        """The server CORS configuration that makes all these flows pass, keeping what the server's
        own CORS headers already allow; with a path, also written there (never over an existing file).

        framework: all, express, flask, starlette (fastapi), django, spring, aspnet, go, nginx.
        Example: cors.fix @marked flask cors_config.py
        """
        fw = "all" if framework.strip().lower() in ("", "all") else framework_name(framework)
        if fw is None:
            raise exceptions.CommandError(f"cors.fix: unknown framework {framework!r}; one of all, "
                                          + ", ".join(FRAMEWORKS))
        target = os.path.expanduser(path.strip()) if path and path.strip() else ""
        if target:  # before the work: a bad path is one clear error, not a late surprise
            _check_new_file(target)
        requirements = []
        for f in flows:
            if not isinstance(f, http.HTTPFlow):
                continue
            try:
                r = requirement_of(f)
            except Exception:  # one odd flow must not hide the others' configuration
                logger.exception("cors.fix: could not read %s %s", f.request.method, f.request.pretty_url)
                continue
            if r is not None:
                requirements.append(r)
        if not requirements:
            return [f"cors.fix: no CORS requests among the {len(flows)} flow(s)"
                    + ("; nothing written" if target else "")]
        needs = aggregate(requirements)

        def text_at(width: int | None) -> str:
            kw = {"width": width} if width else {}
            if fw == "all":
                return report(needs, **kw)
            return render(policy_for(needs), fw, needs, **kw) + "\n".join(problems_text(needs))

        text = text_at(None).rstrip("\n") + "\n"
        # The console's data viewer cuts long lines anywhere: its prose is wrapped to the viewer's
        # width (the configuration's code lines are not wrapped: they are pasted as they are).
        from .view import in_console, wrap_width
        width = wrap_width(command=True) if in_console() else None
        shown = text if not width or width >= 100 else text_at(width - 3)  # less the comment prefix
        lines = shown.rstrip("\n").split("\n")
        if target:
            write_new_file(target, text)
            lines.append(f"cors.fix: written to {target}")
        if needs.existing:
            logger.warning("cors.fix: the server already sends CORS headers on %d response(s): remove that "
                           "code before pasting the configuration (see the output)", len(needs.existing))
        logger.info("cors.fix: %s configuration for %d CORS flow(s)%s", fw, needs.flows,
                    f", written to {target}" if target else "")
        return lines

    @command.command("cors.fix.off")
    def fix_off(self) -> None:
        """Turn all CORS patching off: clears cors_fix and cors_policy."""
        ctx.options.update(cors_fix="", cors_policy="")
        logger.info("cors: patching off (cors_fix and cors_policy cleared)")


def _others_may_patch() -> bool:
    """Could another addon change a response between our `responseheaders` and `response`? Of
    mitmproxy's own addons only modify_headers does; a script (or an addon of someone else's) with a
    response hook might."""
    try:
        if ctx.options.modify_headers:
            return True
    except Exception:  # no options: assume so
        return True
    return foreign_addons_with(("responseheaders", "response"))


def _check_new_file(path: str) -> None:
    """A CommandError unless `path` names a file that does not exist yet in a writable folder."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        problem = "it is a directory"
    elif os.path.lexists(path):
        problem = "the file exists; cors.fix never overwrites a file: remove it or name another"
    elif not os.path.isdir(folder):
        problem = f"no such directory: {folder}"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"cannot create files in {folder}"
    else:
        return
    raise exceptions.CommandError(f"cors.fix: cannot write {path}: {problem}")


def write_new_file(path: str, text: str) -> None:
    """Write `text` to a new file at `path`, atomically: a temporary file in the same folder, then a
    hard link, which fails rather than replace a file that appeared meanwhile. Never a partial file."""
    _check_new_file(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".cors-fix-", suffix=".tmp")
    except OSError as e:
        raise exceptions.CommandError(f"cors.fix: cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is for the temporary file, not the result
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise exceptions.CommandError(f"cors.fix: cannot write {path}: the file exists; cors.fix never "
                                          "overwrites a file: remove it or name another") from None
        except OSError:  # a filesystem without hard links: rename, after one more look
            if os.path.lexists(path):
                raise exceptions.CommandError(f"cors.fix: cannot write {path}: the file exists") from None
            os.rename(tmp, path)
    except OSError as e:
        raise exceptions.CommandError(f"cors.fix: cannot write {path}: {e.strerror or e}") from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def requirement_of(f: http.HTTPFlow):
    """What the server must allow for this flow (pipeline.requirement_for), None if not a CORS request."""
    return requirement_for(exchange_of(f))


def _patch_meta(p: Plan, status: int, original) -> dict:
    """`metadata["cors_patch"]` before anything is patched: the server's response and its verdict."""
    return {"patched": False, "by": None, "answered_by_proxy": False, "server": _server_dict(p),
            "original": {"status": status, "headers": redact(original)}}


def _redact_change(c: dict) -> dict:
    if (c["header"] or "").lower() in SECRET_HEADERS:
        c = dict(c)
        for key in ("before", "after"):
            if c[key] is not None:
                c[key] = REDACTED
    return c


def _server_dict(p: Plan) -> dict | None:
    s = p.server
    if s is None:
        return None
    return {"verdict": s.verdict, "reason": s.reason, "failed_parameter": s.parameter,
            "only_with_credentials": s.only_with_credentials, "text": s.text()}
