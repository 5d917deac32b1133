"""``python -m canary.cli.linkerd_shim viz stat ...``: what the harness's ``linkerd`` shim runs
(``linkerd viz stat`` on clusters without the real Linkerd CLI)."""

from __future__ import annotations

import sys

from canary.cli.stat import linkerd_main

if __name__ == "__main__":
    sys.exit(linkerd_main())
