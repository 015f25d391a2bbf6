"""Our options' choices, and the one way a value is checked against them in `configure`.

mitmproxy lists an option's `choices` in its help but does not enforce them; each addon checks its
options in `configure`, and a bad value is one OptionsError line naming the option and what it
accepts (mitmproxy then keeps the previous configuration).
"""

from __future__ import annotations

from collections.abc import Sequence

from mitmproxy import exceptions

LOG_CHOICES = ("blocked", "cors", "off")
ANALYSIS_CHOICES = ("auto", "inline", "worker")
SUMMARY_CHOICES = ("on", "off")


def choice(option: str, value: str, choices: Sequence[str]) -> str:
    """`value` if it is one of `choices`, else an OptionsError naming the option and the choices."""
    if value in choices:
        return value
    raise exceptions.OptionsError(f"{option} must be one of {', '.join(choices)}, not {value!r}")
