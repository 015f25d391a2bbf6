"""The `cors` content view (mitmproxy 11 and 12) and what makes verdicts visible in the UIs.

The view shows `explain.story()` for the selected flow, on the request and the response tab
alike. Its priority wins "auto" for empty bodies of CORS flows (preflights, 204s) and for bodies
the page never reads (a preflight's, a blocked response's), and is low otherwise, so the body of an
allowed response still opens as JSON; pick "cors" by hand there (console: `m`, mitmweb: the view
selector).

mitmproxy 12's console never consults a content view for an empty body ("No content"). There the
analysis reaches the user through the marker in the flow list, the comment and the metadata in the
Detail tab, the event log, and the command `cors.explain @focus` (docs/front-ends.md).
"""

from __future__ import annotations

import logging
import math
import re

from mitmproxy import contentviews, ctx, exceptions, http
from mitmproxy import flow as mflow

from . import explain
from .annotate import FlowIndex
from .options import reported

logger = logging.getLogger(__name__)

VIEW_NAME = "CORS"
PRIORITY_EMPTY = 0.2  # beats Raw (0.1 on 12) and "No content" (11) for empty bodies
PRIORITY_BODY = 0.05  # never beats a real body's own view
# A body the page never gets to read (a preflight's, a blocked response's): the verdict is what
# matters there, so the view wins over JSON or HTML (about 1 for their own types).
PRIORITY_UNREAD = 1.5
WRAP = 90  # columns; mitmweb shows the text in a <pre> that does not wrap (half of a 1800 px window)


def in_console() -> bool:
    try:
        return type(ctx.master).__name__ == "ConsoleMaster"
    except Exception:  # no running master
        return False


def wrap_width(command: bool = False) -> int | None:
    """Columns to fold the explanation at. The console's flow view wraps each line to the width it
    has (folding at 90 first made it wrap twice at 80 columns): none. A command's answer shows in the
    console's data viewer, which cuts lines anywhere, mid-word: fold at its width (80% of the
    terminal, less the frame). WRAP elsewhere (mitmweb, which does not wrap)."""
    try:
        master = ctx.master
        if type(master).__name__ != "ConsoleMaster":
            return WRAP
        if not command:
            return None
        cols, _rows = master.ui.get_cols_rows()
        return max(40, math.ceil(cols * 0.8) - 2)
    except Exception:  # no running master, or no screen yet
        return WRAP


def flow_finder(flows: FlowIndex):
    """A flow by id: from the observer's recent flows, else from the View (console, mitmweb)."""
    def find(flow_id: str) -> mflow.Flow | None:
        f = flows.get(flow_id)
        if f is not None:
            return f
        try:
            view = ctx.master.addons.get("view")
        except Exception:  # no running master (a bare unit test)
            return None
        if view is not None:
            try:
                return view.get_by_id(flow_id)
            except Exception:
                return None
        return None
    return find


def _priority(data: bytes, f: mflow.Flow | None, message=None) -> float:
    if not isinstance(f, http.HTTPFlow):
        return 0.0
    v = explain.verdict_of(f)
    if not explain.is_cors(v):
        return 0.0
    if not data:
        return PRIORITY_EMPTY
    if message is not None and message is f.response and (
            v.get("kind") == "preflight" or v.get("verdict") == "blocked" and v.get("reason")):
        return PRIORITY_UNREAD
    return PRIORITY_BODY


def _description(f: mflow.Flow | None) -> str:
    v = explain.verdict_of(f) if f is not None else None
    return explain.title(v)[1] if v else "CORS"


_STYLE_11 = {  # console palette names of mitmproxy 11
    "title-blocked": "error", "title-allowed": "code_200", "title-warn": "warn", "title-na": "header",
    "head": "header", "text": "text", "pass": "code_200", "fail": "error", "cond": "warn", "skip": "text",
    "info": "text", "fix": "highlight", "warn": "warn", "dim": "text",
}

if hasattr(contentviews, "Contentview"):  # mitmproxy >= 12
    NEEDS_REMOVE = False

    class CorsContentview(contentviews.Contentview):
        name = VIEW_NAME
        syntax_highlight = "none"
        find = staticmethod(lambda _id: None)  # set by CorsDisplay: a paired flow by its id
        line_of = staticmethod(lambda _f: None)  # set by CorsDisplay: a flow's whole report line

        def prettify(self, data: bytes, metadata: contentviews.Metadata) -> str:
            f = metadata.flow
            if f is None:
                return "CORS: this view explains HTTP flows; no flow was given."
            return explain.text(f, self.find, width=wrap_width(), line=self.line_of(f))

        def render_priority(self, data: bytes, metadata: contentviews.Metadata) -> float:
            if metadata.http_message is None:
                return -1
            p = _priority(data, metadata.flow, metadata.http_message)
            return p if p > 0 else -1

else:  # mitmproxy 11
    NEEDS_REMOVE = True

    class CorsContentview(contentviews.View):  # type: ignore[no-redef]
        name = VIEW_NAME
        find = staticmethod(lambda _id: None)  # set by CorsDisplay: a paired flow by its id
        line_of = staticmethod(lambda _f: None)  # set by CorsDisplay: a flow's whole report line

        def __call__(self, data: bytes, *, content_type=None, flow=None, http_message=None, **unknown):
            if flow is None:
                return "CORS", contentviews.format_text("CORS: this view explains HTTP flows; no flow was given.")
            lines = explain.story(flow, self.find, self.line_of(flow))
            width = wrap_width()
            if width:
                lines = explain.wrap(lines, width)
            # 11's web UI drops empty lines: keep the blank separators with a space.
            return _description(flow), ([(_STYLE_11.get(style, "text"), text or " ")] for style, text in lines)

        def render_priority(self, data: bytes, *, content_type=None, flow=None, http_message=None,
                            **unknown) -> float:
            if http_message is None:
                return 0
            return _priority(data, flow, http_message)


KEY_CONTEXTS = ["flowlist", "flowview"]
KEY_COMMAND = "cors.explain @focus"
_KEY = re.compile(r"[!-~]|(ctrl|meta|shift) \S+|f\d{1,2}")


class CorsDisplay:
    """Registers the content view, adds the comment column to mitmweb's flow list and binds a
    console key to `cors.explain @focus` (12's console shows no view for empty bodies)."""

    name = "cors-display"

    def __init__(self, flows: FlowIndex) -> None:
        self.view = CorsContentview()
        self.view.find = flow_finder(flows)
        self.view.line_of = flows.line_of
        self._added = False
        self._bound: str | None = None

    def load(self, loader) -> None:
        loader.add_option(
            "cors_console_key", str, "c",
            "Console: the key (in the flow list and flow view) that runs 'cors.explain @focus'; "
            "empty for none. A binding of your own in keys.yaml wins.",
        )
        try:
            contentviews.add(self.view)
            self._added = True
        except ValueError:  # 11: a stale view of a previous load that missed done()
            old = contentviews.get(VIEW_NAME)
            if old is not None:
                contentviews.remove(old)
            contentviews.add(self.view)
            self._added = True

    def configure(self, updated: set[str]) -> None:
        if "cors_console_key" in updated:
            key = ctx.options.cors_console_key
            if key and not _KEY.fullmatch(key):
                with reported(updated):
                    raise exceptions.OptionsError(
                        f"cors_console_key must be one key such as 'c', 'ctrl x' or 'f5' (or empty), not {key!r}")
                return
            if self._bound is not None:  # changed at runtime: move the binding
                self._bind_key()

    def running(self) -> None:
        self._web_columns()
        self._bind_key()

    def _bind_key(self) -> None:
        keymap = getattr(ctx.master, "keymap", None)  # only the console has one
        if keymap is None:
            return
        if self._bound:
            for c in KEY_CONTEXTS:
                b = keymap.get(c, self._bound)
                if b is not None and b.command.strip() == KEY_COMMAND:
                    keymap.remove(self._bound, [c])
            self._bound = None
        key = ctx.options.cors_console_key
        if not key:
            self._bound = ""
            return
        taken = [c for c in KEY_CONTEXTS if keymap.get(c, key) is not None or keymap.get("global", key) is not None]
        if taken:
            logger.warning("cors_console_key: '%s' is already bound in %s; not binding cors.explain",
                           key, ", ".join(taken))
            self._bound = ""
            return
        keymap.add(key, KEY_COMMAND, KEY_CONTEXTS, "Explain the CORS verdict of this flow")
        self._bound = key

    def done(self) -> None:
        if self._added and NEEDS_REMOVE:
            try:
                contentviews.remove(self.view)
            except ValueError:
                pass
        self._added = False

    def _web_columns(self) -> None:
        """mitmweb: show the comment (our one-line verdict) unless the user chose the columns."""
        opts = ctx.options
        if "web_columns" not in opts:
            return
        current = list(opts.web_columns)
        if "comment" in current or current != list(opts.default("web_columns")):
            return
        opts.update(web_columns=current + ["comment"])
        logger.debug("mitmproxy-cors: added the comment column to mitmweb's flow list")
