"""CorsDisplay: mitmweb's comment column and the console key, without starting a UI."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from mitmproxy import exceptions
from mitmproxy.tools.web.webaddons import WebAddon


async def test_comment_column_added_when_web_columns_is_at_its_default(stack):
    stack.tctx.master.addons.add(WebAddon())
    default = list(stack.tctx.options.default("web_columns"))
    stack.display.running()
    assert list(stack.tctx.options.web_columns) == default + ["comment"]


async def test_users_web_columns_are_left_alone(stack):
    stack.tctx.master.addons.add(WebAddon())
    stack.tctx.options.web_columns = ["path", "status"]
    stack.display.running()
    assert list(stack.tctx.options.web_columns) == ["path", "status"]


class FakeKeymap:
    def __init__(self, taken=()):
        self.keys = {("flowlist", k): SimpleNamespace(command="something.else") for k in taken}

    def get(self, context, key):
        return self.keys.get((context, key))

    def add(self, key, command, contexts, help=""):
        for c in contexts:
            self.keys[(c, key)] = SimpleNamespace(command=command)

    def remove(self, key, contexts):
        for c in contexts:
            self.keys.pop((c, key), None)


async def test_console_key_binds_moves_and_respects_existing_bindings(stack):
    stack.tctx.master.keymap = FakeKeymap()
    stack.display.running()
    assert stack.tctx.master.keymap.get("flowview", "c").command == "cors.explain @focus"
    stack.tctx.configure(stack.display, cors_console_key="ctrl e")
    assert stack.tctx.master.keymap.get("flowlist", "c") is None
    assert stack.tctx.master.keymap.get("flowlist", "ctrl e").command == "cors.explain @focus"
    stack.tctx.configure(stack.display, cors_console_key="")
    assert stack.tctx.master.keymap.keys == {}

    stack.tctx.master.keymap = FakeKeymap(taken=["c"])  # e.g. from the user's keys.yaml
    stack.tctx.configure(stack.display, cors_console_key="c")
    assert stack.tctx.master.keymap.get("flowlist", "c").command == "something.else"
    assert stack.tctx.master.keymap.get("flowview", "c") is None


async def test_no_keymap_outside_the_console(stack):
    stack.display.running()  # mitmdump, mitmweb: nothing to bind, no error


async def test_bad_console_key(stack):
    with pytest.raises(exceptions.OptionsError,
                       match=r"^cors_console_key must be one key such as 'c', 'ctrl x' or 'f5' \(or empty\), not 'two words'$"):
        stack.tctx.configure(stack.display, cors_console_key="two words")
