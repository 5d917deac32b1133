"""The HTML rollout report rendered from recorded timeline JSON files."""

import re

from canary.harness.report import ScenarioRecord, chart_svg, write_conformance, write_report
from canary.harness.samples import rollout, sample_records
from canary.harness.timeline import Timeline


def test_report_from_timeline_json_is_self_contained(tmp_path):
    tl = rollout([5, 25, 50], qps=40)
    tl.meta["canary_version"] = "1.7.1"
    path = tl.dump(tmp_path / "timelines" / "stepweights.json")
    rec = ScenarioRecord(nodeid="features/x.feature::test_steps", feature="Weights",
                         name="stepWeights [5, 25, 50]", outcome="passed", duration=3.2,
                         timeline_file=str(path))
    html = write_report(tmp_path, [rec]).read_text()
    # offline: no scripts, no external resources
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert html.count("<svg") == 1
    # the chart: weight steps, phase bands, success rate, client failures, legend
    assert 'class="weight"' in html
    assert 'class="phase"' in html and "Progressing" in html and "Succeeded" in html
    assert 'class="success_rate"' in html
    assert 'class="client_failures"' in html
    assert "canary weight 25%" in html
    # events table and verdict
    assert "Advance podinfo.test canary weight 50" in html
    assert "verdict passed" in html


def test_failed_scenario_shows_message_and_diagnostics(tmp_path):
    tl = rollout([10, 20], failed_after=1, threshold=3, fail_share=0.5)
    path = tl.dump(tmp_path / "t.json")
    rec = ScenarioRecord(nodeid="n", feature="Rollback", name="500s", outcome="failed",
                         message="expected: [10, 20, 30]\nobserved: [10, 30]",
                         timeline_file=str(path),
                         diagnostics={"engine log": "tick <failed>", "events in test": "x"})
    html = write_report(tmp_path, [rec]).read_text()
    assert "verdict failed" in html
    assert "expected: [10, 20, 30]" in html
    assert "<summary>engine log</summary>" in html and "tick &lt;failed&gt;" in html
    assert "Rolling back podinfo.test failed checks threshold reached 3" in html
    assert "class='events'" in html and "tr class='Warning'" in html


def test_skipped_and_missing_timeline(tmp_path):
    recs = [ScenarioRecord(nodeid="a", feature="F", name="skipped one", outcome="skipped",
                           message="sandbox environment could not start: no prometheus"),
            ScenarioRecord(nodeid="b", feature="F", name="broken", outcome="error",
                           timeline_file=str(tmp_path / "missing.json"))]
    html = write_report(tmp_path, recs).read_text()
    assert "sandbox environment could not start" in html
    assert "no rollout timeline was recorded" in html
    conf = write_conformance(tmp_path, recs, {"environment": "sandbox"}).read_text()
    assert '"skipped": 1' in conf and '"failed": 1' in conf


def test_empty_timeline_chart_says_so():
    assert "no timeline recorded" in chart_svg(Timeline())


def test_sample_report_has_three_charts(tmp_path):
    html = write_report(tmp_path, sample_records(tmp_path / "timelines")).read_text()
    assert html.count("<svg") == 3
