"""Throw-away PostgreSQL and MariaDB servers that the fault tests own.

Each instance lives in a temporary directory: its data files, its unix socket,
its log. It listens on a free loopback port, so the machine's own database
services are never touched. The tests kill (SIGKILL to every process of the
instance), stop gracefully and restart them on the same data directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from support import free_port  # tests/sdk, put on the path by faults_server

START_TIMEOUT = 30.0


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _run(cmd: list[str], log: Path, **kwargs) -> None:
    with open(log, "ab") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=120, **kwargs)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}):\n{tail}")


class Instance:
    """A database server process started from a data directory it owns."""

    name = "database"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.log = workdir / "server.log"
        self.proc: subprocess.Popen | None = None

    # Implemented per database.
    def command(self) -> list[str]:
        raise NotImplementedError

    def popen_options(self) -> dict:
        return {}

    @property
    def dsn(self) -> str:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Starts the server and waits until it accepts connections."""
        assert not self.running, "already running"
        with open(self.log, "ab") as out:
            # A session of its own: a kill reaches every process of the instance.
            self.proc = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self.popen_options(),
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.accepts():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start in {START_TIMEOUT}s:\n{self.log_tail()}")
            time.sleep(0.05)

    def accepts(self) -> bool:
        """The server accepts connections and answers queries."""
        return port_open(self.port) and self.answers()

    def answers(self) -> bool:
        return True

    def kill(self) -> None:
        """SIGKILL to every process of the instance: a crash, no shutdown."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        # Children of a killed PostgreSQL exit on their own once orphaned; wait for them.
        deadline = time.monotonic() + 10
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """A graceful shutdown: SIGTERM (PostgreSQL: "smart"; MariaDB: normal shutdown)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(self.stop_signal())
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def stop_signal(self) -> int:
        return signal.SIGTERM

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


class Postgres(Instance):
    """PostgreSQL, run as the `postgres` system user when started as root (initdb refuses root)."""

    name = "postgresql"

    def __init__(self, workdir: Path, bindir: Path) -> None:
        super().__init__(workdir)
        self.bindir = bindir
        self.data = workdir / "data"
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            account = pwd.getpwnam(self.user)
            os.chown(workdir, account.pw_uid, account.pw_gid)
            self.log.touch()
            os.chown(self.log, account.pw_uid, account.pw_gid)
        _run(
            [str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
             "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
            self.log,
            user=self.user,
        )

    def popen_options(self) -> dict:
        return {"user": self.user} if self.user else {}

    def command(self) -> list[str]:
        # fsync off: a killed process loses nothing the kernel already has, and
        # the tests kill processes, never the machine. Commits stay synchronous.
        return [
            str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
            "-k", str(self.workdir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "full_page_writes=off", "-c", "max_connections=50",
        ]

    def answers(self) -> bool:
        proc = subprocess.run(
            [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True, timeout=10,
        )
        return proc.returncode == 0

    def stop_signal(self) -> int:
        # "fast" shutdown: open sessions are ended (what a restart by an operator does).
        return signal.SIGINT

    @property
    def dsn(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"


class MariaDB(Instance):
    """MariaDB (or MySQL's mysqld under that name), run as root with `--user=root`."""

    name = "mariadb"

    def __init__(self, workdir: Path, daemon: str, install: str) -> None:
        super().__init__(workdir)
        self.daemon = daemon
        self.data = workdir / "data"
        _run(
            [install, "--no-defaults", f"--datadir={self.data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            self.log,
        )
        self.created = False

    def command(self) -> list[str]:
        # Commits reach the kernel before they are acknowledged (flush at commit
        # level 2), which a killed process cannot lose.
        return [
            self.daemon, "--no-defaults", f"--datadir={self.data}", "--user=root",
            "--bind-address=127.0.0.1", f"--port={self.port}",
            f"--socket={self.workdir / 'mysqld.sock'}", f"--pid-file={self.workdir / 'mysqld.pid'}",
            "--skip-log-bin", "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2", "--skip-name-resolve",
        ]

    def answers(self) -> bool:
        proc = subprocess.run(
            ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(self.port), "-u", "root",
             "-e", "SELECT 1"],
            capture_output=True, timeout=10,
        )
        return proc.returncode == 0

    def start(self) -> None:
        super().start()
        if not self.created:
            _run(
                ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(self.port), "-u", "root",
                 "-e", "CREATE DATABASE bia CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"],
                self.log,
            )
            self.created = True

    @property
    def dsn(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/bia"


def mariadb_tools() -> tuple[str, str] | None:
    daemon = shutil.which("mariadbd") or shutil.which("mysqld") or (
        "/usr/sbin/mariadbd" if os.access("/usr/sbin/mariadbd", os.X_OK) else None
    )
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if daemon and install and shutil.which("mariadb"):
        return daemon, install
    return None
