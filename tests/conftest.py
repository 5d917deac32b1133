"""The tests' own wiring: ``tests/`` on ``sys.path`` so the topic folders share
:mod:`support` (the tests' helpers), whatever folder pytest imports a test file from."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
