"""Real Flask and Starlette applications on loopback threads, with or without CORS middleware.

The view answers any path and any method with ``ok``, ``Cache-Control: no-store`` and an
``X-Total: 7`` header (so exposure is observable from the page). Middleware configuration comes
from executing Python source against ``app``: the snippets ``cors.fix`` prints, or the keyword
arguments derived from a policy.
"""

from __future__ import annotations

import socket
import threading
import time

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "FOO"]


def flask_app(setup: str | None = None):
    from flask import Flask, Response

    app = Flask("cors-fix-test")

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def view(path):
        return Response("ok", headers={"Cache-Control": "no-store", "X-Total": "7"}, mimetype="text/plain")

    if setup:
        exec(compile(setup, "<flask setup>", "exec"), {"app": app})
    return app


def starlette_app(setup: str | None = None):
    from starlette.applications import Starlette
    from starlette.routing import Mount

    async def backend(scope, receive, send):
        while True:  # drain the request body
            message = await receive()
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"cache-control", b"no-store"),
                                (b"x-total", b"7")]})
        await send({"type": "http.response.body", "body": b"ok"})

    app = Starlette(routes=[Mount("/", app=backend)])
    if setup:
        exec(compile(setup, "<starlette setup>", "exec"), {"app": app})
    return app


class Served:
    """A WSGI (Flask) or ASGI (Starlette) app served on 127.0.0.1 in a daemon thread."""

    def __init__(self, app, kind: str):
        self.app = app
        self.kind = kind
        self.port = 0
        self._stop = None

    def start(self) -> "Served":
        if self.kind == "wsgi":
            from werkzeug.serving import make_server

            srv = make_server("127.0.0.1", 0, self.app, threaded=True)
            self.port = srv.server_port
            t = threading.Thread(target=srv.serve_forever, daemon=True)
            t.start()
            self._stop = lambda: (srv.shutdown(), srv.server_close())
        else:
            import uvicorn

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
            server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                   lifespan="off", access_log=False))
            t = threading.Thread(target=server.run, daemon=True)
            t.start()
            deadline = time.monotonic() + 15
            while not server.started:
                if time.monotonic() > deadline or not t.is_alive():
                    raise RuntimeError("uvicorn did not start")
                time.sleep(0.05)

            def stop():
                server.should_exit = True
                t.join(10)

            self._stop = stop
        return self

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._stop:
            self._stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def serve_flask(setup: str | None = None) -> Served:
    return Served(flask_app(setup), "wsgi")


def serve_starlette(setup: str | None = None) -> Served:
    return Served(starlette_app(setup), "asgi")
