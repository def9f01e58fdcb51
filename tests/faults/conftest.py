"""Fixtures of the fault tests: database instances the tests own and may kill,
and a `bia serve` in front of each.

The SDK suite's helpers (free ports, readiness, stopping) are shared from
`tests/sdk/support.py`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdk"))

from support import stop_server  # noqa: E402

from databases import MariaDB, Postgres, mariadb_tools, postgres_bin  # noqa: E402
from bia_server import start_server  # noqa: E402
from load import MEASURED  # noqa: E402


def _postgres(workdir: Path) -> Postgres:
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL's server binaries (initdb, postgres) are not installed")
    return Postgres(workdir, bindir)


def _mariadb(workdir: Path) -> MariaDB:
    tools = mariadb_tools()
    if tools is None:
        pytest.skip("MariaDB's server binaries (mariadbd, mariadb-install-db, mariadb) are not installed")
    return MariaDB(workdir, *tools)


@pytest.fixture(scope="module", params=["postgres", "mysql"])
def database(request):
    """A database instance of the test's own, started; removed afterwards."""
    # Not under pytest's temp root: PostgreSQL runs as another user, who must reach it.
    workdir = Path(tempfile.mkdtemp(prefix=f"bia-faults-{request.param}-"))
    instance = None
    try:
        instance = _postgres(workdir) if request.param == "postgres" else _mariadb(workdir)
        instance.start()
        yield instance
    finally:
        if instance is not None:
            instance.kill()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def server(database, tmp_path_factory):
    """`bia serve` on the module's database instance."""
    srv = start_server(database.dsn, tmp_path_factory.mktemp("bia"))
    yield srv
    stop_server(srv.proc)


def pytest_terminal_summary(terminalreporter):
    if MEASURED:
        terminalreporter.section("fault recovery")
        for line in MEASURED:
            terminalreporter.write_line(line)
