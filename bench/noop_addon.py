"""The floor for the proxy figures: a script shaped like cors_addon.py as the bench runs it (one
object in mitmproxy's chain with the same flow hooks: patching off and no request-changing option,
so only `response` and `error`) whose hooks do nothing. What it costs is mitmproxy's own price for dispatching a
script's hooks, which no addon of this shape can go below."""


class CorsAddon:
    def response(self, f): pass
    def error(self, f): pass


addons = [CorsAddon()]
