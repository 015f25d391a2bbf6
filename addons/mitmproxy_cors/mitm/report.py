"""The JSON Lines report: one object per decided flow, written whole and flushed at once.

A flow whose verdict changes later (a preflight, once its actual request arrives) gets another
line with `"update": true`; the last line for a flow_id wins. Schema: docs/report-schema.md.
"""

from __future__ import annotations

import json
import logging
import os
from typing import IO

from ..engine.verdict import Verdict

logger = logging.getLogger(__name__)


def report_line(v: Verdict, update: bool = False) -> dict:
    return {
        "flow_id": v.flow_id,
        "time": v.time,
        "method": v.method,
        "url": v.url,
        "origin": v.origin,
        "kind": v.kind,
        "verdict": v.verdict,
        "reason": v.reason,
        "failed_parameter": v.failed_parameter,
        "firefox_reason": v.firefox_reason,
        "message": v.message,
        "fix": [
            {"response": s.response, "action": s.action, "header": s.header, "value": s.value,
             "why": s.why, "required": s.required, "text": s.text()}
            for s in v.fix
        ],
        "paired_flow_id": v.paired_flow_id,
        "credentials": v.credentials,
        "conditional": v.conditional,
        "credentials_source": v.credentials_source,
        "mode": v.mode,
        "mode_source": v.mode_source,
        "failures": [{"reason": f.reason, "failed_parameter": f.parameter} for f in v.failures],
        "redirected_from": v.redirected_from,
        "preflight_cache": v.preflight_cache,
        "cause": v.cause,
        "warnings": v.warnings,
        "notes": v.notes,
        "firefox_note": v.firefox_note,
        "exposed_headers": v.exposed_headers,
        "unexposed_headers": v.unexposed_headers,
        "summary": v.summary(),
        "update": update,
    }


class ReportWriter:
    """Writes report lines to a path; `+path` appends, like mitmproxy's `save_stream_file`."""

    def __init__(self, spec: str) -> None:
        append = spec.startswith("+")
        self.path = os.path.expanduser(spec[1:] if append else spec)
        if not append:
            open(self.path, "w").close()
        # Always O_APPEND: the analysis worker (mitm/worker.py) writes to the same file.
        self._file: IO[str] | None = open(self.path, "a", encoding="utf-8")

    def write(self, v: Verdict | dict, update: bool = False, extra: dict | None = None) -> None:
        """`v`: a verdict, or its `report_line` (as stored in `flow.metadata["cors"]`); `extra`:
        more fields from other addons (the fixer's `cors_fix` and `cors_patch`)."""
        if self._file is None:
            return
        line = dict(v, update=update) if isinstance(v, dict) else report_line(v, update)
        if extra:
            line.update(extra)
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
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None
