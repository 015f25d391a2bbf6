"""CORS header names and edits of a response's header field list, shared by the server side.

A field list is a list of (name, value) pairs as they go on the wire; edits keep the order and the
first spelling of a name.
"""

from __future__ import annotations

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
ACEH = "Access-Control-Expose-Headers"
ACMA = "Access-Control-Max-Age"
ACAPN = "Access-Control-Allow-Private-Network"
ACRM = "Access-Control-Request-Method"
ACRH = "Access-Control-Request-Headers"
ACRPN = "Access-Control-Request-Private-Network"
CORS_RESPONSE_HEADERS = (ACAO, ACAC, ACAM, ACAH, ACEH, ACMA, ACAPN)


def set_header(fields: list[tuple[str, str]], name: str, value: str) -> None:
    """Replace every `name` line by one line with `value`, at the first line's position."""
    low = name.lower()
    idx = [i for i, (k, _) in enumerate(fields) if k.lower() == low]
    if not idx:
        fields.append((name, value))
        return
    fields[idx[0]] = (fields[idx[0]][0], value)
    for i in reversed(idx[1:]):
        del fields[i]


def remove_header(fields: list[tuple[str, str]], name: str) -> None:
    low = name.lower()
    fields[:] = [(k, v) for k, v in fields if k.lower() != low]


def get_all(fields: list[tuple[str, str]], name: str) -> list[str]:
    low = name.lower()
    return [v for k, v in fields if k.lower() == low]


def add_vary(fields: list[tuple[str, str]], token: str) -> None:
    """Make the response vary on `token`: extend the last Vary line, or add one."""
    existing = [t.strip().lower() for v in get_all(fields, "Vary") for t in v.split(",")]
    if token.lower() in existing or "*" in existing:
        return
    low = "vary"
    idx = [i for i, (k, _) in enumerate(fields) if k.lower() == low]
    if not idx:
        fields.append(("Vary", token))
        return
    k, v = fields[idx[-1]]
    fields[idx[-1]] = (k, f"{v}, {token}" if v.strip() else token)
