"""`bia serve` for the fault tests: migrate a database, serve it on free
loopback ports, and tell whether the process is still alive and unpanicked."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import SCHEMAS, bia_bin, free_port, stop_server, wait_ready

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
