"""What the courier suite shares: an SMTP sink (aiosmtpd) on a free loopback
port, fresh databases, rows queued straight into `courier_messages`, and the
`bia` processes under test."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from aiosmtpd.controller import Controller

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parent / "sdk" / "identity.schema.json"


def bia_bin() -> str:
    return os.environ.get("BIA_BIN", "/var/tmp/bia-target/debug/bia")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


# --------------------------------------------------------------------------- SMTP sink


class Sink:
    """Collects every email it accepts; answers `reject` (e.g. "550 ...") to
    DATA instead when set."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reject: str | None = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.reject:
            return self.reject
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]


@dataclass
class SinkServer:
    sink: Sink
    port: int
    controller: Controller | None = None

    def start(self) -> "SinkServer":
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --------------------------------------------------------------------------- databases


@dataclass
class Database:
    backend: str
    dsn: str
    execute: Callable[[str], str] = field(repr=False)
    drop: Callable[[], None] = field(repr=False)


def _db_name() -> str:
    return "bia_courier_" + uuid.uuid4().hex[:12]


def create_database(backend: str, tmp: Path) -> Database:
    """A fresh, empty database of `backend` (`sqlite`, `postgres`, `mysql`)."""
    if backend == "sqlite":
        import sqlite3

        path = tmp / "bia.db"

        def execute(sql: str) -> str:
            conn = sqlite3.connect(path, timeout=30)
            try:
                if sql.lstrip().upper().startswith("SELECT"):
                    rows = conn.execute(sql).fetchall()
                    return "\n".join("\t".join(str(c) for c in row) for row in rows)
                conn.executescript(sql)
                conn.commit()
                return ""
            finally:
                conn.close()

        return Database("sqlite", f"sqlite://{path}", execute, lambda: None)
    name = _db_name()
    if backend == "postgres":
        url = urllib.parse.urlsplit(os.environ.get("BIA_TEST_POSTGRES") or "postgres://postgres@127.0.0.1:5432")
        base = ["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
                "-U", urllib.parse.unquote(url.username or "postgres"), "-v", "ON_ERROR_STOP=1", "-qAt"]
        admin = lambda sql: run(base + ["-d", "postgres", "-c", sql]).stdout  # noqa: E731
        admin(f"CREATE DATABASE {name}")
        return Database(
            "postgres",
            f"{url.scheme}://{url.netloc}/{name}?sslmode=disable",
            lambda sql: _pipe(base + ["-d", name], sql),
            lambda: admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
    url = urllib.parse.urlsplit(os.environ.get("BIA_TEST_MYSQL") or "mysql://root@127.0.0.1:3306")
    base = ["mariadb", "-h", url.hostname or "127.0.0.1", "-P", str(url.port or 3306),
            "-u", urllib.parse.unquote(url.username or "root"), "-N", "-B"]
    run(base + ["-e", f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"])
    return Database(
        "mysql",
        f"{url.scheme}://{url.netloc}/{name}",
        lambda sql: _pipe(base + [name], sql),
        lambda: run(base + ["-e", f"DROP DATABASE IF EXISTS {name}"]),
    )


def _pipe(cmd: list[str], sql: str) -> str:
    proc = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed: {proc.stderr}")
    return proc.stdout


def migrate(db: Database) -> None:
    run([bia_bin(), "migrate", "sql", "-e", "--yes"], env={"DSN": db.dsn})


def stored_time(at: datetime | None = None) -> str:
    at = at or datetime.now(timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def queue_sql(count: int, recipient: Callable[[int], str] = lambda n: f"user{n}@example.org",
              html: bool = True, chunk: int = 200) -> tuple[list[str], str]:
    """Ids and the SQL that queues `count` email messages, as the outbox stores them."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    now = stored_time()
    columns = ("id, type, channel, status, recipient, subject, body, html_body, template_type, "
               "template_data, send_count, lease_until, lease_owner, created_at, updated_at")
    statements = []
    for start in range(0, count, chunk):
        rows = []
        for n in range(start, min(start + chunk, count)):
            to = recipient(n)
            values = [ids[n], "email", "email", "queued", to, f"Your recovery code ({n})",
                      f"Hello {to},\nyour code is {100000 + n}.\n",
                      f"<p>Hello {to}, your code is <b>{100000 + n}</b>.</p>" if html else None,
                      "recovery_code_valid",
                      json.dumps({"To": to, "RecoveryCode": str(100000 + n)})]
            text = ", ".join("NULL" if v is None else _quote(v) for v in values)
            rows.append(f"({text}, 0, {_quote(now)}, NULL, {_quote(now)}, {_quote(now)})")
        statements.append(f"INSERT INTO courier_messages ({columns}) VALUES\n" + ",\n".join(rows) + ";")
    return ids, "BEGIN;\n" + "\n".join(statements) + "\nCOMMIT;\n"


# --------------------------------------------------------------------------- processes


def write_config(workdir: Path, dsn: str, smtp_port: int, extra: dict | None = None,
                 admin_port: int | None = None, public_port: int | None = None) -> Path:
    admin_port = admin_port or free_port()
    public_port = public_port or free_port()
    config = {
        "dsn": dsn,
        "serve": {
            "public": {"port": public_port, "base_url": f"http://127.0.0.1:{public_port}/"},
            "admin": {"port": admin_port, "base_url": f"http://127.0.0.1:{admin_port}/"},
        },
        "secrets": {"cookie": ["courier-suite-cookie-secret-0123456789"]},
        "identity": {"default_schema_id": "default",
                     "schemas": [{"id": "default", "url": SCHEMA.as_uri()}]},
        "courier": {
            "smtp": {
                "connection_uri": f"smtp://127.0.0.1:{smtp_port}/?disable_starttls=true",
                "from_address": "accounts@bia.example",
                "from_name": "Bia Accounts",
                "headers": {"X-Bia-Test": "courier"},
                "local_name": "bia.test",
            },
            "worker": {"pull_wait": "200ms"},
        },
        "log": {"level": "info"},
    }
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    path = workdir / f"config-{uuid.uuid4().hex[:6]}.yml"
    path.write_text(json.dumps(config, indent=2))
    return path


@dataclass
class Process:
    proc: subprocess.Popen
    log_path: Path

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start(args: list[str], workdir: Path, name: str) -> Process:
    log_path = workdir / f"{name}-{uuid.uuid4().hex[:6]}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([bia_bin(), *args], stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    return Process(proc, log_path)


def admin_url(config_path: Path) -> str:
    config = json.loads(config_path.read_text())
    return f"http://127.0.0.1:{config['serve']['admin']['port']}"


def wait_ready(admin: str, process: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise RuntimeError(f"bia exited ({process.proc.returncode})\n{process.tail()}")
        try:
            with urllib.request.urlopen(f"{admin}/health/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"bia did not become ready\n{process.tail()}")


def get_json(url: str) -> tuple[int, object, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read()), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), dict(e.headers)
