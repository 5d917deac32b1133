"""Wires this repository's own tests and features.

The canary plugin reaches pytest through the installed package's ``pytest11`` entry point
(``./dev setup`` installs it editable); it is deliberately not named in ``pytest_plugins`` here,
which would register it a second time. What this file adds is a clear stop when the package is
not installed, instead of every feature failing with "fixture 'canary_scenario' not found".
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("canary"):
        raise pytest.UsageError("the canary pytest plugin is not installed in this Python: run "
                                "`./dev setup` (or `pip install -e '.[test]'`) first")
