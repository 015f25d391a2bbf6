"""Long-lived responses: server-sent events and streamed bodies, judged at their headers.

The browser's CORS check needs only a response's status and headers (`CorsURLLoader::OnReceiveResponse`
runs before any byte of the body), so a response whose body may last minutes, an `EventSource`'s
`text/event-stream` or a body the proxy streams (`flow.response.stream`, e.g. `stream_large_bodies`),
is judged when its headers arrive, once, instead of when the stream closes.

Through mitmproxy 11 and 12 with default options, an event stream is buffered like any body: the page
gets no `open` event and no message, and Chromium makes no verdict, until the server closes the stream
(measured with Chromium 156: every event at once after 5 s); `--set stream_large_bodies=1` streams it
(the `open` event and the first message within 60 ms). The verdict says so.

Pure: the proxy passes what it knows as plain values, and the delivery comes back on the Exchange
(`extra["delivery"]`: the delivery and whether the flow was judged at its headers, mitm/snapshot.py).
"""

from __future__ import annotations

from .verdict import Verdict

EVENT_STREAM = "text/event-stream"

# How a long-lived response reaches the browser (the Exchange's `extra["delivery"]`).
BUFFERED_EVENT_STREAM = "event-stream-buffered"  # held by the proxy until the stream closes
STREAMED_EVENT_STREAM = "event-stream-streamed"
STREAMED = "streamed"  # any other body the proxy streams

BUFFERED_WARNING = (
    "mitmproxy buffers this event stream (text/event-stream) like any body: the page gets its events, and "
    "the browser its verdict, only when the stream closes; stream it with --set stream_large_bodies=1 "
    "(every body then goes through unbuffered) or a script that sets flow.response.stream in responseheaders")
JUDGED_AT_HEADERS = ("judged at the response headers, while the body was still open (a long-lived response: "
                     "the browser's CORS check needs only the status and headers)")


def delivery_of(content_type: str | None, streamed: bool) -> str | None:
    """How a response reaches the browser when its body may outlast the flow's headers by far: one
    of the constants above, or None for an ordinary response (judged when it ends)."""
    if content_type and content_type.split(";", 1)[0].strip().lower() == EVENT_STREAM:
        return STREAMED_EVENT_STREAM if streamed else BUFFERED_EVENT_STREAM
    return STREAMED if streamed else None


def with_delivery(verdict: Verdict, delivery: tuple | None) -> Verdict:
    """The verdict with what the delivery, `(one of the constants above, judged at the headers?)`,
    means for the page: a note when it was judged at the headers, and for a buffered event stream the
    warning that the proxy holds it back."""
    if not isinstance(delivery, tuple) or len(delivery) != 2:
        return verdict
    how, early = delivery
    if how not in (BUFFERED_EVENT_STREAM, STREAMED_EVENT_STREAM, STREAMED):
        return verdict
    notes = verdict.notes + (JUDGED_AT_HEADERS,) if early else verdict.notes
    if how == BUFFERED_EVENT_STREAM:
        return verdict._replace(notes=notes, warnings=verdict.warnings + (BUFFERED_WARNING,))
    return verdict._replace(notes=notes)
