"""The JSON Lines report: one object per Decision (pipeline.Decision.report_line), written whole and
flushed at once.

A flow whose verdict changes later (a preflight, once its actual request arrives) gets another
line with `"update": true`; the last line for a flow_id wins. Schema: docs/report-schema.md.

The file is opened (and, without `+`, truncated) only once the configuration is known to be good:
mitm/observer.py opens it in `running`, after every addon accepted its options and the proxy
listens, so a failed start never empties a report the user already has.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import IO

from mitmproxy import exceptions

logger = logging.getLogger(__name__)


def report_path(spec: str) -> tuple[str, bool]:
    """(path, append) for a `cors_report` value ('+path' appends)."""
    append = spec.startswith("+")
    return os.path.expanduser(spec[1:] if append else spec), append


def check_writable(spec: str) -> str | None:
    """Why `spec` cannot be written, without touching the file; None if it can."""
    path, _ = report_path(spec)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "it is a directory"
    if not os.path.isdir(folder):
        return f"no such directory: {folder}"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return "permission denied"
    if not os.path.exists(path) and not os.access(folder, os.W_OK):
        return f"cannot create files in {folder}"
    return None


def writable(option: str, spec: str) -> str:
    """`spec` if it is empty or can be written, else an OptionsError naming the option."""
    problem = check_writable(spec) if spec else None
    if problem:
        raise exceptions.OptionsError(f"{option}: cannot write {spec!r}: {problem}")
    return spec


class ReportWriter:
    """Writes report lines to a path; `+path` appends, like mitmproxy's `save_stream_file`. The file
    is opened (truncated without `+`) by `open`, or by the first line, whichever comes first."""

    def __init__(self, spec: str) -> None:
        self.path, self.append = report_path(spec)
        self._file: IO[str] | None = None
        self._state = "new"  # "new" | "open" | "closed"

    def open(self) -> None:
        """Raises OSError when the file cannot be opened."""
        if self._state != "new":
            return
        if not self.append:
            open(self.path, "w").close()
        # Always O_APPEND: the analysis worker (mitm/worker.py) writes to the same file.
        self._file = open(self.path, "a", encoding="utf-8")
        self._state = "open"

    def write(self, line: dict) -> None:
        if self._state == "new":
            try:
                self.open()
            except OSError as e:
                logger.error("cors_report: cannot open %s (%s); the report is stopped", self.path, e.strerror or e)
                self._state = "closed"
        if self._file is None:
            return
        try:
            try:
                text = json.dumps(line, ensure_ascii=False) + "\n"
                text.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates from undecodable bytes: escape them
                text = json.dumps(line) + "\n"
            self._file.write(text)
            self._file.flush()
        except (OSError, ValueError) as e:  # disk full, closed file: keep proxying, say it once
            logger.error("cors_report: cannot write to %s (%s); the report is stopped", self.path, e)
            self.close()

    def close(self) -> None:
        self._state = "closed"
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None


def replace_file(path: str, data: bytes, suffix: str = "") -> None:
    """Write `path` in one step: a reader (a CI job collecting the file, a browser reloading it) never
    sees it half written, and a failed write leaves the old file alone. Raises OSError."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".cors-", suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
