"""Our options' choices, the one way a value is checked against them, and how a bad value is told.

mitmproxy lists an option's `choices` in its help but does not enforce them; each addon checks its
options in `configure`, and a bad value is one OptionsError line naming the option and what it
accepts. While the proxy runs (the console's `:set`, mitmweb's options) mitmproxy shows that line and
keeps the previous configuration. When the script is loaded (a `--set` on the command line),
mitmproxy would print any exception from `configure` with a traceback (mitmproxy/addons/script.py,
`script_error_handler`): there `reported` logs the line instead, the previous configuration (the
defaults) stays, and mitmproxy refuses to start because an error was logged.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

from mitmproxy import ctx, exceptions, flowfilter

logger = logging.getLogger("mitmproxy_cors")

LOG_CHOICES = ("blocked", "cors", "off")
ANALYSIS_CHOICES = ("auto", "inline", "worker")
SUMMARY_CHOICES = ("on", "off")
FAIL_ON_CHOICES = ("off", "blocked", "conditional")


def choice(option: str, value: str, choices: Sequence[str]) -> str:
    """`value` if it is one of `choices`, else an OptionsError naming the option and the choices."""
    if value in choices:
        return value
    raise exceptions.OptionsError(f"{option} must be one of {', '.join(choices)}, not {value!r}")


def _at_load(updated: set[str]) -> bool:
    """A script's first `configure` is told every option; later ones only what changed."""
    try:
        return len(updated) > 1 and updated >= set(ctx.options.keys())
    except Exception:
        return False


def flow_filter(option: str, spec: str):
    """The compiled mitmproxy flow filter `spec` (None when empty), else an OptionsError naming the option."""
    if not spec:
        return None
    try:
        return flowfilter.parse(spec)
    except ValueError as e:
        raise exceptions.OptionsError(
            f"{option}: {e} (a mitmproxy flow filter such as '~d api.example.com' or '~all')") from None


@contextlib.contextmanager
def reported(updated: set[str]) -> Iterator[None]:
    """Wrap a `configure`: an OptionsError raised in it goes to mitmproxy, or at load is one error line."""
    try:
        yield
    except exceptions.OptionsError as e:
        if not _at_load(updated):
            raise
        logger.error("%s", e)
