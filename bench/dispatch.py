"""mitmproxy's own price for the shape of an addon list, without a network: CPU per flow of the four
flow hooks and the `update` event mitmproxy fires after each, dispatched by mitmproxy's AddonManager
through mitmdump's default addons (a DumpMaster), for one variant per process:

    python bench/dispatch.py bare|noop|hollow|addon|folded [--flows N]

`bare`: mitmdump's own addons only; `noop`: plus bench/noop_addon.py (one object); `hollow`: plus
bench/hollow_addons.py (one hollow object per addon of cors_addon.py, same flow hooks, doing
nothing); `addon`: plus cors_addon.py as mitmdump runs it (judging in the analysis worker, whose pipe
a framer stands in for, as in part 2 of run.py); `folded`: the same addons behind one object whose flow
hooks call theirs in turn (an experiment: what folding the list into one addon, as the old bundle did,
would save). Prints one line, `DISPATCH <variant> <mean us>
<median us>`; run.py runs the variants in turn, several rounds, and compares medians.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "addons"))

SCRIPTS = {"noop": os.path.join(HERE, "noop_addon.py"), "hollow": os.path.join(HERE, "hollow_addons.py"),
           "addon": os.path.join(REPO, "cors_addon.py"), "folded": os.path.join(REPO, "cors_addon.py")}


from mitmproxy_cors.mitm.addon_chain import FLOW_HOOKS  # noqa: E402


class Folded:
    """The addons behind one object: one visit per event instead of one per addon."""

    def __init__(self, addons: list) -> None:
        for hook in FLOW_HOOKS:
            handlers = [getattr(a, hook) for a in addons if callable(getattr(a, hook, None))]
            if handlers:
                setattr(self, hook, self._calling(handlers))

    @staticmethod
    def _calling(handlers):
        def hook(f) -> None:
            for h in handlers:
                h(f)
        return hook


class ScriptLike:
    """What mitmproxy's Script addon puts in the chain: `addons` is [the module], whose `addons` is the
    script's list, so that the traversal is as deep as for `-s script.py`."""

    def __init__(self, ns) -> None:
        self.ns = ns

    @property
    def addons(self) -> list:
        return [self.ns]


async def measure(variant: str, n: int) -> list[float]:
    from mitmproxy import hooks, options
    from mitmproxy.proxy.layers.http import (HttpRequestHeadersHook, HttpRequestHook, HttpResponseHeadersHook,
                                             HttpResponseHook)
    from mitmproxy.tools.dump import DumpMaster

    import corpus
    import flows

    master = DumpMaster(options.Options(), with_termlog=False, with_dumper=False)
    ns = None
    if variant in SCRIPTS:
        spec = importlib.util.spec_from_file_location("bench_script", SCRIPTS[variant])
        ns = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ns)
        master.addons.add(ScriptLike(ns))
    await master.addons.trigger_event(hooks.RunningHook())
    if variant in ("addon", "folded"):
        import inproc
        from run import _Framer

        inproc.as_in_mitmdump(ns.addons, _Framer())
    if variant == "folded":  # loaded, configured and running as a list; now visited as one object
        ns.addons = [Folded(ns.addons)]
    batch = [flows.to_flow(w) for w in corpus.generate(n, seed=3)]
    gc.collect()
    spent = []
    for f in batch:
        f.live = True
        resp, err = f.response, f.error
        f.response = f.error = None
        c0 = time.process_time()
        await master.addons.handle_lifecycle(HttpRequestHeadersHook(f))
        await master.addons.handle_lifecycle(HttpRequestHook(f))
        if resp is not None:
            f.response = resp
            await master.addons.handle_lifecycle(HttpResponseHeadersHook(f))
            await master.addons.handle_lifecycle(HttpResponseHook(f))
        spent.append(time.process_time() - c0)
        f.error = err
    await master.addons.trigger_event(hooks.DoneHook())
    return spent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("variant", choices=("bare", *SCRIPTS))
    p.add_argument("--flows", type=int, default=6000)
    args = p.parse_args()
    spent = asyncio.run(measure(args.variant, args.flows))
    spent.sort()
    print(f"DISPATCH {args.variant} {sum(spent) / len(spent) * 1e6:.1f} {spent[len(spent) // 2] * 1e6:.1f}")


if __name__ == "__main__":
    main()
