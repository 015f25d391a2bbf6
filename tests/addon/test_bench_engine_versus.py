"""bench/engine_versus.py holds this checkout's engine against another commit's: it must still run
both sides on the same corpus and print their ratio."""

import os
import re
import subprocess
import sys

REPO = os.path.join(os.path.dirname(__file__), "..", "..")
SCRIPT = os.path.join(REPO, "bench", "engine_versus.py")


def test_engine_versus_runs_both_sides_and_prints_their_ratio():
    res = subprocess.run([sys.executable, SCRIPT, "HEAD", "--rounds", "1", "--flows", "300"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    pairs = re.findall(r"here ([\d,]+) verdicts/s .*HEAD ([\d,]+) .*ratio ([\d.]+)", res.stdout)
    assert len(pairs) == 2
    assert all(float(a.replace(",", "")) > 0 and float(b.replace(",", "")) > 0 for a, b, _ in pairs)
    assert re.search(r"VERSUS HEAD: median ratio \d+\.\d{3}", res.stdout)
