"""The engine of this checkout against the engine of another commit, on the same machine at the same
moment: a ratio that holds where absolute verdicts/s do not (machines differ twofold per core, and one
machine's speed drifts by a third within an hour).

    python bench/engine_versus.py REF [--rounds 3] [--flows 60000] [--seed 1]

REF is any commit of this repository (4961d20: the engine before issue 15's browser rules). Its tree is
taken with `git archive` into a temporary directory. Each round runs two processes at once, this
checkout on one core and REF on the other, then swaps the cores: both sides share whatever the machine
is doing. Each side judges its own bench/corpus.py's corpus (the same generator and seed give the same
flows) with its own engine, the way part 1 of run.py does (a fresh Tracker per run, the corpus frozen
out of the garbage collector, CPU time, the median of 3 runs). Prints each pair and the median ratio.
Needs two cores; with one it runs the sides one after the other.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# One side: ROOT's own corpus and engine, pinned to CPU; prints "RATE <verdicts/s>".
_CHILD = r"""
import gc, os, statistics, sys, time
root, n, cpu, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sys.path.insert(0, os.path.join(root, "bench"))
sys.path.insert(1, os.path.join(root, "addons"))
import corpus
from mitmproxy_cors.engine import Tracker
exchanges = [corpus.to_exchange(w) for w in corpus.generate(n, seed=seed)]
os.sched_setaffinity(0, {cpu})
gc.collect()
gc.freeze()
rates = []
for _ in range(3):
    t = Tracker()
    c0 = time.process_time()
    for ex in exchanges:
        t.observe(ex)
    rates.append(n / (time.process_time() - c0))
print("RATE", statistics.median(rates))
"""


def tree_of(ref: str, into: str) -> str:
    """The files of commit `ref`, extracted under `into`."""
    archive = os.path.join(into, "ref.tar")
    with open(archive, "wb") as out:
        subprocess.run(["git", "-C", REPO, "archive", "--format=tar", ref], stdout=out, check=True)
    root = os.path.join(into, "tree")
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return root


def side(root: str, flows: int, cpu: int, seed: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _CHILD, root, str(flows), str(cpu), str(seed)],
                            stdout=subprocess.PIPE, text=True)


def rate_of(proc: subprocess.Popen) -> float:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"a side failed (exit {proc.returncode})")
    return float(out.split("RATE", 1)[1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ref", help="the commit to hold this checkout against")
    p.add_argument("--rounds", type=int, default=3, help="rounds, each two pairs (the cores swapped)")
    p.add_argument("--flows", type=int, default=60_000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    a, b = (cpus[0], cpus[-1])
    together = a != b
    with tempfile.TemporaryDirectory() as tmp:
        ref_root = tree_of(args.ref, tmp)
        print(f"engine: this checkout ({REPO}) against {args.ref}; {args.flows:,} flows, "
              f"{'side by side on cpus ' + str(a) + ' and ' + str(b) if together else 'one after the other'}",
              flush=True)
        ratios = []
        for r in range(args.rounds):
            for here_cpu, ref_cpu in ((a, b), (b, a)):
                if together:
                    here, ref = side(REPO, args.flows, here_cpu, args.seed), side(ref_root, args.flows, ref_cpu, args.seed)
                    here_rate, ref_rate = rate_of(here), rate_of(ref)
                else:
                    here_rate = rate_of(side(REPO, args.flows, a, args.seed))
                    ref_rate = rate_of(side(ref_root, args.flows, a, args.seed))
                ratios.append(here_rate / ref_rate)
                print(f"  round {r + 1}: here {here_rate:,.0f} verdicts/s (cpu {here_cpu}), "
                      f"{args.ref} {ref_rate:,.0f} (cpu {ref_cpu}): ratio {ratios[-1]:.3f}", flush=True)
    print(f"VERSUS {args.ref}: median ratio {statistics.median(ratios):.3f} "
          f"(range {min(ratios):.3f}-{max(ratios):.3f}, {len(ratios)} pairs); above 1: this checkout is faster")


if __name__ == "__main__":
    main()
