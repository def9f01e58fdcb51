"""A full disk under a SQLite database.

The database file lives on a small tmpfs of the test's own. Once a filler file
has taken every free byte, registrations must answer 503 in Kratos's error
envelope (never another 5xx, never a crash) and whoami must keep answering for
sessions that exist. After the filler is removed, registrations work again,
nothing confirmed is lost and SQLite's `PRAGMA integrity_check` is `ok`.
Needs permission to mount a tmpfs (root); skipped otherwise.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from faults_server import report, start_server  # noqa: F401 (fixture)
from faults_load import MEASURED, acceptable_failure, call, register, unique_email, whoami
from support import stop_server

DISK_SIZE = "4m"


@pytest.fixture
def small_disk():
    """A 4 MiB tmpfs mounted on a fresh directory; unmounted afterwards."""
    mountpoint = Path(tempfile.mkdtemp(prefix="bia-faults-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True, text=True,
    )
    if mounted.returncode != 0:
        mountpoint.rmdir()
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
        mountpoint.rmdir()


def fill(disk: Path) -> Path:
    """Writes a filler file until the disk refuses another byte."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as out:
        size = len(chunk)
        while size:
            try:
                out.write(chunk[:size])
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise
                size //= 2
    return filler


def test_full_disk_answers_503_and_corrupts_nothing(small_disk, tmp_path, report):
    db_file = small_disk / "bia.db"
    server = start_server(f"sqlite://{db_file}", tmp_path)
    try:
        sessions = []
        for _ in range(3):
            answer = register(server.public, unique_email())
            assert answer.ok, answer
            sessions.append(answer.body["session_token"])

        filler = fill(small_disk)
        refused = []
        for _ in range(5):
            answer = register(server.public, unique_email())
            assert not answer.ok, "a registration succeeded on a full disk"
            problem = acceptable_failure(answer)
            assert problem is None, f"{problem}\n{server.log_tail()}"
            refused.append(answer.status)
        assert 503 in refused, refused
        for token in sessions:
            assert whoami(server.public, token).status == 200
        server.assert_alive()

        filler.unlink()
        freed_at = time.monotonic()
        answer = register(server.public, unique_email())
        while not answer.ok and time.monotonic() - freed_at < 5:
            time.sleep(0.1)
            answer = register(server.public, unique_email())
        assert answer.ok, f"no registration after the disk was freed: {answer}"
        MEASURED.append(f"sqlite full disk: registration answered {sorted(set(refused))}, "
                        f"back {time.monotonic() - freed_at:.2f}s after space was freed")
        sessions.append(answer.body["session_token"])
        for token in sessions:
            assert whoami(server.public, token).status == 200
        assert call(server.admin, "GET", "/health/ready").status == 200
        server.assert_alive()
    finally:
        stop_server(server.proc)

    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        identities = conn.execute("SELECT COUNT(*) FROM identities").fetchone()[0]
        credentials = conn.execute("SELECT COUNT(DISTINCT identity_id) FROM identity_credentials").fetchone()[0]
    assert identities == credentials == 4, (identities, credentials)
    assert os.path.getsize(db_file) > 0
