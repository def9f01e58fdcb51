"""Fixtures of the fault tests: database instances the tests own and may
kill, and a `bia serve` in front of each (migrated, on free loopback ports).

Test modules import the fixtures from here. There is no conftest.py, so that
this directory runs in one pytest session with the other suites, whose test
modules import their own conftest by name. The SDK suite's helpers (free
ports, readiness, stopping) are shared from `tests/sdk/support.py`.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdk"))

from support import SCHEMAS, bia_bin, free_port, stop_server, wait_ready  # noqa: E402

from faults_databases import MariaDB, Postgres, mariadb_tools, postgres_bin  # noqa: E402
from faults_load import MEASURED  # noqa: E402

READY_TIMEOUT = 30.0


@dataclass
class Server:
    """A running `bia serve`."""

    proc: subprocess.Popen
    public: str
    admin: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log()[-chars:]

    def assert_alive(self) -> None:
        assert self.proc.poll() is None, f"bia serve exited with {self.proc.returncode}:\n{self.log_tail()}"
        assert "panicked" not in self.log(), f"bia serve panicked:\n{self.log_tail()}"


def start_server(dsn: str, workdir: Path) -> Server:
    """Migrates the database behind `dsn` and serves it on free loopback ports."""
    binary = bia_bin()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"the bia binary is missing: {binary} (set BIA_BIN)", pytrace=False)
    migrate = subprocess.run(
        [binary, "migrate", "sql", "-e", "--yes"], env={**os.environ, "DSN": dsn},
        capture_output=True, text=True, timeout=120,
    )
    if migrate.returncode != 0:
        pytest.fail(f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}", pytrace=False)
    public_port, admin_port = free_port(), free_port()
    public, admin = f"http://127.0.0.1:{public_port}/", f"http://127.0.0.1:{admin_port}/"
    config = {
        "dsn": dsn,
        "serve": {
            "public": {"port": public_port, "base_url": public},
            "admin": {"port": admin_port, "base_url": admin},
        },
        "secrets": {"cookie": ["fault-suite-cookie-secret-0123456789"]},
        "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
        "identity": {"default_schema_id": "default",
                     "schemas": [{"id": "default", "url": SCHEMAS["default"].as_uri()}]},
        # Every login of the load comes from one address: no throttling here.
        "throttle": {"enabled": False},
        # No breached-password lookups over the network.
        "selfservice": {"methods": {"password": {"config": {"haveibeenpwned_enabled": False}}}},
        "log": {"format": "json"},
    }
    config_path = workdir / "config.yml"
    config_path.write_text(json.dumps(config, indent=2))
    log_path = workdir / "bia.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([binary, "serve", "-c", str(config_path)], stdout=log,
                                stderr=subprocess.STDOUT, cwd=workdir)
    server = Server(proc, public, admin, log_path)
    try:
        wait_ready(admin, proc, READY_TIMEOUT)
    except RuntimeError as err:
        stop_server(proc)
        pytest.fail(f"{err}\n--- server log ---\n{server.log_tail()}", pytrace=False)
    return server


def _postgres(workdir: Path) -> Postgres:
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL's server binaries (initdb, postgres) are not installed")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, and there is no `postgres` user to run PostgreSQL as")
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


@pytest.fixture(scope="module")
def report(request):
    """Prints what a module measured (`MEASURED`) when it ends."""
    yield
    plugins = request.config.pluginmanager
    terminal, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if terminal is not None and capture is not None and MEASURED:
        # Output is captured while tests run; this is meant to be seen.
        with capture.global_and_fixture_disabled():
            terminal.write_line("")
            for line in MEASURED:
                terminal.write_line(f"fault recovery: {line}")
        MEASURED.clear()
