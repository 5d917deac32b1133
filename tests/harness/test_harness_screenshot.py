"""reports/rollouts.html opened in headless Chromium shows the charts (acceptance 4)."""

import struct
import zlib

import pytest

from canary.harness.report import write_report
from canary.harness.samples import sample_records
from canary.harness.screenshot import find_chromium, screenshot


def _png_pixels(path):
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into rows of bytes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            bpp = {2: 3, 6: 4}[ctype]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return rows, bpp


@pytest.mark.skipif(find_chromium() is None,
                    reason="headless Chromium not installed (apt-get install -y chromium)")
def test_report_renders_charts_in_headless_chromium(tmp_path):
    html = write_report(tmp_path, sample_records(tmp_path / "timelines"))
    png = screenshot(html, tmp_path / "rollouts.png", width=1100, height=900)
    rows, bpp = _png_pixels(png)
    # The canary weight line is drawn in #1f5fbf: the chart is really on screen.
    blue = sum(1 for row in rows for i in range(0, len(row), bpp)
               if abs(row[i] - 0x1F) < 30 and abs(row[i + 1] - 0x5F) < 30
               and abs(row[i + 2] - 0xBF) < 30)
    assert blue > 200, f"only {blue} weight-line pixels in the screenshot"
