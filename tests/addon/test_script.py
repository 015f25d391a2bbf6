"""Loading `cors_addon.py` the way `mitmproxy -s cors_addon.py` does (`tctx.script`, mitmproxy's ScriptLoader;
tests/addon/README.md, "How -s cors_addon.py loads")."""

import asyncio
import json
from pathlib import Path

import pytest
from mitmproxy import exceptions
from mitmproxy.addons import script as mscript
from mitmproxy.test import taddons

from mitmproxy_cors.mitm.addon_chain import FLOW_HOOKS

from .flows import API, cors_get, put_pair

SCRIPT = str(Path(__file__).resolve().parents[2] / "cors_addon.py")
URL = API + "/api"


@pytest.fixture
async def script():
    with taddons.context() as tctx:
        mod = tctx.script(SCRIPT)
        assert mod is not None, "cors_addon.py failed to load (see the log)"
        try:
            yield tctx, mod
        finally:
            # Unload like mitmproxy does on script removal: runs done() on every addon of the script
            # (content views are global on mitmproxy 11 and must be removed).
            tctx.master.addons.remove(mod)


def _observer(tctx):
    return tctx.master.addons.get("cors")


async def test_script_registers_a_plain_list_of_addons(script):
    tctx, mod = script
    assert [type(a).__name__ for a in mod.addons] == [
        "CorsFixer", "CorsAudit", "CorsPageProbe", "CorsObserver", "CorsDisplay", "CorsCommands", "CorsHtmlCommand", "CorsTerminal",
        "CorsGate"]
    # plain hook methods on the classes: nothing is set on or removed from an instance at run time
    for a in mod.addons:
        assert not [k for k, v in vars(a).items() if callable(v) and k in FLOW_HOOKS], type(a).__name__
    assert type(_observer(tctx)).__name__ == "CorsObserver"
    for name in ("cors.explain", "cors.report", "cors.analyze", "cors.clear", "cors.fix", "cors.fix.off", "cors.html",
                 "cors.audit"):
        assert name in tctx.master.commands.commands


async def test_script_adds_its_options_with_defaults(script):
    tctx, _ = script
    assert tctx.options.cors_report == ""
    assert tctx.options.cors_log == "blocked"
    assert tctx.options.cors_fail_on == "off" and tctx.options.cors_junit == ""


async def test_script_decides_flows_through_all_its_hooks(script):
    tctx, mod = script
    f = cors_get(URL, status=200)
    await tctx.cycle(mod, f)
    assert f.metadata["cors"]["reason"] == "MissingAllowOriginHeader"
    assert f.marked == ":heavy_multiplication_x:"
    assert f.comment.startswith("MissingAllowOriginHeader — CORS blocked: ")


async def test_script_pairs_preflight_and_actual(script):
    tctx, mod = script
    pre, act = put_pair(URL)
    await tctx.cycle(mod, pre)
    await tctx.cycle(mod, act)
    assert act.metadata["cors"]["paired_flow_id"] == pre.id
    assert pre.metadata["cors"]["paired_flow_id"] == act.id


# -- the `-s` path: ScriptLoader in the addon chain, so option changes reach the script -------------


@pytest.fixture
async def loaded():
    loader = mscript.ScriptLoader()
    with taddons.context(loader) as tctx:
        tctx.configure(loader, scripts=[SCRIPT])
        for _ in range(200):  # the script watcher loads it on the running loop
            if tctx.master.addons.get("cors") is not None:
                break
            await asyncio.sleep(0.01)
        assert tctx.master.addons.get("cors") is not None, "cors_addon.py failed to load (see the log)"
        try:
            yield tctx, loader
        finally:
            tctx.configure(loader, scripts=[])  # unloads: done() on every addon of the script


async def test_loaded_script_rejects_a_bad_cors_log(loaded):
    tctx, loader = loaded
    with pytest.raises(exceptions.OptionsError):
        tctx.configure(loader, cors_log="everything")
    assert tctx.options.cors_log == "blocked"


async def test_loaded_script_rejects_an_unwritable_report(loaded, tmp_path):
    tctx, loader = loaded
    with pytest.raises(exceptions.OptionsError, match="cors_report"):
        tctx.configure(loader, cors_report=str(tmp_path / "missing" / "r.jsonl"))


async def test_loaded_script_writes_the_report(loaded, tmp_path):
    tctx, loader = loaded
    path = tmp_path / "report.jsonl"
    tctx.configure(loader, cors_report=str(path))
    f = cors_get(URL, status=200)
    await tctx.cycle(loader, f)
    [line] = [json.loads(s) for s in path.read_text(encoding="utf-8").splitlines()]
    assert line["flow_id"] == f.id and line["reason"] == "MissingAllowOriginHeader"
    assert f.marked == ":heavy_multiplication_x:"
