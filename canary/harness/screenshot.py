"""Open a report in headless Chromium and save a screenshot (checks the charts render offline).

``python -m canary.harness.screenshot reports/rollouts.html reports/rollouts.png``
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "headless_shell")


def find_chromium() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html: Path, png: Path, width: int = 1100, height: int = 1600,
               timeout: float = 60) -> Path:
    # offline: any attempt to fetch from the network fails instead of hanging
    return screenshot_url(html.resolve().as_uri(), png, width, height, timeout,
                          ["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"])


def screenshot_url(url: str, png: Path, width: int = 1100, height: int = 1600,
                   timeout: float = 60, extra: list[str] | None = None) -> Path:
    """A page as headless Chromium shows it (a sandbox URL: direct, no proxy)."""
    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium on PATH (apt-get install -y chromium)")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="canary-chromium-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
               *(extra if extra is not None else ["--no-proxy-server"]),
               f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--screenshot={png.resolve()}", url]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0 or not png.is_file():
        raise RuntimeError(f"chromium failed (exit {p.returncode}): {p.stderr[-2000:]}")
    return png


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m canary.harness.screenshot REPORT.html OUT.png", file=sys.stderr)
        return 2
    try:
        print(screenshot(Path(args[0]), Path(args[1])))
    except (FileNotFoundError, RuntimeError) as e:
        print(f"screenshot: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
