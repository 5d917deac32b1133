"""Acceptance: an engine broken on purpose (it skips weight 30) fails the weight-sequence
scenario, and the message shows the expected and the observed sequences."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_skipped_weight_step_fails_the_promotion_scenario(tmp_path):
    cmd = [sys.executable, "-m", "pytest", str(REPO / "features" / "flagger_canary.feature"),
           "-k", "promoted_through_every_weight_step", "-p", "no:cacheprovider", "-rs",
           "--engine-wrapper", str(REPO / "tests" / "support" / "broken_engine.py"),
           "--report-dir", str(tmp_path / "reports")]
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=400)
    out = p.stdout + p.stderr
    if "environment could not start" in out:
        pytest.skip("the sandbox cannot start here: " + out.splitlines()[-3][:300])
    assert p.returncode == 1, out[-3000:]
    assert "canary weight sequence differs from the one its spec implies" in out, out[-3000:]
    assert "expected: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]" in out
    assert "observed: [10, 20, 40, 50, 60, 70, 80, 90, 100]" in out
    assert "missing [30]" in out
    html = (tmp_path / "reports" / "rollouts.html").read_text()
    assert "missing [30]" in html and "verdict failed" in html
