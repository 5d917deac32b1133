"""The seed's Browser section: the frontend page opened in headless Chromium, as a user
refreshing it sees it. Each capture keeps the screenshot (inline PNG, for the report), the
page's background colour (podinfo 1.7.0 paints blue, 1.7.1 green) and the version the frontend
answered at that moment."""

from __future__ import annotations

import base64
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from canary.harness.assertions import RolloutAssertion
from canary.harness.context import ScenarioContext
from canary.harness.png import pixel
from canary.harness.screenshot import screenshot_url

WIDTH, HEIGHT = 480, 200
PAGE_LOAD_SPEC_S = 1.0  # one page load per spec second
PAGE_LOAD_MIN_WALL_S = 0.05


def capture_frontend(ctx: ScenarioContext, ns: str, label: str) -> dict[str, Any]:
    url = ctx.env.resolve_url(f"http://frontend.{ns}:8080/", ns)
    try:
        version = str(requests.get(url, timeout=5, headers={"Accept": "application/json"})
                      .json().get("version"))
    except (requests.RequestException, ValueError) as e:
        raise RolloutAssertion(f"the frontend in namespace {ns} did not answer {url}: {e}") \
            from None
    with tempfile.TemporaryDirectory(prefix="canary-browser-") as d:
        try:
            png = screenshot_url(url, Path(d) / "page.png", WIDTH, HEIGHT, timeout=60)
        except FileNotFoundError as e:
            raise RolloutAssertion(f"the Browser view needs headless Chromium: {e}") from None
        except RuntimeError as e:
            raise RolloutAssertion(f"headless Chromium could not open {url}: {e}") from None
        shot = {"label": label, "t": time.time(), "version": version,
                "colour": pixel(png, 4, 4),  # the page background (the canvas takes body's)
                "png": base64.b64encode(png.read_bytes()).decode()}
    assert ctx.buffer is not None
    ctx.buffer.timeline.meta.setdefault("browser", []).append(shot)
    # from the first capture on, the page is reloaded as the seed's user keeps refreshing it:
    # the report's step table shows which version each step's page loads showed
    if ctx.recorder is None:
        ctx.record(ns)
    assert ctx.recorder is not None
    ctx.recorder.poll_page(ns, "frontend", url, max(PAGE_LOAD_MIN_WALL_S,
                                                    PAGE_LOAD_SPEC_S * ctx.time_scale))
    return shot


def header_colour(shot: dict[str, Any]) -> str:
    """The page colour read back from the screenshot the report holds (not the label)."""
    return pixel(base64.b64decode(shot["png"]), 4, 4)


def colours_problem(shots: list[dict[str, Any]], first: str, second: str) -> str | None:
    """Why the captures ``first`` and ``second`` do not show two versions in two colours."""
    by_label = {s["label"]: s for s in shots}
    missing = [x for x in (first, second) if x not in by_label]
    if missing:
        return (f"no browser capture named {', '.join(missing)} "
                f"(captured: {', '.join(by_label) or 'none'})")
    a, b = by_label[first], by_label[second]
    ca, cb = header_colour(a), header_colour(b)
    if ca == cb or a["version"] == b["version"]:
        return (f"the frontend looked the same at {first!r} and {second!r}: version "
                f"{a['version']} in {ca}, then version {b['version']} in {cb}")
    return None


def check_colours_differ(ctx: ScenarioContext, first: str, second: str) -> None:
    problem = colours_problem(ctx.timeline().meta.get("browser", []), first, second)
    if problem:
        raise RolloutAssertion(problem)
