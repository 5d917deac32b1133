"""The report tells a rollout's story at a glance: verdict first, one failed-request line per
load source, the per-step table, expected vs observed weights, readable phase labels."""

from __future__ import annotations

import re

import pytest

from canary.harness.report import CHAR_W, SOURCE_COLORS, chart_svg, write_report
from canary.harness.samples import rollout, sample_records
from canary.harness.screenshot import find_chromium, screenshot
from canary.harness.step_table import step_rows


def _rollback(tmp_path):
    recs = sample_records(tmp_path / "timelines")
    return next(r for r in recs if "rolled back" in r.name), recs


def test_rollback_report_separates_load_sources_and_tabulates_steps(tmp_path):
    rec, recs = _rollback(tmp_path)
    html = write_report(tmp_path, recs).read_text()
    assert html.index("1 of 3 scenarios failed") < html.index("<section")
    assert "href='#" in html  # the verdict links to the scenarios
    section = html[html.index("rolled back on /status/500</h2>"):]
    lines = re.findall(r'class="client_failures" data-source="([^"]+)"', section.split("</svg>")[0])
    assert lines == ["load", "fault-load"]
    assert "class='steps-table'" in section
    # the failing step and its message, computed by the real assertion on the timeline
    assert "step-failed" in section and "saw too many failed requests" in rec.message
    observed = re.search(r"observed: ([\d.]+)%", rec.message)
    assert observed and observed.group(1) in section


def test_step_rows_follow_the_recorded_rollout():
    tl = rollout([10, 20], failed_after=1, threshold=3, fail_share=0.5, qps=400)
    tl.meta["canary_version"] = "1.7.1"
    rows = step_rows(tl)
    assert [r.weight for r in rows] == [0, 10, 0]
    held = rows[1]
    # held for one passed analysis and 3 failed ones, 10 spec seconds each
    assert held.held_s == pytest.approx(40.0, abs=1.0)
    assert held.failed_checks == 3 and "Rolling back" in held.ended_by
    share = held.sources["load"].share()
    assert share is not None and abs(share - 0.10) <= 3 * (held.sampling_error("load") or 0)
    assert rows[-1].in_force and rows[-1].ended_by == ""


def test_phase_labels_never_overlap():
    tl = rollout([10, 20, 30, 40, 50], qps=40)
    svg = chart_svg(tl)
    labels = [(float(x), text) for x, text in
              re.findall(r'class="phase-label" x="([\d.]+)"[^>]*>([^<]+)<', svg)]
    for (x0, t0), (x1, _) in zip(labels, labels[1:], strict=False):
        assert x0 + CHAR_W * len(t0) <= x1, labels
    assert "PromotingFinalising" not in re.sub(r"<[^>]+>", "", svg)


def test_argo_phases_have_their_colours():
    tl = rollout([10])
    for e in tl.entries:
        if e["kind"] == "canary":
            e["phase"] = {"Progressing": "Paused", "Failed": "Degraded"}.get(e["phase"],
                                                                          e["phase"])
    svg = chart_svg(tl)
    assert re.search(r'fill="#ffd966"[^>]*><title>podinfo: Paused', svg)


@pytest.mark.skipif(find_chromium() is None,
                    reason="headless Chromium not installed (apt-get install -y chromium)")
def test_rollback_report_renders_both_source_lines(tmp_path):
    from canary.harness.png import count_colour

    rec, _ = _rollback(tmp_path)
    html = write_report(tmp_path, [rec])
    png = screenshot(html, tmp_path / "rollback.png", width=1100, height=1400)
    fault = SOURCE_COLORS[1]
    # the legend swatch alone is 96 pixels; the line adds hundreds
    assert count_colour(png, fault, 40) > 400, "the fault-load line is not on screen"


def test_step_rows_show_which_version_each_steps_page_loads_showed():
    import random

    tl = rollout([10, 50, 90], qps=40, rng=random.Random(7), pages=True)
    tl.meta["canary_version"] = "1.7.1"
    rows = step_rows(tl)
    # one page load per spec second; at weight 0 every load showed the primary's version
    by_weight = {r.weight: r for r in rows if not r.in_force}
    assert sum(by_weight[0].page_loads.values()) >= 8
    assert by_weight[0].page_share() == {"1.7.0": 1.0}
    assert by_weight[90].page_share().get("1.7.1", 0) > 0.5
    html = write_report_of(tl)
    assert "page loads by version" in html and "v1.7.1" in html


def write_report_of(tl) -> str:
    from canary.harness.report import ScenarioRecord, render_scenario

    rec = ScenarioRecord(nodeid="x::y", feature="f", name="n", outcome="passed")
    return render_scenario(rec, tl)


def test_step_metrics_map_backends_to_deployments_and_span_each_step():
    from canary.harness.step_metrics import backend_deployments, step_window

    assert backend_deployments({"podinfo-primary": 90, "podinfo-canary": 10}, "podinfo") == {
        "primary": "podinfo-primary", "canary": "podinfo"}
    # the range reaches from the step's start to the scrape after its end
    assert step_window(100.0, 100.5, 0.5, now=200.0) == (101.0, "1000ms")
    assert step_window(100.0, 100.5, 0.5, now=100.7) == (100.7, "1000ms")


def test_after_promotion_the_version_share_is_not_flagged():
    tl = rollout([50, 100], qps=400)
    tl.meta["canary_version"] = "1.7.1"
    rows = step_rows(tl)
    assert [(r.weight, r.promoted) for r in rows] == [(0, False), (50, False), (100, False),
                                                      (0, True)]
    html = write_report_of(tl)
    assert "(promoted: the primary runs that version too)" in html
