#!/usr/bin/env python3
"""mitmproxy-cors benchmark: prints figures, asserts nothing.

    python bench/run.py                 # everything (about 40-60 minutes on 2 cores)
    python bench/run.py --quick         # every part, smaller counts (a few minutes)
    python bench/run.py --parts engine,proxy --rounds 7

Run it with the Python of the environment to measure (its mitmdump is used, e.g.
/tmp/venv12/bin/python bench/run.py). Parts:

  engine  engine verdicts per second on one core, on a generated mixed corpus (corpus.py); machines
          differ twofold per core: engine_versus.py REF gives the ratio to another commit's engine
  addon   the addons of cors_addon.py in-process on real mitmproxy flows: microseconds per flow
  proxy   throughput of mitmdump with `-s cors_addon.py` / without, same wrk load, same nginx
          backend: (a) in one mitmdump that loads and unloads the script in turn (the ratio held
          to the target); (b) fresh processes in interleaved rounds, medians (a noisier cross-check)
  memory  RSS growth: (a) of a mitmdump process with the addon after N flows through it (wrk);
          (b) of a Python process driving the addons in-process with N real flows
  fuzz    generated hostile flows through the addons in-process: exceptions, internal errors,
          flows dropped, metadata that does not serialize

Only loopback: nginx, mitmdump and wrk all listen on / connect to 127.0.0.1. Targets (issue 5):
throughput ratio >= 98%, engine >= 50,000 verdicts/s, RSS growth <= 20 MB after 1,000,000 flows,
0 exceptions.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(REPO / "addons"))  # measure the checkout this script lives in (as cors_addon.py does)

import backend  # noqa: E402
import corpus  # noqa: E402

TARGETS = {"engine": 50_000, "ratio": 0.98, "ratio_inline": 0.95, "rss_mib": 20.0}


def out(line: str = "") -> None:
    print(line, flush=True)


def section(title: str) -> None:
    out()
    out(f"== {title} " + "=" * max(0, 76 - len(title)))


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> None:
    import mitmproxy.version

    import mitmproxy_cors

    section("machine")
    out(f"cpus (nproc): {os.cpu_count()}   affinity: {sorted(os.sched_getaffinity(0))}")
    out(f"cpu model:    {cpu_model()}")
    try:
        mem = next(line for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        out(f"memory:       {int(mem.split()[1]) // 1024} MiB")
    except (OSError, StopIteration):
        pass
    out(f"python:       {platform.python_version()} ({sys.executable})")
    out(f"mitmproxy:    {mitmproxy.version.VERSION}")
    out(f"package:      {Path(mitmproxy_cors.__file__).parent}")
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "addons"],
                               capture_output=True, text=True).stdout.strip()
        out(f"commit:       {rev}{' (+ uncommitted changes under addons/)' if dirty else ''}")
    except OSError:
        pass
    try:
        out(f"load average: {os.getloadavg()[0]:.2f} (other processes share these cores)")
    except OSError:
        pass


# -- 1. engine -----------------------------------------------------------------------------------

def part_engine(args) -> None:
    from mitmproxy_cors.engine import Tracker

    section("1. engine: Tracker.observe on one core")
    n = args.engine_flows
    t0 = time.perf_counter()
    wire = corpus.generate(n, seed=args.seed)
    exchanges = [corpus.to_exchange(w) for w in wire]
    out(f"corpus: {len(exchanges):,} exchanges generated in {time.perf_counter() - t0:.1f} s "
        f"(corpus.py; seed {args.seed})")
    # What the corpus contains, as the engine judged it.
    t = Tracker()
    kinds: Counter = Counter()
    extra: Counter = Counter()
    for ex in exchanges:
        d = t.observe(ex)
        v = d.verdict
        kinds[(v.kind, v.verdict)] += 1
        extra["paired preflight updates"] += len(d.updated)
        cache = (v.preflight_cache or {}).get("state")
        if cache == "hit":
            extra["preflight-cache hits"] += 1
        elif cache == "unseen":
            extra["preflight needed, none seen"] += 1
        if v.redirected_from:
            extra["redirect hops followed"] += 1
        if ex.response is None:
            extra["no response (error)"] += 1
    out("mix: " + ", ".join(f"{k} {b} {c:,}" for (k, b), c in sorted(kinds.items())))
    out("     " + ", ".join(f"{k} {c:,}" for k, c in extra.items()))
    del t

    cpu = sorted(os.sched_getaffinity(0))[-1]
    old_affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    gc.collect()
    gc.freeze()  # the corpus itself is not the engine's garbage; the engine's own allocations still count
    rates = []
    try:
        for _ in range(args.engine_repeats):
            t = Tracker()
            c0, w0 = time.process_time(), time.perf_counter()
            for ex in exchanges:
                t.observe(ex)
            cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - w0
            rates.append((len(exchanges) / cpu_s, len(exchanges) / wall_s))
    finally:
        gc.unfreeze()
        os.sched_setaffinity(0, old_affinity)
    cpu_rates = [r[0] for r in rates]
    wall_rates = [r[1] for r in rates]
    med = statistics.median(cpu_rates)
    out(f"pinned to cpu {cpu}; {args.engine_repeats} runs, each a fresh Tracker over the whole corpus")
    out("verdicts/s (CPU time): " + ", ".join(f"{r:,.0f}" for r in cpu_rates))
    out("verdicts/s (wall):     " + ", ".join(f"{r:,.0f}" for r in wall_rates))
    out(f"ENGINE: median {med:,.0f} verdicts/s per core = {1e6 / med:.1f} us/verdict "
        f"(target >= {TARGETS['engine']:,}: {'met' if med >= TARGETS['engine'] else 'NOT met'})")


# -- 2. addon in-process -------------------------------------------------------------------------

def part_addon(args) -> None:
    import inproc

    section("2. addon in-process: every cors_addon.py addon, real mitmproxy flows")
    wire = corpus.generate(args.addon_flows, seed=args.seed + 1)
    cpu = sorted(os.sched_getaffinity(0))[-1]
    old_affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        with inproc.cors_master() as (tctx, addons, counter):
            spent, done = _time_hooks(inproc.HookTable(addons), wire)
            obs = inproc.observer_of(addons)
            out(f"addons: {', '.join(type(a).__name__ for a in addons)}")
            out(f"ADDON: {done:,} flows, {spent / done * 1e6:.1f} us/flow of CPU in our hooks "
                f"({done / spent:,.0f} flows/s); decided {obs.decided:,}, internal errors {obs.internal_errors}, "
                f"logged exceptions {counter.count}")
        part_addon_worker(wire)
        part_addon_dispatch(args)
    finally:
        os.sched_setaffinity(0, old_affinity)


def _time_hooks(table, wire) -> tuple[float, int]:
    """CPU seconds the addons' hooks take over `wire` (flows built outside the timing), and flows run."""
    import flows
    import inproc

    spent = 0.0
    done = 0
    for i in range(0, len(wire), 5000):
        chunk = [flows.to_flow(w) for w in wire[i:i + 5000]]
        gc.collect()
        c0 = time.process_time()
        for f in chunk:
            inproc.run_flow(table, f)
        spent += time.process_time() - c0
        done += len(chunk)
        del chunk
    return spent, done


class _Framer:
    """Stands in for the analysis worker's pipe: frames the records in batches, as offload.py does."""

    def __init__(self) -> None:
        self.batch: list = []
        self.frames: list[bytes] = []

    def send(self, message) -> bool:
        self.batch.append(message)
        if len(self.batch) >= 40:  # about what 50 ms (FLUSH_DELAY) hold at 800 flows/s
            self.flush()
        return True

    def flush(self) -> None:
        from mitmproxy_cors.mitm.worker import frame

        if self.batch:
            self.frames.append(frame(self.batch))
            self.batch = []


def part_addon_worker(wire) -> None:
    """mitmdump's split (cors_analysis=worker): the proxy's hooks capture and frame records; the worker
    decodes and judges them. Both halves timed on the same flows."""
    import io

    import inproc
    from mitmproxy_cors.mitm.worker import WorkerAnalysis, read_frames

    with inproc.cors_master() as (tctx, addons, counter):
        obs = inproc.observer_of(addons)
        framer = _Framer()
        inproc.as_in_mitmdump(addons, framer)
        spent, done = _time_hooks(inproc.HookTable(addons), wire)
        obs.worker = None
    data = b"".join(framer.frames)
    analysis = WorkerAnalysis()
    analysis.configure({"log": "off", "verbose": False, "report": ""})
    gc.collect()
    c0 = time.process_time()
    records = 0
    for batch in read_frames(io.BytesIO(data)):
        for m in batch:
            analysis.handle(m)
            records += 1
    wspent = time.process_time() - c0
    out(f"ADDON (worker split, as in mitmdump): the proxy's hooks {spent / done * 1e6:.1f} us/flow; the worker "
        f"{wspent / records * 1e6:.1f} us/record ({records:,} records, {len(data) / records:,.0f} bytes each on "
        f"the pipe); decided {analysis.decided:,}, internal errors {analysis.internal_errors}")


def part_addon_dispatch(args) -> None:
    """mitmproxy's own price for the addon list's shape (bench/dispatch.py): CPU per flow of the four flow
    hooks and their `update` events through mitmdump's default addons, in fresh processes, variants in
    turn over several rounds."""
    variants = ("bare", "noop", "hollow", "addon", "folded")
    got: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(args.dispatch_rounds):
        for v in (variants if r % 2 == 0 else variants[::-1]):
            res = subprocess.run([sys.executable, str(HERE / "dispatch.py"), v, "--flows", str(args.dispatch_flows)],
                                 capture_output=True, text=True, timeout=600,
                                 env={**os.environ, "PYTHONHASHSEED": str(r)})  # one seed per round
            m = re.search(r"DISPATCH \S+ (\S+) (\S+)", res.stdout)
            if not m:
                raise RuntimeError(f"dispatch.py {v} failed: {res.stdout}\n{res.stderr}")
            got[v].append(float(m.group(2)))
    med = {v: statistics.median(x) for v, x in got.items()}
    out("dispatch per round (us per flow): " + "; ".join(f"{v} " + ", ".join(f"{x:.0f}" for x in got[v]) for v in variants))
    out(f"DISPATCH (bench/dispatch.py, {args.dispatch_rounds} rounds, median us per flow of mitmproxy's AddonManager "
        f"for requestheaders, request, responseheaders, response and their update events): mitmdump's own addons "
        f"{med['bare']:.0f}; + a one-object script with no-op hooks +{med['noop'] - med['bare']:.0f}; + a hollow copy "
        f"of cors_addon.py's {len(_addon_names())} addons (same flow hooks, doing nothing) +{med['hollow'] - med['bare']:.0f}; "
        f"+ cors_addon.py as mitmdump runs it +{med['addon'] - med['bare']:.0f} "
        f"(its hooks' own work: +{med['addon'] - med['hollow']:.0f} over the hollow copy); the same addons folded "
        f"behind one object +{med['folded'] - med['bare']:.0f}")


def _addon_names() -> list[str]:
    from mitmproxy_cors.mitm import make_addons

    return [type(a).__name__ for a in make_addons()]


# -- 3. proxy ------------------------------------------------------------------------------------

class Mitmdump:
    def __init__(self, with_addon: bool | str, cpu: int | None, extra: list[str] | None = None,
                 worker_cpu: int | None = None, hash_seed: int | None = None, name: str | None = None) -> None:
        """`with_addon`: True for cors_addon.py, False for none, or the path of another script.
        `worker_cpu`: where the addon's analysis worker runs (a child inherits mitmdump's pinning;
        the bench puts it with wrk and nginx, the way an unpinned OS spreads it on any machine)."""
        self.with_addon = with_addon
        self._name = name
        self.port = backend.free_port()
        self.cpu = cpu
        self.worker_cpu = worker_cpu
        self.worker: int | None = None
        self.hash_seed = hash_seed
        self.extra = extra or []
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="cors-bench-mitmdump-", suffix=".log", delete=False)

    def __enter__(self) -> Mitmdump:
        exe = Path(sys.executable).with_name("mitmdump")
        cmd = [str(exe), "--listen-host", "127.0.0.1", "-p", str(self.port), "-q"] + self.extra
        if self.with_addon:
            script = REPO / "cors_addon.py" if self.with_addon is True else self.with_addon
            cmd += ["-s", str(script)]
        if self.cpu is not None:
            cmd = ["taskset", "-c", str(self.cpu)] + cmd
        env = dict(os.environ)
        if self.hash_seed is not None:
            env["PYTHONHASHSEED"] = str(self.hash_seed)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir(),
                                     env=env)
        backend.wait_port(self.port, 60)
        if self.with_addon is True:
            self.worker = _find_child(self.proc.pid)
            if self.worker is not None and self.worker_cpu is not None:
                subprocess.run(["taskset", "-p", "-c", str(self.worker_cpu), str(self.worker)],
                               check=True, capture_output=True)
        return self

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time so far (user + system) of mitmdump and of the analysis worker (0 if none)."""
        return _cpu_seconds(self.pid), (_cpu_seconds(self.worker) if self.worker else 0.0)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    @property
    def pid(self) -> int:
        # taskset execs mitmdump, so the pid is mitmdump's own
        assert self.proc is not None
        return self.proc.pid

    @property
    def name(self) -> str:
        if self._name:
            return self._name
        if self.with_addon is True:
            return "with addon"
        return "no-op hooks" if self.with_addon else "bare"


def _find_child(pid: int, timeout: float = 10.0) -> int | None:
    """The analysis worker: mitmdump's child process (started in the addon's `running`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                kids = []
            if kids:
                return int(kids[0])
        time.sleep(0.05)
    return None


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(proxy_port: int, backend_url: str, duration: float, connections: int, cpu: int | None) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
           "-s", str(HERE / "proxy_load.lua"), f"http://127.0.0.1:{proxy_port}", "--", backend_url]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    m = re.search(r"WRK_RESULT (.*)", res.stdout)
    if not m:
        raise RuntimeError(f"wrk failed: {res.stdout}\n{res.stderr}")
    d = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    d["rps"] = d["requests"] / (d["duration_us"] / 1e6)
    d["errors"] = sum(v for k, v in d.items() if k.startswith("errors_") and k != "errors_status")
    return d


def _cpus() -> tuple[int | None, int | None]:
    """(cpu for mitmdump, cpu for wrk and nginx): apart when there are two or more."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2 and backend.have_taskset():
        return cpus[-1], cpus[0]
    return None, None


def check_addon_active(nginx, args, proxy_cpu, load_cpu) -> None:
    """A short separate run with the report on: shows the addon judged what wrk sent."""
    import json

    with tempfile.TemporaryDirectory(prefix="cors-bench-report-") as tmp:
        report = os.path.join(tmp, "report.jsonl")
        with Mitmdump(True, proxy_cpu, ["--set", f"cors_report={report}"], worker_cpu=load_cpu) as m:
            wrk(m.port, nginx.url, 3, args.connections, load_cpu)
        c: Counter = Counter()
        with open(report) as fh:
            for line in fh:
                d = json.loads(line)
                if "record" in d:  # an audit finding, a line of its own
                    c[f"(audit findings: {d['class']})"] += 1
                elif not d.get("update"):
                    c[(d["kind"], d["verdict"], d.get("reason") or "")] += 1
                    if d.get("paired_flow_id") and d["kind"] == "actual":
                        c["(actual requests paired with their preflight)"] += 1
    out("check (3 s with --set cors_report): " + ", ".join(
        f"{'/'.join(x for x in k if x) if isinstance(k, tuple) else k} {v}" for k, v in c.most_common()))


class _ChildPinner:
    """Moves every child of a process (the analysis worker, started anew each time the script
    loads) to `cpu` as soon as it appears: it would inherit mitmdump's pinning."""

    def __init__(self, pid: int, cpu: int | None) -> None:
        self.pid, self.cpu = pid, cpu
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        if cpu is not None:
            self._thread.start()

    def _run(self) -> None:
        seen: set[str] = set()
        while not self._stop.wait(0.02):
            try:
                tasks = list(Path(f"/proc/{self.pid}/task").iterdir())
            except OSError:
                return
            for task in tasks:
                try:
                    kids = (task / "children").read_text().split()
                except OSError:
                    kids = []
                for k in kids:
                    if k not in seen:
                        seen.add(k)
                        subprocess.run(["taskset", "-p", "-c", str(self.cpu), k], capture_output=True)

    def stop(self) -> None:
        self._stop.set()


def alternating(nginx, script: str, args, proxy_cpu, load_cpu) -> dict:
    """One mitmdump (alternating_mitmdump.py) that loads `script` and unloads it every
    args.ab_period seconds under one continuous wrk load; nginx's log counts the requests of each
    phase. Each phase with the script is compared with the mean of the phases around it, so the
    drift of a shared machine cancels and the process is the same for both states."""
    port = backend.free_port()
    with tempfile.TemporaryDirectory(prefix="cors-bench-ab-") as tmp:
        switch_log = os.path.join(tmp, "switches.log")
        cmd = [sys.executable, str(HERE / "alternating_mitmdump.py"), script, str(args.ab_period), switch_log,
               "--", "--listen-host", "127.0.0.1", "-p", str(port), "-q"]
        if proxy_cpu is not None:
            cmd = ["taskset", "-c", str(proxy_cpu)] + cmd
        env = dict(os.environ, PYTHONHASHSEED=str(args.seed))
        with open(os.path.join(tmp, "mitmdump.log"), "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp, env=env)
            pinner = None
            try:
                backend.wait_port(port, 60)
                pinner = _ChildPinner(proc.pid, load_cpu)
                start = time.time()
                load = wrk(port, nginx.url, args.ab_duration, args.connections, load_cpu)
                end = time.time()
            finally:
                if pinner is not None:
                    pinner.stop()
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        with open(switch_log) as fh:
            switches = [(float(b), float(a), state) for b, a, state in (line.split() for line in fh)]
    times = nginx.request_times(start, end)
    rates: list[tuple[str, float]] = []
    # a phase: from `settle` s after its switch ended (loading takes a moment, and the first
    # seconds with the script are its start-up: imports, the worker) to the start of the next switch
    for (_, after, state), (before_next, _, _) in zip(switches, switches[1:]):
        lo, hi = after + args.ab_settle, before_next
        if times and hi - lo > 0.5 and lo >= times[0] and hi <= times[-1]:
            rates.append((state, (bisect.bisect_left(times, hi) - bisect.bisect_left(times, lo)) / (hi - lo)))
    ratios = [rates[i][1] / ((rates[i - 1][1] + rates[i + 1][1]) / 2) for i in range(1, len(rates) - 1)
              if rates[i][0] == "on" and rates[i - 1][0] == rates[i + 1][0] == "off"]
    on = [r for st, r in rates if st == "on"]
    off = [r for st, r in rates if st == "off"]
    return {"ratios": ratios, "on": statistics.mean(on) if on else 0.0, "off": statistics.mean(off) if off else 0.0,
            "errors": load["errors"], "errors_status": load["errors_status"]}


def _ratio_line(d: dict) -> str:
    r = d["ratios"]
    if len(r) < 2:
        return "too few phases (raise --ab-duration)"
    mean = statistics.mean(r)
    se = statistics.stdev(r) / len(r) ** 0.5
    return (f"ratio {mean:.4f} +- {se:.4f} (mean of {len(r)} phases, standard error), median "
            f"{statistics.median(r):.4f}, range {min(r):.3f}-{max(r):.3f}; on {d['on']:.1f} req/s, off "
            f"{d['off']:.1f} req/s; socket errors {d['errors']}, http>=400 {d['errors_status']}")


def part_proxy(args) -> None:
    section("3. proxy throughput: mitmdump -s cors_addon.py vs bare mitmdump")
    proxy_cpu, load_cpu = _cpus()
    out(f"mitmdump pinned to cpu {proxy_cpu}, wrk and nginx to cpu {load_cpu}; wrk -t1 -c{args.connections}, "
        f"absolute-form requests (proxy_load.lua); mitmdump -q (keeps no flows)")
    noop_script = str(HERE / "noop_addon.py")
    with backend.Nginx(cpu=load_cpu, log_times=True) as nginx:
        check_addon_active(nginx, args, proxy_cpu, load_cpu)
        out(f"(a) in one mitmdump, the script loaded and unloaded every {args.ab_period:g} s under one "
            f"{args.ab_duration:g} s wrk run; requests per phase from nginx's log, {args.ab_settle:g} s after "
            f"each switch on; each phase with the script against the mean of the two around it:")
        ab = {}
        for label, script in (("nothing (A/A)", "-"), ("no-op hooks", noop_script),
                              ("hollow addons", str(HERE / "hollow_addons.py")),
                              ("with addon", str(REPO / "cors_addon.py")),
                              ("addon inline", str(HERE / "inline_addon.py")),
                              ("console path", str(HERE / "annotating_addon.py"))):
            ab[label] = alternating(nginx, script, args, proxy_cpu, load_cpu)
            out(f"  {label:13s} {_ratio_line(ab[label])}")
        out(f"(b) fresh processes: each round starts a bare mitmdump, one with the addon and one with "
            f"no-op hooks; wrk -d{args.duration:g}s against each, order alternating; medians")
        results = _fresh_rounds(nginx, args, proxy_cpu, load_cpu, noop_script)
    med = {k: statistics.median(d["rps"] for d in v) for k, v in results.items()}
    fresh = med["with addon"] / med["bare"]
    pairs = [a["rps"] / b["rps"] for a, b in zip(results["with addon"], results["bare"])]
    out(f"median bare {med['bare']:.1f} req/s, with addon {med['with addon']:.1f} req/s, "
        f"no-op hooks {med['no-op hooks']:.1f} req/s")
    out(f"per-round ratios: {', '.join(f'{p:.3f}' for p in pairs)}")
    cpu = {k: statistics.median(d["proxy_cpu_us"] for d in v) for k, v in results.items()}
    worker_cpu = statistics.median(d["worker_cpu_us"] for d in results["with addon"])
    out(f"median CPU per request: mitmdump bare {cpu['bare']:.0f} us, with addon {cpu['with addon']:.0f} us "
        f"+ its analysis worker {worker_cpu:.0f} us (on cpu {load_cpu}, with wrk and nginx), "
        f"no-op hooks {cpu['no-op hooks']:.0f} us, judging inline {cpu['addon inline']:.0f} us")
    out(f"fresh processes: with addon {fresh * 100:.1f}% of bare, no-op hooks "
        f"{med['no-op hooks'] / med['bare'] * 100:.1f}% (between processes of one build, a few percent either way)")
    r = ab["with addon"]["ratios"]
    ratio = statistics.mean(r) if r else 0.0
    floor = ab["no-op hooks"]["ratios"]
    out(f"floor: a script shaped like cors_addon.py whose hooks do nothing (bench/noop_addon.py) runs at "
        f"{statistics.mean(floor) * 100 if floor else 0:.1f}% of bare in (a): mitmproxy's own cost of "
        f"dispatching a script's hooks")
    hollow = ab["hollow addons"]["ratios"]
    out(f"floor of this shape: a hollow copy of cors_addon.py's addons (bench/hollow_addons.py: one object per addon, "
        f"the same flow hooks, doing nothing) runs at {statistics.mean(hollow) * 100 if hollow else 0:.1f}% of bare in "
        f"(a): what mitmproxy's dispatch costs for this many addons, whatever their hooks do")
    out(f"PROXY: throughput ratio with/without addon = {ratio:.3f} ({ratio * 100:.1f}%, (a): same mitmdump, "
        f"same run) (target >= {TARGETS['ratio'] * 100:.0f}%: {'met' if ratio >= TARGETS['ratio'] else 'NOT met'}); "
        f"fresh processes (b): {fresh * 100:.1f}%")
    r = ab["addon inline"]["ratios"]
    inline = statistics.mean(r) if r else 0.0
    by_cpu = cpu["bare"] / cpu["addon inline"]
    out(f"PROXY INLINE: judging in the proxy process (cors_analysis=inline, the console's and mitmweb's path) = "
        f"{inline:.3f} ({inline * 100:.1f}%, (a)) (target >= {TARGETS['ratio_inline'] * 100:.0f}%: "
        f"{'met' if inline >= TARGETS['ratio_inline'] else 'NOT met'}); fresh processes (b): "
        f"{med['addon inline'] / med['bare'] * 100:.1f}%; by CPU per request (b): {by_cpu * 100:.1f}%")
    r = ab["console path"]["ratios"]
    console = statistics.mean(r) if r else 0.0
    out(f"PROXY CONSOLE PATH: the console's and mitmweb's path (cors_analysis=auto there: judged in the worker, "
        f"its decisions annotate the flows in the proxy; bench/annotating_addon.py) = {console:.3f} "
        f"({console * 100:.1f}%, (a)) (target >= {TARGETS['ratio_inline'] * 100:.0f}%: "
        f"{'met' if console >= TARGETS['ratio_inline'] else 'NOT met'})")


def _fresh_rounds(nginx, args, proxy_cpu, load_cpu, noop_script) -> dict[str, list[dict]]:
    # Fresh processes every round: two runs of the same mitmdump differ by a few percent from one
    # process to the next (hash seeds, memory layout), as much as the effect measured here.
    results: dict[str, list[dict]] = {"bare": [], "with addon": [], "no-op hooks": [], "addon inline": []}
    for r in range(args.rounds):
        # The three of a round share a hash seed (string hashing shapes every dict): a variance
        # between processes that is not the addon's; rounds differ in it.
        seed = args.seed + r
        with Mitmdump(False, proxy_cpu, hash_seed=seed) as bare, \
                Mitmdump(True, proxy_cpu, worker_cpu=load_cpu, hash_seed=seed) as addon, \
                Mitmdump(noop_script, proxy_cpu, hash_seed=seed) as noop, \
                Mitmdump(str(HERE / "inline_addon.py"), proxy_cpu, hash_seed=seed, name="addon inline") as inline:
            variants = (bare, addon, noop, inline)
            for m in variants:  # warm-up: imports, connections, caches
                wrk(m.port, nginx.url, args.warmup, args.connections, load_cpu)
            order = variants if r % 2 == 0 else variants[::-1]
            for m in order:
                before = m.cpu_seconds()
                d = wrk(m.port, nginx.url, args.duration, args.connections, load_cpu)
                after = m.cpu_seconds()
                d["proxy_cpu_us"] = (after[0] - before[0]) / d["requests"] * 1e6
                d["worker_cpu_us"] = (after[1] - before[1]) / d["requests"] * 1e6
                results[m.name].append(d)
                worker = f"  worker {d['worker_cpu_us']:5.0f} us/req" if m.worker else ""
                out(f"  round {r + 1}: {m.name:11s} {d['rps']:8.1f} req/s  p50 {d['p50_us'] / 1000:6.1f} ms  "
                    f"p99 {d['p99_us'] / 1000:6.1f} ms  socket errors {d['errors']}  http>=400 "
                    f"{d['errors_status']}  CPU: mitmdump {d['proxy_cpu_us']:5.0f} us/req{worker}")
    return results


# -- 4. memory -----------------------------------------------------------------------------------

def part_memory_proxy(args) -> None:
    section(f"4a. memory: mitmdump -s cors_addon.py, {args.proxy_mem_flows:,} flows through it (wrk)")
    proxy_cpu, load_cpu = _cpus()
    import inproc

    with backend.Nginx(cpu=load_cpu) as nginx, Mitmdump(True, proxy_cpu, worker_cpu=load_cpu) as m:
        def worker_rss() -> int:
            return inproc.rss_kib(m.worker) if m.worker else 0

        done = 0
        t0 = time.monotonic()
        while done < args.mem_warmup:
            done += wrk(m.port, nginx.url, 5, args.connections, load_cpu)["requests"]
        base = inproc.rss_kib(m.pid)
        wbase = worker_rss()
        out(f"after warm-up ({done:,} flows): RSS {base / 1024:.1f} MiB"
            + (f", its analysis worker {wbase / 1024:.1f} MiB" if m.worker else " (no analysis worker)"))
        target = done + args.proxy_mem_flows
        chunk_s = 30.0
        next_report = done + args.proxy_mem_flows // 10
        samples = []
        while done < target:
            rate = max(done / max(time.monotonic() - t0, 1e-3), 100.0)
            d = min(chunk_s, max(2.0, (target - done) / rate))
            done += wrk(m.port, nginx.url, d, args.connections, load_cpu)["requests"]
            if done >= next_report or done >= target:
                rss, wrss = inproc.rss_kib(m.pid), worker_rss()
                samples.append((done, rss, wrss))
                out(f"  {done - (target - args.proxy_mem_flows):>10,} flows after warm-up: RSS {rss / 1024:7.1f} MiB "
                    f"(+{(rss - base) / 1024:.1f}), worker {wrss / 1024:6.1f} MiB (+{(wrss - wbase) / 1024:.1f}), "
                    f"{time.monotonic() - t0:.0f} s")
                next_report += args.proxy_mem_flows // 10
        end, wend = inproc.rss_kib(m.pid), worker_rss()
        grow = (end - base) / 1024
        wgrow = (wend - wbase) / 1024
        half = [s for s in samples if s[0] >= target - args.proxy_mem_flows // 2]
        slope = ""
        if len(half) >= 2:
            slope = (f"; over the last half: +{(half[-1][1] - half[0][1]) / 1024:.1f} MiB (worker "
                     f"+{(half[-1][2] - half[0][2]) / 1024:.1f}) per {half[-1][0] - half[0][0]:,} flows")
        both = grow + wgrow
        out(f"MEMORY (proxy process): RSS {base / 1024:.1f} -> {end / 1024:.1f} MiB, growth {grow:.1f} MiB after "
            f"{done - (target - args.proxy_mem_flows):,} flows{slope}; its analysis worker {wbase / 1024:.1f} -> "
            f"{wend / 1024:.1f} MiB, growth {wgrow:.1f} MiB; together {both:.1f} MiB "
            f"(target <= {TARGETS['rss_mib']:.0f} MB: {'met' if both <= TARGETS['rss_mib'] else 'NOT met'})")


def deep_size(root) -> int:
    """sys.getsizeof over everything reachable through containers, slots and __dict__ (each object once;
    classes, modules and functions not followed)."""
    import types

    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, (type, types.ModuleType, types.FunctionType, types.MethodType)):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        else:
            for name in getattr(type(o), "__slots__", ()):
                if hasattr(o, name):
                    stack.append(getattr(o, name))
            if hasattr(o, "__dict__"):
                stack.append(o.__dict__)
    return total


def part_memory_inproc(args) -> None:
    import flows
    import inproc

    n = args.mem_flows
    section(f"4b. memory in-process: {n:,} real mitmproxy flows through every cors_addon.py addon")
    out("(this Python process: flows built one by one as mitmproxy would, handed to the hooks, then dropped)")
    gen = corpus._Gen(args.seed + 2)  # an endless stream: scenario by scenario
    names = [x[0] for x in corpus.MIX]
    weights = [x[1] for x in corpus.MIX]
    clients = [f"10.2.{i // 250}.{i % 250 + 1}" for i in range(40)]

    def stream():
        while True:
            name = gen.r.choices(names, weights)[0]
            client = gen.r.choice(clients)
            ws = gen.simple(client) if name == "evil" else getattr(gen, name)(client)
            yield from ws

    with inproc.cors_master() as (tctx, addons, counter):
        table = inproc.HookTable(addons)
        obs = inproc.observer_of(addons)
        it = stream()
        t0 = time.monotonic()
        for _ in range(args.mem_warmup):
            inproc.run_flow(table, flows.to_flow(next(it)))
        gc.collect()
        base = inproc.rss_kib()
        out(f"after warm-up ({args.mem_warmup:,} flows): RSS {base / 1024:.1f} MiB")
        step = max(n // 10, 1)
        samples = []
        for i in range(1, n + 1):
            inproc.run_flow(table, flows.to_flow(next(it)))
            if i % step == 0:
                rss = inproc.rss_kib()
                samples.append((i, rss))
                out(f"  {i:>10,} flows: RSS {rss / 1024:7.1f} MiB (+{(rss - base) / 1024:.1f}), "
                    f"{time.monotonic() - t0:.0f} s")
        gc.collect()
        end = inproc.rss_kib()
        grow = (end - base) / 1024
        sizes = obs.tracker.state_size()
        ledger = obs.ledger
        out(f"state at the end: tracker {sizes}, observer weak flow map {len(obs._flows)}"
            + (f", ledger {len(ledger.entries):,} entries (capacity {ledger.capacity:,})" if ledger else ""))
        t = obs.tracker
        held = {"tracker tables": deep_size([t._pending, t._redirects, t._validated, t.cache._entries])}
        if ledger is not None:
            held["ledger"] = deep_size(ledger.entries)
        out("held by bounded tables (deep sizeof, approximate): "
            + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in held.items()))
        half = [s for s in samples if s[0] >= n // 2]
        slope = ""
        if len(half) >= 2:
            slope = f"; over the last half: +{(half[-1][1] - half[0][1]) / 1024:.1f} MiB per {half[-1][0] - half[0][0]:,} flows"
        out(f"MEMORY (in-process, addon only): RSS {base / 1024:.1f} -> {end / 1024:.1f} MiB, growth {grow:.1f} MiB "
            f"after {n:,} flows{slope}; decided {obs.decided:,}, internal errors {obs.internal_errors}, logged "
            f"exceptions {counter.count} (target <= {TARGETS['rss_mib']:.0f} MB: "
            f"{'met' if grow <= TARGETS['rss_mib'] else 'NOT met'})")


# -- 5. fuzz -------------------------------------------------------------------------------------

def part_fuzz(args) -> None:
    import fuzz
    import inproc
    from mitmproxy.io import tnetstring

    n = args.fuzz_flows
    section(f"5. robustness: {n:,} generated hostile flows through every cors_addon.py addon (fuzz.py)")
    fz = fuzz.FlowFuzzer(args.seed)
    raised: Counter = Counter()
    first: dict[str, str] = {}
    dropped = unserializable = 0
    with inproc.cors_master() as (tctx, addons, counter):
        table = inproc.HookTable(addons)
        obs = inproc.observer_of(addons)
        t0 = time.monotonic()
        for i in range(n):
            f = fz.flow()
            loaded = i % 10 == 9  # every tenth as `mitmdump -r` would replay it
            if loaded:
                f.live = False
            had_response, had_error = f.response is not None, f.error is not None
            try:
                inproc.run_flow(table, f, loaded=loaded)
            except Exception as e:  # anything an addon let through (mitmproxy would log "Addon error")
                key = f"{type(e).__name__}: {str(e)[:80]}"
                raised[key] += 1
                if key not in first:
                    import traceback
                    first[key] = traceback.format_exc()
            if (had_response and f.response is None) or (had_error and f.error is None) or (
                    f.error is not None and not had_error):
                dropped += 1
            try:
                tnetstring.dumps(f.metadata)
            except Exception:
                unserializable += 1
        elapsed = time.monotonic() - t0
    total = sum(raised.values())
    out(f"{n:,} flows in {elapsed:.0f} s; observer decided {obs.decided:,}")
    out(f"exceptions raised out of the hooks: {total}" + (": " + "; ".join(f"{k} x{v}" for k, v in raised.most_common(5)) if total else ""))
    out(f"observer internal_errors: {obs.internal_errors}; exceptions our addons caught and logged: {counter.count}")
    for text in counter.first[:2]:
        out("  first logged: " + text.strip().splitlines()[0][:200] + " | " + text.strip().splitlines()[-1][:200])
    out(f"flows whose response or error the addons removed or replaced: {dropped}; flows with unserializable metadata: "
        f"{unserializable}")
    out(f"FUZZ: exceptions {total + obs.internal_errors + counter.count} "
        f"(raised {total} + internal {obs.internal_errors} + caught-and-logged {counter.count}) (target 0)")
    for key, tb in list(first.items())[:2]:
        out(f"--- first traceback for {key}\n{tb}")
    fuzz_worker_split(args, n)


def fuzz_worker_split(args, n: int) -> None:
    """The same hostile flows as mitmdump handles them (cors_analysis=worker): the proxy's hooks turn
    them into records and frames; the worker decodes and judges every record."""
    import io

    import fuzz
    import inproc
    from mitmproxy_cors.mitm.worker import WorkerAnalysis, read_frames

    fz = fuzz.FlowFuzzer(args.seed)
    raised = 0
    with inproc.cors_master() as (tctx, addons, counter):
        obs = inproc.observer_of(addons)
        framer = _Framer()
        inproc.as_in_mitmdump(addons, framer)
        table = inproc.HookTable(addons)
        for i in range(n):
            f = fz.flow()
            loaded = i % 10 == 9
            if loaded:
                f.live = False
            try:
                inproc.run_flow(table, f, loaded=loaded)
            except Exception:
                raised += 1
        framer.flush()
        obs.worker = None
        analysis = WorkerAnalysis()
        analysis.configure({"log": "off", "verbose": False, "report": ""})
        records = 0
        try:
            for batch in read_frames(io.BytesIO(b"".join(framer.frames))):
                for m in batch:
                    analysis.handle(m)
                    records += 1
        except Exception as e:
            raised += 1
            out(f"  the worker stopped: {type(e).__name__}: {e}")
        total = raised + obs.internal_errors + analysis.internal_errors + counter.count
    out(f"FUZZ (worker split, as in mitmdump): {records:,} records judged by the worker; exceptions {total} "
        f"(raised {raised} + proxy internal {obs.internal_errors} + worker internal {analysis.internal_errors} "
        f"+ caught-and-logged {counter.count}) (target 0)")


# -- main ----------------------------------------------------------------------------------------

PARTS = ("engine", "addon", "proxy", "memory", "fuzz")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--quick", action="store_true", help="smaller counts everywhere (minutes, not an hour)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--engine-flows", type=int, default=200_000)
    p.add_argument("--engine-repeats", type=int, default=5)
    p.add_argument("--dispatch-rounds", type=int, default=4, help="rounds of bench/dispatch.py's variants")
    p.add_argument("--dispatch-flows", type=int, default=6000, help="flows per bench/dispatch.py run")
    p.add_argument("--addon-flows", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=8, help="proxy: rounds, each with fresh processes of the three variants (order alternates)")
    p.add_argument("--duration", type=float, default=15.0, help="proxy: seconds per wrk run")
    p.add_argument("--warmup", type=float, default=5.0, help="proxy: seconds of warm-up per variant")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--ab-duration", type=float, default=240.0, help="proxy (a): seconds of each alternating wrk run")
    p.add_argument("--ab-period", type=float, default=12.0, help="proxy (a): seconds between loading and unloading")
    p.add_argument("--ab-settle", type=float, default=5.0, help="proxy (a): seconds after a switch left out")
    p.add_argument("--proxy-mem-flows", type=int, default=1_000_000,
                   help="memory (a): flows through mitmdump after warm-up (0 skips)")
    p.add_argument("--mem-flows", type=int, default=1_000_000, help="memory (b): in-process flows after warm-up")
    p.add_argument("--mem-warmup", type=int, default=20_000, help="memory: warm-up flows before the first RSS reading")
    p.add_argument("--fuzz-flows", type=int, default=100_000)
    p.add_argument("--inproc-memory-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inproc_memory_child:
        part_memory_inproc(args)
        return
    if args.quick:
        args.engine_flows, args.engine_repeats, args.addon_flows = 50_000, 3, 15_000
        args.dispatch_rounds, args.dispatch_flows = 2, 3000
        args.rounds, args.duration, args.warmup = 3, 6.0, 3.0
        args.ab_duration, args.ab_period, args.ab_settle = 64.0, 8.0, 3.0
        args.proxy_mem_flows, args.mem_flows, args.mem_warmup = 30_000, 100_000, 5_000
        args.fuzz_flows = 20_000
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        p.error(f"unknown part(s): {', '.join(sorted(unknown))}")

    machine()
    t0 = time.monotonic()
    if "engine" in parts:
        part_engine(args)
    if "addon" in parts:
        part_addon(args)
    if "proxy" in parts:
        part_proxy(args)
    if "memory" in parts:
        if args.proxy_mem_flows > 0:
            part_memory_proxy(args)
        # A fresh interpreter: memory this process freed in earlier parts would be reused and hide growth.
        subprocess.run([sys.executable, __file__, "--inproc-memory-child", "--mem-flows", str(args.mem_flows),
                        "--mem-warmup", str(args.mem_warmup), "--seed", str(args.seed)], check=False)
    if "fuzz" in parts:
        part_fuzz(args)
    out()
    out(f"(benchmark took {time.monotonic() - t0:.0f} s)")


if __name__ == "__main__":
    main()
