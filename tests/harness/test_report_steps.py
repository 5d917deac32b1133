"""The report's per-scenario Gherkin steps come from pytest-bdd's hooks: each step with its
outcome, the failing step's message, and the steps a failure left unrun."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FEATURE = """Feature: Arithmetic
  Scenario: adds up
    Given the number 2
    Then adding 3 gives 5

  Scenario: a wrong sum
    Given the number 2
    Then adding 3 gives 6
    And adding 1 gives 3
"""

STEPS = """from pytest_bdd import given, parsers, scenarios, then

scenarios("features")


@given(parsers.parse("the number {n:d}"), target_fixture="number")
def number(n):
    return n


@then(parsers.parse("adding {m:d} gives {total:d}"))
def adds(number, m, total):
    assert number + m == total, f"{number} + {m} is {number + m}, not {total}"
"""


def test_steps_with_outcomes_reach_the_report(tmp_path: Path):
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "arith.feature").write_text(FEATURE)
    (tmp_path / "test_arith.py").write_text(STEPS)
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--canary",
                        "--no-engine", "--report-dir", str(tmp_path / "reports")],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "1 failed, 1 passed" in p.stdout, p.stdout + p.stderr
    recs = {r["name"]: r for r in
            json.loads((tmp_path / "reports" / "scenarios.json").read_text())}
    ok = recs["adds up"]["steps"]
    assert [(s["keyword"], s["text"], s["outcome"]) for s in ok] == [
        ("Given", "the number 2", "passed"), ("Then", "adding 3 gives 5", "passed")]
    bad = recs["a wrong sum"]["steps"]
    assert [s["outcome"] for s in bad] == ["passed", "failed", "skipped"]
    assert "2 + 3 is 5, not 6" in bad[1]["message"]
    html = (tmp_path / "reports" / "rollouts.html").read_text()
    # the verdict of the run comes before the first scenario's section
    assert html.index("1 of 2 scenarios failed") < html.index("<section")
    assert "step-failed" in html and "2 + 3 is 5, not 6" in html and "step-skipped" in html
