"""Fixtures of the courier suite: an SMTP sink per test on a free loopback port."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from courier_support import Sink, SinkServer, bia_bin, free_port  # noqa: E402


@pytest.fixture(autouse=True)
def _binary():
    if not os.access(bia_bin(), os.X_OK):
        pytest.fail(f"the bia binary is missing: {bia_bin()} (set BIA_BIN)", pytrace=False)


@pytest.fixture
def sink_server():
    server = SinkServer(Sink(), free_port()).start()
    yield server
    server.stop()
