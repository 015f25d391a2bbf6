"""Real Flask and Starlette applications on loopback threads, with or without CORS middleware.

The view answers any path and any method with ``ok``, ``Cache-Control: no-store`` and an
``X-Total: 7`` header (so exposure is observable from the page). Middleware configuration comes
from executing Python source against ``app``: the snippets ``cors.fix`` prints, or the keyword
arguments derived from a policy.

`layered_flask_app` and `layered_starlette_app` are the same apps with CORS written by hand, the way
it is often found, bugs included (`HAND_WRITTEN_CORS`): a path with ``error-page`` answers a 500
page, one with ``crash`` raises (an unhandled exception).
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


# The hand-written CORS layer: one origin, Authorization allowed; and its bugs: '*' with credentials on
# /public, no Content-Type and no PUT allowed, nothing on error responses (status >= 400).
def hand_written_cors(allowed_origin: str, path: str, status: int) -> list[tuple[str, str]]:
    if status >= 400:
        return []
    return [("Access-Control-Allow-Origin", "*" if "public" in path else allowed_origin), ("Vary", "Origin"),
            ("Access-Control-Allow-Credentials", "true"), ("Access-Control-Allow-Methods", "GET, POST"),
            ("Access-Control-Allow-Headers", "Authorization"), ("Access-Control-Expose-Headers", "X-Total"),
            ("Access-Control-Max-Age", "600")]


def layered_flask_app(allowed_origin: str | None, setup: str | None = None):
    """`allowed_origin` None: the hand-written layer removed, as `cors.fix` tells the user to."""
    from flask import Flask, Response, request

    app = Flask("cors-fix-layered")

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def view(path):
        if "crash" in path:
            raise RuntimeError("an unhandled error")
        if "error-page" in path:
            return Response("error", status=500, mimetype="text/plain")
        return Response("ok", headers={"Cache-Control": "no-store", "X-Total": "7"}, mimetype="text/plain")

    if allowed_origin:
        @app.after_request
        def cors_layer(resp):
            for name, value in hand_written_cors(allowed_origin, request.path, resp.status_code):
                resp.headers[name] = value
            return resp

    if setup:
        exec(compile(setup, "<flask setup>", "exec"), {"app": app})
    return app


def layered_starlette_app(allowed_origin: str | None, setup: str | None = None):
    from starlette.applications import Starlette
    from starlette.routing import Mount

    async def backend(scope, receive, send):
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        if "crash" in scope["path"]:
            raise RuntimeError("an unhandled error")
        status = 500 if "error-page" in scope["path"] else 200
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain"), (b"cache-control", b"no-store"),
                                (b"x-total", b"7")]})
        await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"error"})

    class HandWrittenCors:  # a pure ASGI middleware, as often written by hand
        def __init__(self, app, allowed_origin: str):
            self.app, self.allowed_origin = app, allowed_origin

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http":
                return await self.app(scope, receive, send)

            async def send_with_cors(message):
                if message["type"] == "http.response.start":
                    extra = hand_written_cors(self.allowed_origin, scope["path"], message["status"])
                    message = {**message, "headers": [*message.get("headers", []),
                                                      *((k.encode(), v.encode()) for k, v in extra)]}
                await send(message)

            await self.app(scope, receive, send_with_cors)

    app = Starlette(routes=[Mount("/", app=backend)])
    if allowed_origin:
        app.add_middleware(HandWrittenCors, allowed_origin=allowed_origin)
    if setup:
        exec(compile(setup, "<starlette setup>", "exec"), {"app": app})
    return app
