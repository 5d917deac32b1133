"""Issue 14, acceptance 4: ``pytest -n 2`` runs scenarios at once on one sandbox, each in a
namespace of its own, and the reports still hold every scenario."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

FEATURE = Path(__file__).resolve().parents[1] / "support" / "features" / "parallel"


def test_two_workers_share_one_sandbox_in_their_own_namespaces(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(FEATURE, specs)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-n", "2", "--canary"], cwd=specs, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "2 passed" in proc.stdout
    reports = specs / "reports"
    cases = ET.parse(reports / "junit.xml").getroot().iter("testcase")
    assert sorted(c.get("name") for c in cases) == [
        "Scenario a sees the other's namespace beside its own",
        "Scenario b sees the other's namespace beside its own"]
    timelines = [json.loads(p.read_text()) for p in (reports / "timelines").glob("*.json")]
    spaces = [t["meta"]["namespaces"]["test"] for t in timelines]
    assert len(spaces) == 2 and len(set(spaces)) == 2, spaces
    assert all(s.startswith("test-") for s in spaces)
    html = (reports / "rollouts.html").read_text()
    assert "Scenario a sees" in html and "Scenario b sees" in html
