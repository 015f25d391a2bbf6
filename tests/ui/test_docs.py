"""The docs: the generated reasons catalogue is current, every reason is in it, and the docs'
links and images point at files that exist."""

from __future__ import annotations

import importlib.util
import re
import sys

from .procs import REPO

from mitmproxy_cors.engine.reasons import REASONS

DOCS = REPO / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_reasons", DOCS / "gen_reasons.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_reasons"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_reasons_md_is_generated_from_the_catalogue_and_up_to_date():
    gen = _generator()
    text = gen.render()  # raises if an example does not produce its reason
    assert (DOCS / "reasons.md").read_text() == text, "docs/reasons.md is stale: run python docs/gen_reasons.py"
    assert gen.main(["--check"]) == 0


def test_every_reason_has_a_section_and_an_example_or_a_reason_why_not():
    gen = _generator()
    text = (DOCS / "reasons.md").read_text()
    for name in REASONS:
        assert f"\n## {name}\n" in text
        assert name in gen.EXAMPLES or name in gen.NOT_ON_THE_WIRE, name


def test_links_and_images_resolve():
    for md in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", md.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (md.parent / target).exists(), f"{md.name}: broken link {target}"
