"""The Browser view's parts: headless Chromium opens podinfo's page (a real podinfo process)
and the page colour read from the screenshot tells 1.7.0 from 1.7.1, as a user sees it."""

from __future__ import annotations

import pytest

from canary.harness.png import pixel
from canary.harness.screenshot import find_chromium, screenshot_url
from canary.sandbox.apps.procs import AppProcess, loopback_ip

PORT = 9898


@pytest.mark.skipif(find_chromium() is None,
                    reason="headless Chromium not installed (apt-get install -y chromium)")
def test_podinfo_versions_look_different_in_the_browser(tmp_path):
    colours = {}
    for tag in ("1.7.0", "1.7.1"):
        with AppProcess("podinfo", ["--port", str(PORT)], pod_ip=loopback_ip(),
                        env={"CANARY_IMAGE_TAG": tag}, pod_name=f"podinfo-{tag}"
                        ).wait_port(PORT) as app:
            png = screenshot_url(f"http://{app.pod_ip}:{PORT}/", tmp_path / f"{tag}.png",
                                 480, 200)
            colours[tag] = pixel(png, 4, 4)
    # podinfo 1.7.0 paints its page blue, 1.7.1 green
    assert colours == {"1.7.0": "#2196f3", "1.7.1": "#4caf50"}, colours


@pytest.mark.skipif(find_chromium() is None,
                    reason="headless Chromium not installed (apt-get install -y chromium)")
def test_the_colour_check_reads_the_screenshots_pixels(tmp_path):
    import base64

    from canary.harness.browser import colours_problem

    shots = []
    for label, tag in (("start", "1.7.0"), ("again", "1.7.0"), ("end", "1.7.1")):
        with AppProcess("podinfo", ["--port", str(PORT)], pod_ip=loopback_ip(),
                        env={"CANARY_IMAGE_TAG": tag}, pod_name=f"podinfo-{label}"
                        ).wait_port(PORT) as app:
            png = screenshot_url(f"http://{app.pod_ip}:{PORT}/", tmp_path / f"{label}.png",
                                 480, 200)
        shots.append({"label": label, "version": tag, "colour": "#000000",
                      "png": base64.b64encode(png.read_bytes()).decode()})
    assert colours_problem(shots, "start", "end") is None
    # same page twice: fails whatever the recorded labels say
    shots[1]["version"], shots[1]["colour"] = "1.7.1", "#4caf50"
    problem = colours_problem(shots, "start", "again")
    assert problem and "#2196f3" in problem and "looked the same" in problem
    assert "no browser capture named middle" in (colours_problem(shots, "start", "middle") or "")
