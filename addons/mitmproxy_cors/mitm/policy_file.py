"""Reading a `cors_policy` file (TOML, YAML or JSON) and compiling each policy's scope filter."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass

from mitmproxy import flowfilter

from ..server.policy import Policy, PolicyError, policies_from_mapping

__all__ = ["LoadedPolicy", "PolicyError", "load_policy_file", "parse_policy_text"]


@dataclass
class LoadedPolicy:
    policy: Policy
    scope: flowfilter.TFilter

    def matches(self, flow) -> bool:
        return bool(self.scope(flow))


def parse_policy_text(text: str, kind: str) -> object:
    """Parse the file's text; `kind` is "toml", "yaml" or "json"."""
    if kind == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise PolicyError(f"not valid TOML: {e}") from None
    if kind == "yaml":
        from ruamel.yaml import YAML, YAMLError

        try:
            return _plain(YAML(typ="safe", pure=True).load(text))
        except YAMLError as e:
            raise PolicyError(f"not valid YAML: {' '.join(str(e).split())}") from None
    if kind == "json":
        try:
            return json.loads(text)
        except ValueError as e:
            raise PolicyError(f"not valid JSON: {e}") from None
    raise PolicyError(f"unknown policy format {kind!r}")


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _kind_of(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    return {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}.get(ext, "")


def load_policy_file(path: str) -> list[LoadedPolicy]:
    """Read, parse and validate; every problem is a PolicyError naming it."""
    kind = _kind_of(path)
    if not kind:
        raise PolicyError(f"{path}: use a .toml, .yaml/.yml or .json file")
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read it ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise PolicyError(f"{path}: not UTF-8 text ({e})") from None
    try:
        policies = policies_from_mapping(parse_policy_text(text, kind))
        loaded = []
        for i, p in enumerate(policies):
            try:
                scope = flowfilter.parse(p.scope)
            except ValueError as e:
                where = f"policy #{i + 1}: " if len(policies) > 1 else ""
                raise PolicyError(f"{where}scope: {e}") from None
            loaded.append(LoadedPolicy(p, scope))
    except PolicyError as e:
        raise PolicyError(f"{path}: {e}") from None
    return loaded
