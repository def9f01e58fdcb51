"""Fixtures: one Bia server per database backend, driven through the official SDK.

Every test runs once per backend (SQLite, PostgreSQL, MariaDB). Each backend
gets a fresh database that is created here, migrated with `bia migrate sql`,
served by `bia serve` and dropped when the session ends.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

import ory_kratos_client
from ory_kratos_client.api.identity_api import IdentityApi
from ory_kratos_client.api.metadata_api import MetadataApi

from selfservice import Browser
from support import (
    free_port,
    stop_server,
    wait_ready,
    ALLOWED_RETURN_URL,
    DEFAULT_RETURN_URL,
    EARLIEST_POSSIBLE_EXTEND,
    PRIVILEGED_SESSION_MAX_AGE,
    SCHEMAS,
    bia_bin,
)

BACKENDS = ["sqlite", "postgres", "mysql"]
READY_TIMEOUT = 60.0


def run(cmd: list[str], env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {shlex.join(cmd)}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


# --------------------------------------------------------------------------- databases


@dataclass
class Database:
    backend: str
    dsn: str
    drop: Callable[[], None] = field(repr=False)


def _server_url(variable: str, default: str) -> urllib.parse.SplitResult:
    return urllib.parse.urlsplit(os.environ.get(variable) or default)


def _db_name() -> str:
    return "bia_sdk_" + uuid.uuid4().hex[:12]


def create_sqlite(tmp: Path) -> Database:
    path = tmp / "bia.db"
    return Database("sqlite", f"sqlite://{path}", lambda: None)


def create_postgres() -> Database:
    url = _server_url("BIA_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    host, port = url.hostname or "127.0.0.1", str(url.port or 5432)
    user = urllib.parse.unquote(url.username or "postgres")
    env = {"PGPASSWORD": urllib.parse.unquote(url.password)} if url.password else {}
    name = _db_name()

    def psql(sql: str) -> None:
        run(["psql", "-h", host, "-p", port, "-U", user, "-d", "postgres", "-v", "ON_ERROR_STOP=1",
             "-c", sql], env=env)

    psql(f"CREATE DATABASE {name}")
    base = f"{url.scheme}://{url.netloc}"
    return Database(
        "postgres",
        f"{base}/{name}?sslmode=disable",
        lambda: psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )


def create_mysql() -> Database:
    url = _server_url("BIA_TEST_MYSQL", "mysql://root@127.0.0.1:3306")
    host, port = url.hostname or "127.0.0.1", str(url.port or 3306)
    user = urllib.parse.unquote(url.username or "root")
    env = {"MYSQL_PWD": urllib.parse.unquote(url.password)} if url.password else {}
    name = _db_name()

    def mariadb(sql: str) -> None:
        run(["mariadb", "-h", host, "-P", port, "-u", user, "-e", sql], env=env)

    mariadb(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    base = f"{url.scheme}://{url.netloc}"
    return Database("mysql", f"{base}/{name}", lambda: mariadb(f"DROP DATABASE IF EXISTS {name}"))


# --------------------------------------------------------------------------- server


@dataclass
class Server:
    backend: str
    dsn: str
    admin_url: str
    public_url: str
    workdir: Path
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session", params=BACKENDS)
def server(request, tmp_path_factory):
    """A running `bia serve` on a fresh database of the parametrized backend."""
    binary = bia_bin()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"the bia binary is missing: {binary} (set BIA_BIN)", pytrace=False)

    backend = request.param
    workdir = tmp_path_factory.mktemp(f"bia-{backend}")
    if backend == "sqlite":
        db = create_sqlite(workdir)
    elif backend == "postgres":
        db = create_postgres()
    else:
        db = create_mysql()

    proc = None
    try:
        # Kratos's `migrate sql -e --yes`: the DSN comes from the DSN variable.
        run([binary, "migrate", "sql", "-e", "--yes"], env={"DSN": db.dsn})

        public_port, admin_port = free_port(), free_port()
        public_url = f"http://127.0.0.1:{public_port}/"
        admin_url = f"http://127.0.0.1:{admin_port}/"
        config = {
            "dsn": db.dsn,
            "serve": {
                "public": {"port": public_port, "base_url": public_url},
                "admin": {"port": admin_port, "base_url": admin_url},
            },
            "secrets": {"cookie": ["sdk-suite-cookie-secret-0123456789"]},
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
            "identity": {
                "default_schema_id": "default",
                "schemas": [
                    # `operator` may be chosen by self-service flows (`identity_schema`).
                    {"id": sid, "url": path.as_uri(), "selfservice_selectable": sid == "operator"}
                    for sid, path in SCHEMAS.items()
                ],
            },
            "session": {"earliest_possible_extend": EARLIEST_POSSIBLE_EXTEND},
            "selfservice": {
                "default_browser_return_url": DEFAULT_RETURN_URL,
                "allowed_return_urls": [ALLOWED_RETURN_URL],
                "flows": {
                    "settings": {"privileged_session_max_age": f"{PRIVILEGED_SESSION_MAX_AGE}s"}
                },
            },
        }
        config_path = workdir / "config.yml"
        # JSON is a subset of YAML: the file is valid YAML as written.
        config_path.write_text(json.dumps(config, indent=2))

        log_path = workdir / "bia.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [binary, "serve", "-c", str(config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        srv = Server(backend, db.dsn, admin_url, public_url, workdir, log_path)
        try:
            wait_ready(admin_url, proc, READY_TIMEOUT)
        except RuntimeError as err:
            pytest.fail(f"{err}\n--- server log ---\n{srv.log_tail()}", pytrace=False)
        yield srv
    finally:
        if proc is not None:
            stop_server(proc)
        db.drop()


@pytest.fixture(scope="session")
def api_client(server):
    configuration = ory_kratos_client.Configuration(host=server.admin_url.rstrip("/"))
    with ory_kratos_client.ApiClient(configuration) as client:
        yield client


@pytest.fixture(scope="session")
def identity_api(api_client) -> IdentityApi:
    return IdentityApi(api_client)


@pytest.fixture(scope="session")
def metadata_api(api_client) -> MetadataApi:
    return MetadataApi(api_client)


@pytest.fixture(scope="session")
def public_metadata_api(server):
    configuration = ory_kratos_client.Configuration(host=server.public_url.rstrip("/"))
    with ory_kratos_client.ApiClient(configuration) as client:
        yield MetadataApi(client)


@pytest.fixture(scope="session")
def public_identity_api(server):
    """The SDK pointed at the public listener (only shared routes answer there)."""
    configuration = ory_kratos_client.Configuration(host=server.public_url.rstrip("/"))
    with ory_kratos_client.ApiClient(configuration) as client:
        yield IdentityApi(client)


@pytest.fixture(scope="session")
def frontend(server):
    """The SDK's FrontendApi on the public listener (self-service flows, sessions)."""
    from ory_kratos_client.api.frontend_api import FrontendApi

    configuration = ory_kratos_client.Configuration(host=server.public_url.rstrip("/"))
    with ory_kratos_client.ApiClient(configuration) as client:
        yield FrontendApi(client)


@pytest.fixture
def new_browser(server):
    """Makes browsers: each keeps its own cookie jar, like a separate browser profile."""
    made: list[Browser] = []

    def make() -> Browser:
        browser = Browser(server.public_url)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        browser.close()


@pytest.fixture
def browser(new_browser) -> Browser:
    """A fresh browser with an empty cookie jar."""
    return new_browser()
