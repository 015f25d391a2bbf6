"""engine/long_lived.py: which responses are judged at their headers, and what their verdict says."""

from mitmproxy_cors.engine.long_lived import (BUFFERED_EVENT_STREAM, BUFFERED_WARNING, JUDGED_AT_HEADERS, STREAMED,
                                              STREAMED_EVENT_STREAM, delivery_of, with_delivery)
from mitmproxy_cors.engine.verdict import Verdict


def test_delivery_of():
    assert delivery_of("text/event-stream", False) == BUFFERED_EVENT_STREAM
    assert delivery_of(" Text/Event-Stream ; charset=utf-8", False) == BUFFERED_EVENT_STREAM
    assert delivery_of("text/event-stream", True) == STREAMED_EVENT_STREAM
    assert delivery_of("application/json", True) == STREAMED
    assert delivery_of("text/event-streams", False) is None
    assert delivery_of(None, False) is None and delivery_of("", False) is None


def _v() -> Verdict:
    return Verdict(flow_id="f", kind="simple", verdict="allowed", method="GET", url="http://b.test/", origin=None,
                   time=0.0, warnings=("w",), notes=("n",))


def test_with_delivery():
    v = _v()
    assert with_delivery(v, None) is v
    assert with_delivery(v, "junk") is v and with_delivery(v, ("junk", True)) is v
    early = with_delivery(v, (BUFFERED_EVENT_STREAM, True))
    assert early.notes == ("n", JUDGED_AT_HEADERS) and early.warnings == ("w", BUFFERED_WARNING)
    late = with_delivery(v, (BUFFERED_EVENT_STREAM, False))
    assert late.notes == ("n",) and late.warnings == ("w", BUFFERED_WARNING)
    streamed = with_delivery(v, (STREAMED, True))
    assert streamed.notes == ("n", JUDGED_AT_HEADERS) and streamed.warnings == ("w",)
