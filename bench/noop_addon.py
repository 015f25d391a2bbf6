"""The floor for the proxy figures: a script shaped like cors_addon.py as the bench runs it (as
many addons, the same flow hooks: patching off, so the fixer only keeps its `error` hook) whose
hooks do nothing. What it costs is mitmproxy's own price for dispatching a script's hooks, which no
addon of this shape can go below."""


class Fixer:
    def error(self, f): pass


class Observer:
    def requestheaders(self, f): pass
    def response(self, f): pass
    def error(self, f): pass


class Display: pass
class Commands: pass
class Terminal: pass


addons = [Fixer(), Observer(), Display(), Commands(), Terminal()]
