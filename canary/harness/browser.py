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
    return shot


def check_colours_differ(ctx: ScenarioContext, first: str, second: str) -> None:
    shots = {s["label"]: s for s in ctx.timeline().meta.get("browser", [])}
    missing = [x for x in (first, second) if x not in shots]
    if missing:
        raise RolloutAssertion(f"no browser capture named {', '.join(missing)} "
                               f"(captured: {', '.join(shots) or 'none'})")
    a, b = shots[first], shots[second]
    if a["colour"] == b["colour"] or a["version"] == b["version"]:
        raise RolloutAssertion(
            f"the frontend looked the same at {first!r} and {second!r}: version "
            f"{a['version']} in {a['colour']}, then version {b['version']} in {b['colour']}")
