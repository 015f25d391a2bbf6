"""Real mitmdump / mitmweb processes of the running venv, on loopback ports of their own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADDON = REPO / "cors_addon.py"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"port {port} did not open")


class Proc:
    """`tool` (mitmdump/mitmweb) with the addon; output captured in a file."""

    def __init__(self, tool: str, args: list[str], workdir: Path, env: dict | None = None,
                 new_session: bool = False):
        self.port = free_port()
        self.out = workdir / f"{tool}-{self.port}.out"
        cmd = [str(BIN / tool), "--listen-host", "127.0.0.1", "-p", str(self.port), "-s", str(ADDON), *args]
        with open(self.out, "wb") as fh:
            self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env={**os.environ, **(env or {})}, start_new_session=new_session)

    def start(self) -> "Proc":
        wait_port(self.port, self.proc)
        return self

    def opener(self) -> urllib.request.OpenerDirector:
        return urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{self.port}"}))

    def request(self, url: str, method: str = "GET", headers: dict | None = None) -> int:
        req = urllib.request.Request(url, method=method, headers=headers or {})
        try:
            with self.opener().open(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.output()

    def output(self) -> str:
        return self.out.read_text(errors="replace")
