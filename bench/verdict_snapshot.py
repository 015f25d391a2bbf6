"""Every report line the addon writes for the bench corpus and for generated hostile flows, as one
JSON Lines file per run: the evidence that a refactoring changed no verdict.

    python bench/verdict_snapshot.py OUT.jsonl [--corpus 20000] [--fuzz 100000] [--fix ~all]
    python bench/verdict_snapshot.py --compare BEFORE.jsonl AFTER.jsonl [--ignore field,...]

The flows go through the addons `cors_addon.py` installs, in-process (bench/inproc.py), with
`cors_report` set: what is compared is exactly what users get in their report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "addons"))


def snapshot(out: str, n_corpus: int, n_fuzz: int, fix: str, seed: int) -> None:
    import corpus
    import flows
    import fuzz
    import inproc

    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "r.jsonl")
        with inproc.cors_master() as (tctx, addons, counter):
            tctx.options.update(cors_report=report, cors_fix=fix)
            table = inproc.HookTable(addons)
            for w in corpus.generate(n_corpus, seed=seed):
                inproc.run_flow(table, flows.to_flow(w))
            fz = fuzz.FlowFuzzer(seed)
            for i in range(n_fuzz):
                f = fz.flow()
                loaded = i % 10 == 9
                if loaded:
                    f.live = False
                inproc.run_flow(table, f, loaded=loaded)
            tctx.options.update(cors_report="")
        os.replace(report, out)
    print(f"{out}: {sum(1 for _ in open(out, encoding='utf-8')):,} lines")


def compare(before: str, after: str, ignore: set[str]) -> int:
    def lines(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                for k in ignore:
                    d.pop(k, None)
                yield d

    a, b = list(lines(before)), list(lines(after))
    keys_a = set().union(*(d.keys() for d in a)) if a else set()
    keys_b = set().union(*(d.keys() for d in b)) if b else set()
    print(f"lines: {len(a):,} before, {len(b):,} after")
    print(f"fields only before: {sorted(keys_a - keys_b)}; only after: {sorted(keys_b - keys_a)}")
    common = keys_a & keys_b
    differ = 0
    shown = 0
    for i, (x, y) in enumerate(zip(a, b)):
        dx = {k: x.get(k) for k in common}
        dy = {k: y.get(k) for k in common}
        if dx != dy:
            differ += 1
            if shown < 5:
                shown += 1
                fields = sorted(k for k in common if dx.get(k) != dy.get(k))
                print(f"line {i + 1} differs in {fields}:")
                for k in fields[:4]:
                    print(f"  {k}: {json.dumps(dx.get(k))[:300]}\n  {' ' * len(k)}  {json.dumps(dy.get(k))[:300]}")
    print(f"COMPARE: {differ} of {min(len(a), len(b)):,} lines differ in the {len(common)} common fields"
          + (f"; line counts differ ({len(a)} vs {len(b)})" if len(a) != len(b) else ""))
    return 1 if differ or len(a) != len(b) else 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+")
    p.add_argument("--compare", action="store_true")
    p.add_argument("--ignore", default="", help="comma-separated fields left out of the comparison")
    p.add_argument("--corpus", type=int, default=20_000)
    p.add_argument("--fuzz", type=int, default=100_000)
    p.add_argument("--fix", default="", help="cors_fix filter for the run (e.g. ~all)")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.compare:
        sys.exit(compare(a.paths[0], a.paths[1], {k for k in a.ignore.split(",") if k}))
    snapshot(a.paths[0], a.corpus, a.fuzz, a.fix, a.seed)


if __name__ == "__main__":
    main()
