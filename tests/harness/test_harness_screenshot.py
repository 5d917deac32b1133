"""reports/rollouts.html opened in headless Chromium shows the charts (acceptance 4)."""


import pytest

from canary.harness.png import pixels
from canary.harness.report import write_report
from canary.harness.samples import sample_records
from canary.harness.screenshot import find_chromium, screenshot


@pytest.mark.skipif(find_chromium() is None,
                    reason="headless Chromium not installed (apt-get install -y chromium)")
def test_report_renders_charts_in_headless_chromium(tmp_path):
    html = write_report(tmp_path, sample_records(tmp_path / "timelines"))
    png = screenshot(html, tmp_path / "rollouts.png", width=1100, height=900)
    rows, bpp = pixels(png)
    # The canary weight line is drawn in #1f5fbf: the chart is really on screen.
    blue = sum(1 for row in rows for i in range(0, len(row), bpp)
               if abs(row[i] - 0x1F) < 30 and abs(row[i + 1] - 0x5F) < 30
               and abs(row[i + 2] - 0xBF) < 30)
    assert blue > 200, f"only {blue} weight-line pixels in the screenshot"
