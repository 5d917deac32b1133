"""Fixtures: a fresh sandbox API server per module, and one per test for restart tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.apiserver import ApiServer


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = ApiServer(tmp_path_factory.mktemp("apiserver"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fresh_apiserver(tmp_path: Path) -> Iterator[ApiServer]:
    server = ApiServer(tmp_path, history=50)
    server.start()
    yield server
    server.stop()
