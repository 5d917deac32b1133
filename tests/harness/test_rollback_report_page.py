"""Acceptance 2 of issue 15 on a real run: the rollback feature's "/status/500" scenario runs on
the sandbox (a pytest of its own, as a user runs it), and the report it writes, opened in
headless Chromium, shows the verdict at the top, one failed-request line per load source and the
per-step table with Linkerd's figures per backend. Heavy: run it under the heavy lock."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from canary.harness.png import pixels
from canary.harness.report import SOURCE_COLORS, STEPS_HEADER_BG
from canary.harness.screenshot import find_chromium, screenshot

ROOT = Path(__file__).resolve().parents[2]
PASSED_BG = "#2e8b57"  # .verdict.passed
WIDTH, HEIGHT = 1100, 2600


def _near(px: bytes, i: int, colour: str, tol: int) -> bool:
    return all(abs(px[i + k] - int(colour[1 + 2 * k:3 + 2 * k], 16)) < tol for k in range(3))


def _rows_with(rows: list[bytes], bpp: int, colour: str, tol: int = 20,
               at_least: int = 1) -> list[int]:
    """The screenshot rows (y) holding at least ``at_least`` pixels of ``colour``."""
    out = []
    for y, row in enumerate(rows):
        n = sum(1 for i in range(0, len(row), bpp) if _near(row, i, colour, tol))
        if n >= at_least:
            out.append(y)
    return out


@pytest.mark.skipif(find_chromium() is None,
                    reason="headless Chromium not installed (apt-get install -y chromium)")
@pytest.mark.timeout(900)
def test_the_rollback_features_report_shows_verdict_sources_and_steps(tmp_path):
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-env",
         f"--report-dir={reports}", "features/rollback.feature", "-k", "status500"],
        cwd=ROOT, capture_output=True, text=True, timeout=840)
    assert "1 passed" in proc.stdout, proc.stdout[-4000:] + proc.stderr[-2000:]
    page = reports / "rollouts.html"
    html = page.read_text()
    # the verdict of the run comes before the first scenario
    assert html.index("all 1 scenarios passed") < html.index("<section")
    section = html[html.index("<section"):]
    chart = section[section.index("<svg"):section.index("</svg>")]
    lines = re.findall(r'class="client_failures" data-source="([^"]+)"', chart)
    assert sorted(lines) == ["fault-load", "load"], lines
    table = section[section.index("class='steps-table'"):]
    table = table[:table.index("</table>")]
    # Linkerd's latency per backend over a step, and the share of the users' requests the
    # canary answered with its sampling error
    assert re.search(r"<td>\d+ ms / \d+ ms</td>", table), table[:3000]
    assert re.search(r"<span class='[a-z]*'>\d+\.\d% ± \d+\.\d%</span>", table), table[:3000]

    png = screenshot(page, tmp_path / "rollback.png", width=WIDTH, height=HEIGHT)
    rows, bpp = pixels(png)
    verdict = _rows_with(rows, bpp, PASSED_BG, at_least=20)
    assert verdict and verdict[0] < 200, "no PASSED verdict at the top of the page"
    for src in ("load", "fault-load"):
        # each source's line in its own colour: far more pixels than its 12x8 legend swatch
        colour = SOURCE_COLORS[lines.index(src)]
        n = sum(1 for row in rows for i in range(0, len(row), bpp) if _near(row, i, colour, 40))
        assert n > 400, f"the {src} failed-request line ({colour}) is not on screen ({n} px)"
    steps = _rows_with(rows, bpp, STEPS_HEADER_BG, tol=6, at_least=200)
    assert steps, "the per-step table's header is not on screen"
