"""Byte-level plumbing for the real-mitmdump tests: a server that answers canned bytes, a raw
HTTP/1.1 client that reads exactly one response at a time (so keep-alive framing is checked), and a
mitmdump of the running venv with the addon."""

from __future__ import annotations

import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADDON = REPO / "cors_addon.py"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_head(f) -> bytes | None:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = f.readline()
        if not line:
            return None
        head += line
    return head


def _length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class CannedServer:
    """Answers every request with the canned bytes of the longest key found in its target ("/" = default)."""

    def __init__(self, responses: dict[str, bytes]):
        self.responses = responses
        self.requests: list[bytes] = []
        canned = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                while True:
                    head = _read_head(self.rfile)
                    if head is None:
                        return
                    self.rfile.read(_length(head))
                    canned.requests.append(head)
                    target = head.split(b" ")[1].decode()
                    key = max((k for k in canned.responses if k in target), key=len)
                    self.wfile.write(canned.responses[key])
                    self.wfile.flush()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class RawClient:
    """One keep-alive connection to the proxy; `send` returns the raw bytes of exactly one response."""

    def __init__(self, proxy_port: int):
        self.sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
        self.f = self.sock.makefile("rb")

    def send(self, method: str, url: str, headers: list[tuple[str, str]] = ()) -> bytes:
        host = url.split("://", 1)[1].split("/", 1)[0]
        lines = [f"{method} {url} HTTP/1.1", f"Host: {host}", *[f"{k}: {v}" for k, v in headers], "", ""]
        self.sock.sendall("\r\n".join(lines).encode("latin-1"))
        head = _read_head(self.f)
        assert head is not None, "the proxy closed the connection"
        status = int(head.split(b" ")[1])
        body = b"" if status in (204, 304) or method == "HEAD" else self.f.read(_length(head))
        return head + body

    def close(self):
        self.f.close()
        self.sock.close()


def parse(raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = [(k, v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    return status, headers, body


class MitmDump:
    def __init__(self, workdir: Path, *args: str, addon: bool = True):
        self.port = free_port()
        self.out = workdir / f"mitmdump-{self.port}.out"
        self.report = workdir / f"report-{self.port}.jsonl"
        cmd = [str(BIN / "mitmdump"), "--listen-host", "127.0.0.1", "-p", str(self.port)]
        if addon:
            cmd += ["-s", str(ADDON), "--set", f"cors_report={self.report}"]
        self.cmd = cmd + list(args)
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "MitmDump":
        with open(self.out, "wb") as fh:
            self.proc = subprocess.Popen(self.cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env={**os.environ, "TERM": "dumb"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mitmdump exited with {self.proc.returncode}:\n{self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.3).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(self.output())

    def run_to_exit(self, timeout: float = 30) -> int:
        with open(self.out, "wb") as fh:
            proc = subprocess.run(self.cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=timeout)
        return proc.returncode

    def stop(self) -> str:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.output()

    def output(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def report_lines(self) -> list[dict]:
        if not self.report.exists():
            return []
        lines = [json.loads(line) for line in self.report.read_text().splitlines() if line.strip()]
        return [d for d in lines if "record" not in d]  # verdicts; the audit's findings are lines of their own

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
