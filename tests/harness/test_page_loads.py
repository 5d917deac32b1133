"""The Browser view's page loads: from the first capture on the recorder keeps loading the
frontend (a real HTTP server here) and records which version each load showed, until it stops."""

from __future__ import annotations

import time

from support.local_http import Peer
from support.poll import wait_for

from canary.harness.recorder import TimelineRecorder
from canary.harness.timeline import Timeline, TimelineBuffer


def test_each_page_load_is_recorded_with_its_version_until_the_recording_stops():
    peer = Peer(lambda *_: (200, {"version": "1.7.1" if len(peer.calls) > 3 else "1.7.0"}))
    buffer = TimelineBuffer(Timeline(scenario="pages", time_scale=0.05), time.time)
    rec = TimelineRecorder(None, buffer, time_scale=0.05)  # type: ignore[arg-type]
    try:
        assert rec.poll_page("test", "frontend", peer.url + "/", 0.02)
        assert not rec.poll_page("test", "frontend", peer.url + "/", 0.02)  # once per page
        wait_for("six page loads", lambda: len(buffer.snapshot().of("page")) >= 6, 10)
        rec.stop()
        loads = buffer.snapshot().of("page")
        time.sleep(0.1)
        assert len(buffer.snapshot().of("page")) == len(loads), "still loading after stop"
    finally:
        peer.stop()
    versions = [p["version"] for p in loads]
    assert versions[:3] == ["1.7.0"] * 3 and versions[-1] == "1.7.1", versions
    assert all(p["namespace"] == "test" and p["source"] == "frontend" for p in loads)
    assert [p["t"] for p in loads] == sorted(p["t"] for p in loads)
    # the page asked for what podinfo's page shows, as JSON
    assert all(call[1] == "/" for call in peer.calls)
