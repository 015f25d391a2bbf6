"""Trying the server's CORS fix through the proxy (`cors_fix`, `cors_policy`) and printing it as
configuration for the user's framework (`cors.fix`).

Hooks, and why there:

* ``request``: a CORS preflight in a `cors_policy` scope is answered by the proxy, as the emulated
  middleware would answer it; nothing goes upstream.
* ``responseheaders``: the server's response is judged on its own (engine.fix_plan) and, in
  scope, a failing preflight is replaced by a 204 and an actual response gets its CORS headers
  corrected (or decorated by the policy). Headers are final here, so streamed responses are
  patched too. This addon runs before mitmproxy's ``modify_headers``, which may still change them.
* ``response``: what was changed is measured against the server's original headers (whoever
  changed them, --modify-headers included), recorded in ``flow.metadata["cors_patch"]`` and
  logged. The observer's ``response`` hook runs after this one and judges the final headers.

Flows out of every scope are not touched.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Sequence

from mitmproxy import command, ctx, exceptions, flow, flowfilter, http

from ..engine.cors_policy import answer_preflight, decorate, is_preflight
from ..engine.fix_plan import Plan, Requirement, plan
from ..engine.model import Headers, RequestSnapshot
from ..engine.request_mode import classify
from ..engine.snippets import (FRAMEWORKS, aggregate, framework_name, policy_for, problems_text,
                               render, render_all, report)
from .addon_chain import foreign_addons_with
from .policy import LoadedPolicy, PolicyError, load_policy_file
from .snapshot import request_of

logger = logging.getLogger("mitmproxy_cors.fix")

META_PATCH = "cors_patch"
META_FIX = "cors_fix"
_CORS_NAMES = ("access-control-", "vary")
_RELOAD_INTERVAL = 1.0
PENDING_FLOWS = 10_000


def _fields(h: http.Headers) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in h.fields]


def _encode(fields: list[tuple[str, str]]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in fields)


# render_all() for one flow's needs, memoised: every blocked flow of an endpoint needs the same
# configuration, and rendering eight frameworks per flow was most of the addon's cost per flow.
_CONFIGS_CACHE_SIZE = 256
_configs_cache: OrderedDict[tuple, dict[str, str]] = OrderedDict()


def _configs_for(needs) -> dict[str, str]:
    """`render_all(policy_for(needs), needs)` (a pure function of `needs`), as a fresh dict."""
    key = tuple(tuple(v) if isinstance(v, list) else v
                for v in (getattr(needs, name) for name in needs.__dataclass_fields__))
    try:
        configs = _configs_cache.get(key)
    except TypeError:  # something unhashable in `needs`: render it, uncached
        return render_all(policy_for(needs), needs)
    if configs is None:
        configs = render_all(policy_for(needs), needs)
        _configs_cache[key] = configs
        if len(_configs_cache) > _CONFIGS_CACHE_SIZE:
            _configs_cache.popitem(last=False)
    else:
        _configs_cache.move_to_end(key)
    return dict(configs)


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
        self._others_may_patch = True  # until configure/running know better
        self._set_hooks()

    def _set_hooks(self) -> None:
        """mitmproxy asks every addon about every event of every flow, so per-flow hooks with nothing
        to do are left off (instance attributes, set or removed here): `request` answers preflights
        for a policy; `responseheaders` and `response` patch, or record what another addon (such as
        --modify-headers) changed in a response. `error` fires rarely and stays."""
        hooks = {"request": self.on_request if self.policies else None}
        wanted = self.active or self._others_may_patch
        hooks["responseheaders"] = self.on_responseheaders if wanted else None
        hooks["response"] = self.on_response if wanted else None
        for name, fn in hooks.items():
            if fn is None:
                self.__dict__.pop(name, None)
            else:
                setattr(self, name, fn)

    def running(self) -> None:
        self._others_may_patch = _others_may_patch()
        self._set_hooks()

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
        # Compute everything first, then switch: a bad value leaves the previous configuration in force.
        new_filter = self.fix_filter
        new_policies, new_path, new_mtime = self.policies, self.policy_path, self._policy_mtime
        if "cors_fix" in updated:
            spec = ctx.options.cors_fix.strip()
            new_filter = None
            if spec:
                try:
                    new_filter = flowfilter.parse(spec)
                except ValueError as e:
                    raise exceptions.OptionsError(
                        f"cors_fix: {e} (a mitmproxy flow filter such as '~d api.example.com' or '~all')"
                    ) from None
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
        self.fix_filter = new_filter
        changed_policy = new_path != self.policy_path or new_policies is not self.policies
        self.policies, self.policy_path, self._policy_mtime = new_policies, new_path, new_mtime
        if "cors_fix" in updated and ctx.options.cors_fix.strip():
            logger.info("cors_fix: patching flows matching %s", ctx.options.cors_fix.strip())
        if updated & {"modify_headers", "scripts"}:
            self._others_may_patch = _others_may_patch()
        self._set_hooks()
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

    def on_request(self, f: http.HTTPFlow) -> None:
        if f.response or f.error or not f.live or not self.policies:
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

    def on_responseheaders(self, f: http.HTTPFlow) -> None:
        if f.response is None:
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
        self._record_fix_text(f, p)
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

    def on_response(self, f: http.HTTPFlow) -> None:
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
        self._originals.pop(f.id, None)
        meta = f.metadata.get(META_PATCH)
        if meta is not None:
            meta.pop("_expected", None)
            meta.pop("_clear_body", None)
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
        f.metadata[META_FIX] = {"requirement": None, "configs": None, "not_fixable": why}
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
        self._record_fix_text(f, p)
        meta = f.metadata[META_PATCH] = _patch_meta(p, status, headers.fields)
        meta["_expected"] = meta["original"]["headers"]  # what we left; `_finish` names who changed it
        return meta

    def _finish(self, f: http.HTTPFlow, meta: dict) -> None:
        if meta.pop("_clear_body", False) and f.response.raw_content is not None:
            f.response.raw_content = b""
        expected = [tuple(x) for x in meta.pop("_expected", [])]
        final = _fields(f.response.headers)
        original = meta.get("original")
        before = [tuple(x) for x in original["headers"]] if original else []
        changes = header_changes(before, final)
        meta["changed"] = changes
        if original and original["status"] != f.response.status_code:
            meta["status"] = [original["status"], f.response.status_code]
        if expected and final != expected:
            others = header_changes(expected, final)
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
    def _record_fix_text(f: http.HTTPFlow, p: Plan) -> None:
        record = _fix_text(p)
        if record is not None:
            f.metadata[META_FIX] = record

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
    def fix(self, flows: Sequence[flow.Flow], framework: str = "all") -> Sequence[str]:
        """The smallest server CORS configuration that makes all these flows pass.

        framework: all, express, flask, starlette (fastapi), django, spring, aspnet, go, nginx.
        Example: cors.fix @marked flask
        """
        fw = "all" if framework.strip().lower() in ("", "all") else framework_name(framework)
        if fw is None:
            raise exceptions.CommandError(f"cors.fix: unknown framework {framework!r}; one of all, "
                                          + ", ".join(FRAMEWORKS))
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
            return [f"cors.fix: no CORS requests among the {len(flows)} flow(s)"]
        needs = aggregate(requirements)
        if fw == "all":
            text = report(needs)
        else:
            text = render(policy_for(needs), fw, needs) + "\n".join(problems_text(needs))
        logger.info("cors.fix: %s configuration for %d CORS flow(s)", fw, needs.flows)
        return text.rstrip("\n").split("\n")

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


def requirement_of(f: http.HTTPFlow) -> Requirement | None:
    """What the server must allow for this flow, judged on the server's own response."""
    req: RequestSnapshot = request_of(f)
    kind = classify(req).kind
    if kind not in ("preflight", "cors"):
        return None
    meta = f.metadata.get(META_PATCH) or {}
    original = meta.get("original")
    if original:
        status, headers = original["status"], Headers([tuple(x) for x in original["headers"]])
    elif f.response is not None and not meta.get("answered_by_proxy"):
        status, headers = f.response.status_code, Headers(_fields(f.response.headers))
    elif f.response is not None:  # answered by a policy: the server never saw it
        status, headers = 204, Headers()
    else:
        r = Requirement("preflight" if kind == "preflight" else "actual", req.url,
                        req.headers.get("Origin") or "null", req.method)
        r.problem = (f"no response from the server ({f.error.msg if f.error else 'none yet'}): "
                     "no CORS header can fix that")
        return r
    return plan(req, status, headers).requirement


def _fix_text(p: Plan) -> dict | None:
    """For a flow the server's response blocks: the server configuration that fixes it."""
    r = p.requirement
    if p.server is None or p.server.verdict != "blocked" or r is None:
        return None
    if r.problem:
        return {"requirement": r.to_dict(), "configs": None, "not_fixable": r.problem}
    return {"requirement": r.to_dict(), "configs": _configs_for(aggregate([r])), "not_fixable": None}


def fix_record(f: http.HTTPFlow, req: RequestSnapshot | None = None,
               headers: Headers | None = None) -> dict | None:
    """`flow.metadata["cors_fix"]` for a flow the browser blocks, judged on the server's own response:
    the observer asks for it only then, so flows that pass cost nothing here. `req`: the request
    as the browser sent it, `headers`: the response's headers as they are now, when the caller has them."""
    if f.response is None:
        return None
    if headers is None:
        headers = Headers.from_bytes(f.response.headers.fields)
    return fix_record_of(req or request_of(f), f.response.status_code, headers, f.metadata.get(META_PATCH))


def fix_record_of(req: RequestSnapshot, status: int, headers: Headers, patch: dict | None) -> dict | None:
    """`fix_record` from plain data (the analysis worker has no flow): `patch` is the flow's
    `metadata["cors_patch"]`, which holds the server's original response when the proxy changed it."""
    meta = patch or {}
    if meta.get("answered_by_proxy"):
        return None  # the server never saw it; `_responseheaders` recorded the fix, if any
    original = meta.get("original")
    if original:
        status, headers = original["status"], Headers([tuple(x) for x in original["headers"]])
    return _fix_text(plan(req, status, headers))


def _patch_meta(p: Plan, status: int, original) -> dict:
    """`metadata["cors_patch"]` before anything is patched: the server's response and its verdict."""
    return {"patched": False, "by": None, "answered_by_proxy": False, "server": _server_dict(p),
            "original": {"status": status, "headers": [list(x) for x in original]}}


def _server_dict(p: Plan) -> dict | None:
    s = p.server
    if s is None:
        return None
    return {"verdict": s.verdict, "reason": s.reason, "failed_parameter": s.parameter,
            "only_with_credentials": s.only_with_credentials, "text": s.text()}
