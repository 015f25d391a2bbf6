"""Version-neutral helpers for the content view (mitmproxy 11's View API vs 12's Contentview API)."""

from __future__ import annotations

from mitmproxy import contentviews

V12 = hasattr(contentviews, "Contentview")


def render(message, flow, view: str = "cors") -> tuple[str, str]:
    """(description or view name, text) of `view` on `message`, as the UIs compute it."""
    if V12:
        r = contentviews.prettify_message(message, flow, view)
        return r.view_name or "", r.text
    desc, lines, error = contentviews.get_message_content_view(view, message, flow)
    assert error is None, error
    return desc, "\n".join("".join(text for _style, text in line) for line in lines)


def styled_lines(message, flow) -> list[list[tuple[str, str]]]:
    """mitmproxy 11 only: the styled lines of the view."""
    desc, lines, error = contentviews.get_message_content_view("cors", message, flow)
    return list(lines)


def auto_picks_cors(message, flow) -> bool:
    desc, text = render(message, flow, "auto")
    if V12:
        return desc.lower() == "cors"
    return desc.startswith("CORS")
