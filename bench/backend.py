"""nginx on loopback with its own temporary config: the fast backend for the proxy benchmark."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
user {user};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    {access_log}
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    default_type application/json;
    server {{
        listen 127.0.0.1:{port};
        location /api/ {{
            if ($request_method = OPTIONS) {{
                add_header Access-Control-Allow-Origin $http_origin always;
                add_header Access-Control-Allow-Methods "GET, POST, PUT, DELETE" always;
                add_header Access-Control-Allow-Headers "Content-Type, X-CSRF-Token" always;
                add_header Access-Control-Max-Age 600 always;
                add_header Vary Origin always;
                return 204;
            }}
            add_header Access-Control-Allow-Origin $http_origin always;
            add_header Access-Control-Expose-Headers "X-Total-Count" always;
            add_header X-Total-Count 42 always;
            add_header Vary Origin always;
            return 200 '{{"ok":true,"items":[1,2,3]}}';
        }}
        location /public/ {{
            add_header Access-Control-Allow-Origin * always;
            return 200 '{{"feed":[]}}';
        }}
        location /private/ {{
            return 200 '{{"secret":1}}';
        }}
        location /moved/ {{
            add_header Access-Control-Allow-Origin $http_origin always;
            return 302 http://127.0.0.1:{port}/api/target;
        }}
        location / {{
            default_type text/html;
            return 200 '<!doctype html><title>ok</title>';
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def have_taskset() -> bool:
    return shutil.which("taskset") is not None


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Nginx:
    def __init__(self, cpu: int | None = None, log_times: bool = False) -> None:
        """`log_times`: log the time each request ended (ms resolution, written at most 1 s late),
        for counting requests in time windows (request_times)."""
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="cors-bench-nginx-")
        self.cpu = cpu
        self.log_times = log_times
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        user = "nobody nogroup" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
        conf = os.path.join(self.tmp, "nginx.conf")
        with open(conf, "w") as f:
            access_log = (f"log_format times '$msec'; access_log {self.tmp}/times.log times buffer=64k flush=1s;"
                          if self.log_times else "access_log off;")
            f.write(NGINX_CONF.format(tmp=self.tmp, port=self.port, user=user, access_log=access_log))
        cmd = [nginx, "-p", self.tmp, "-c", conf]
        if self.cpu is not None:
            cmd = ["taskset", "-c", str(self.cpu)] + cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()  # SIGTERM to the master: it stops its worker
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def request_times(self, start: float, end: float) -> list[float]:
        """Sorted end times (time.time()) of the requests nginx answered between start and end."""
        time.sleep(1.5)  # the log buffer is flushed every second
        with open(os.path.join(self.tmp, "times.log")) as fh:
            return sorted(t for t in (float(x) for x in fh if x.strip()) if start <= t <= end)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
