"""The built-in demo: `python -m mitmproxy_cors.demo [--serve]`.

Starts a page origin and two API origins on loopback, and mitmdump with the addon in front of
them. Without --serve, headless Chromium runs every scenario through the proxy and the demo prints,
for each flow, the addon's verdict next to what Chromium itself reported over DevTools. With
--serve it stays up and prints how to point your own browser at it.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .scenarios import SCENARIOS, scenario_url
from .servers import DemoServers

REPO = Path(__file__).resolve().parents[3]
ADDON = REPO / "cors_addon.py"
# The report's kinds in plain words, for the demo's table.
KIND_WORDS = {"preflight": "preflight (OPTIONS)", "actual": "request after its preflight",
              "simple": "request needing no preflight", "not-cors": "not CORS", "no-cors": "no-cors load",
              "same-origin": "same-origin"}

console = Console(width=None if sys.stdout.isatty() else 120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mitmdump_command() -> list[str]:
    exe = Path(sys.executable).with_name("mitmdump")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("mitmdump")
    if found:
        return [found]
    return [sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()"]


def start_mitmdump(port: int, report: str, quiet: bool, fix: bool = False) -> subprocess.Popen:
    args = _mitmdump_command() + [
        "--listen-host", "127.0.0.1", "-p", str(port), "-s", str(ADDON),
        "--set", f"cors_report={report}", "--set", "cors_log=cors",
    ]
    if fix:
        args += ["--set", "cors_fix=~all"]
    if quiet:
        args += ["--set", "termlog_verbosity=error", "--set", "flow_detail=0"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL if quiet else None,
                            stderr=subprocess.STDOUT if quiet else None)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"mitmdump exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("mitmdump did not start listening")


def demo_page(api: str, api2: str) -> str:
    """A page with one button per scenario, for --serve."""
    rows = []
    for s in SCENARIOS:
        url = scenario_url(s, api, api2)
        rows.append(
            f"<li><button onclick='run({json.dumps(s.js)}, {json.dumps(url)}, {json.dumps(s.credentials)}, this)'>"
            f"{html.escape(s.id)}</button> {html.escape(s.title)} <code></code></li>")
    return f"""<!doctype html><meta charset=utf-8><title>mitmproxy-cors demo</title>
<h1>mitmproxy-cors demo</h1><p>Each button makes one cross-origin request to {html.escape(api)}.
Watch the proxy's terminal (or open DevTools) for the verdicts.</p><ul>{''.join(rows)}</ul>
<script>
window.__fetch = async (url, init) => {{ try {{ const r = await fetch(url, init); return {{ok: true, status: r.status}}; }}
  catch (e) {{ return {{ok: false, error: String(e)}}; }} }};
async function run(js, url, creds, button) {{
  if (creds) await fetch('/set-cookie');
  const fn = (0, eval)('(' + js + ')');
  let out; try {{ out = await fn({{url}}); }} catch (e) {{ out = {{ok: false, error: String(e)}}; }}
  button.parentElement.querySelector('code').textContent = JSON.stringify(out);
}}
</script>"""


def serve_demo_page(body: str, port: int):
    """The demo page for a person's browser, with /set-cookie for the credentialed scenarios."""
    import http.server
    import threading

    from .servers import SET_COOKIE

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/set-cookie"):
                self.send_response(200)
                self.send_header("Set-Cookie", SET_COOKIE)
                data = b"cookie set"
            else:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                data = body.encode()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    except OSError:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def read_report(path: str) -> list[dict]:
    latest: dict[str, dict] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                d = json.loads(line)
                if "record" not in d:  # verdicts only: the audit's findings are lines of their own
                    latest[d["flow_id"]] = d
    return sorted(latest.values(), key=lambda d: d["time"])


def run_headless(servers: DemoServers, proxy_port: int, report: str, fixing: bool = False) -> int:
    from .browser import BrowserUnavailable, ChromiumDriver, Snippet

    api, api2 = servers.api.origin(), servers.api2.origin()
    page = servers.page.origin() + "/"
    snippets = []
    for s in SCENARIOS:
        js = s.js
        if s.credentials:
            js = f"async (u) => {{ await fetch('/set-cookie'); return await ({s.js})(u); }}"
        snippets.append(Snippet(s.id, js, {"url": scenario_url(s, api, api2)}))
    try:
        with ChromiumDriver(f"127.0.0.1:{proxy_port}") as driver:
            console.print(f"Chromium {driver.version} through mitmdump on 127.0.0.1:{proxy_port}\n")
            results = driver.run(page, snippets)
    except BrowserUnavailable as e:
        console.print(f"[red]{e}[/red]\nRun with --serve and use your own browser instead.")
        return 2
    time.sleep(0.5)
    flows = read_report(report)
    agree = 0
    for s in SCENARIOS:
        res = results[s.id]
        failure = res.first_failure()
        chromium = (failure.cors_error if failure else None) or ("allowed" if res.page_ok else "failed")
        mine = [d for d in flows if f"/c/{s.id}/" in d["url"]]
        blocked = next((d for d in mine if d["verdict"] == "blocked"), None)
        addon = blocked["reason"] if blocked else "allowed"
        same = addon == chromium
        agree += same
        table = Table(title=f"{s.id}: {s.title}", title_justify="left", show_edge=False, expand=True)
        table.add_column("flow", overflow="fold", ratio=3)
        table.add_column("kind")
        table.add_column("verdict", ratio=4, overflow="fold")
        for d in mine:
            flagged = (d["conditional"] or {}).get("evidence") or d["warnings"]
            colour = "red" if d["verdict"] == "blocked" else ("yellow" if flagged else "green")
            text = f"[{colour}]{escape(d['summary'])}[/{colour}]"
            if d["verdict"] == "blocked" and d["reason"]:
                # The sentence DevTools' console prints for it, the one developers search for.
                text += f"\n[dim]console: {escape(d['message'])}[/dim]"
            if d["cause"]:
                text += f"\n[dim]underneath: {d['cause']}[/dim]"
            patch = d.get("cors_patch") or {}
            if patch.get("patched"):
                server = (patch.get("server") or {}).get("text") or "not asked"
                text += f"\n[cyan]patched by the proxy; the server alone: {server}[/cyan]"
            if d.get("unexposed_headers"):
                text += f"\n[dim]hidden from the page: {', '.join(d['unexposed_headers'])}[/dim]"
            table.add_row(f"{d['method']} {d['url'].split('?')[0]}", KIND_WORDS.get(d["kind"], d["kind"]), text)
        console.print(table)
        mark = "[green]agrees[/green]" if same else "[red]DIFFERS[/red]"
        console.print(f"  Chromium (DevTools): [bold]{chromium}[/bold]   addon: [bold]{addon}[/bold]   {mark}\n")
    console.print(f"[bold]{agree}/{len(SCENARIOS)} scenarios: the addon's verdict equals Chromium's.[/bold]")
    console.print(f"Full JSON Lines report: {report}")
    if not fixing:
        console.print("Run it again with --fix to watch the proxy apply each fix (cors_fix) and the page succeed.")
    return 0 if agree == len(SCENARIOS) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mitmproxy_cors.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help="stay up for your own browser")
    parser.add_argument("--proxy-port", type=int, default=0, help="default: 8080 with --serve, else any free port")
    parser.add_argument("--page-port", type=int, default=0)
    parser.add_argument("--api-port", type=int, default=0)
    parser.add_argument("--report", default="", help="JSON Lines report path (default: a temp file)")
    parser.add_argument("--fix", action="store_true",
                        help="turn on cors_fix for every flow: see each scenario pass with the proxy's fix")
    args = parser.parse_args(argv)

    report = args.report or os.path.join(tempfile.mkdtemp(prefix="cors-demo-"), "report.jsonl")
    proxy_port = args.proxy_port or (8080 if args.serve else _free_port())
    with DemoServers(args.page_port, args.api_port) as servers:
        api, api2 = servers.api.origin(), servers.api2.origin()
        proc = start_mitmdump(proxy_port, report, quiet=not args.serve, fix=args.fix)
        try:
            if not args.serve:
                return run_headless(servers, proxy_port, report, fixing=args.fix)
            page_server = serve_demo_page(demo_page(api, api2), args.page_port or 8001)
            page = f"http://127.0.0.1:{page_server.server_address[1]}/"
            console.print(
                f"\nDemo page: [bold]{page}[/bold]   API: {api}   proxy: 127.0.0.1:{proxy_port}\n"
                f"Open it through the proxy, e.g.\n  chromium --proxy-server=http://127.0.0.1:{proxy_port} "
                f"--proxy-bypass-list='<-loopback>' --user-data-dir=$(mktemp -d) {page}\n"
                f"Verdicts appear below; the report is {report}. Ctrl-C stops.\n")
            proc.wait()
            return proc.returncode or 0
        except KeyboardInterrupt:
            return 0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
