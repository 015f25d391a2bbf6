"""mitmdump that loads and unloads one script in turn, for the same-process throughput comparison.

    python bench/alternating_mitmdump.py SCRIPT PERIOD SWITCH_LOG -- <mitmdump arguments>

Exactly mitmdump (mitmproxy.tools.main.mitmdump, no addon added), plus one asyncio task that every
PERIOD seconds sets the `scripts` option to [SCRIPT] or to [] (unloading it: mitmproxy runs its
`done` hook and takes it out of the addon chain), and appends a line per switch to SWITCH_LOG:
the time before it, the time after it (loading and unloading take the event loop a moment, which
belongs to neither state) and the new state. SCRIPT "-" never loads anything: an A/A run that
shows what the method itself reads.
"""

from __future__ import annotations

import asyncio
import sys
import time


def main() -> None:
    script, period, switch_log = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    args = sys.argv[sys.argv.index("--") + 1:]

    from mitmproxy import master as mmaster
    from mitmproxy.tools import main as mmain

    original_running = mmaster.Master.running

    async def alternate(m) -> None:
        on = False
        with open(switch_log, "a", buffering=1) as log:
            now = time.time()
            log.write(f"{now:.6f} {now:.6f} off\n")
            while True:
                await asyncio.sleep(period)
                on = not on
                before = time.time()
                if script != "-":
                    m.options.update(scripts=[script] if on else [])
                log.write(f"{before:.6f} {time.time():.6f} {'on' if on else 'off'}\n")

    async def running(self) -> None:
        await original_running(self)
        self._alternating = asyncio.get_running_loop().create_task(alternate(self))

    mmaster.Master.running = running
    mmain.mitmdump(args)


if __name__ == "__main__":
    main()
