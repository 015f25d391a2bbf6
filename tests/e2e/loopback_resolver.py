"""mitmproxy script: connect to 127.0.0.1:<port> whatever host a request names (a resolver for tests).

There is no DNS on the test machines, and the names the audit tests use (`www.app.test`,
`api.app.test`, the audit's crafted `cors-audit-attacker.*` hosts) resolve nowhere. This script
rewrites the address of every server connection, just before mitmproxy opens it, to one loopback
port; the request itself (its Host header, the TLS SNI) keeps the name, so the server behind the port
(audit_zoo.py) still sees which host was asked for.

    mitmdump -s tests/e2e/loopback_resolver.py --set loopback_port=8001
    LOOPBACK_RESOLVER_PORT=8001 mitmdump -s tests/e2e/loopback_resolver.py

mitmproxy matches a server connection for reuse by the address the request names, which this
script has rewritten: no server connection is ever reused, and mitmproxy keeps at most 5 open per
address and client connection. The server should close each connection after its answer
(`Connection: close`, as audit_zoo.py does); idle keep-alive connections stall the next requests until
the server times them out.

Without a port, server connections are refused (never sent to a real resolver). It has no flow hook
(request, response, ...): the flows mitmproxy records are the ones the client sent, untouched.
"""

from __future__ import annotations

import logging
import os

from mitmproxy import ctx

ENV = "LOOPBACK_RESOLVER_PORT"

logger = logging.getLogger(__name__)


class LoopbackResolver:
    def load(self, loader) -> None:
        loader.add_option("loopback_port", int, 0,
                          f"Connect every server connection to 127.0.0.1 on this port (0: ${ENV}).")

    def port(self) -> int:
        port = ctx.options.loopback_port
        if not port:
            try:
                port = int(os.environ.get(ENV, "0") or 0)
            except ValueError:
                port = 0
        return port

    def server_connect(self, data) -> None:
        port = self.port()
        if not 0 < port < 65536:
            data.server.error = f"loopback_resolver: no port (set loopback_port or ${ENV})"
            logger.warning("%s", data.server.error)
            return
        data.server.address = ("127.0.0.1", port)


addons = [LoopbackResolver()]
