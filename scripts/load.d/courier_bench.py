#!/usr/bin/env python3
"""Courier throughput: messages per second through SMTP into a local aiosmtpd
sink, with one and with two `bia courier watch` processes on one database,
against the sink's own accept rate (a plain smtplib client sending the same
emails over one connection, and over as many connections as the worker's pool).

Run with the test virtualenv (it has aiosmtpd):
    ~/.cache/bia/venv-*/bin/python scripts/load.d/courier_bench.py [--count 2000] [--backend postgres]

Needs the `bia` binary (BIA_BIN) and the database server of the backend
(BIA_TEST_POSTGRES / BIA_TEST_MYSQL, as the test suites use).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "courier"))

from courier_support import (  # noqa: E402
    Sink,
    SinkServer,
    create_database,
    free_port,
    migrate,
    queue_sql,
    start,
    wait_for,
    write_config,
)

POOL = 8


CLIENT = """
import smtplib, sys
from email.message import EmailMessage
port, share = int(sys.argv[1]), int(sys.argv[2])
with smtplib.SMTP("127.0.0.1", port) as client:
    for n in range(share):
        mail = EmailMessage()
        mail["From"] = "accounts@bia.example"
        mail["To"] = f"user{n}@example.org"
        mail["Subject"] = f"Your recovery code ({n})"
        mail.set_content(f"Hello, your code is {100000 + n}.\\n")
        mail.add_alternative(f"<p>Your code is <b>{100000 + n}</b>.</p>", subtype="html")
        client.send_message(mail)
"""


def sink_alone(port: int, count: int, connections: int) -> float:
    """Seconds for plain smtplib clients (processes of their own, as bia is) to
    hand `count` emails to the sink over `connections` connections."""
    shares = [count // connections + (1 if n < count % connections else 0) for n in range(connections)]
    began = time.monotonic()
    clients = [subprocess.Popen([sys.executable, "-c", CLIENT, str(port), str(share)]) for share in shares]
    for client in clients:
        if client.wait() != 0:
            raise RuntimeError("the smtplib client failed")
    return time.monotonic() - began


def through_bia(backend: str, workers: int, count: int, sink: SinkServer, tmp: Path) -> float:
    """Seconds from starting `workers` watch processes until the sink has every message."""
    db = create_database(backend, tmp)
    processes = []
    try:
        migrate(db)
        _, sql = queue_sql(count)
        db.execute(sql)
        config = write_config(tmp, db.dsn, sink.port, {"courier": {"worker": {"pull_count": 50}}})
        before = sink.sink.count()
        began = time.monotonic()
        processes = [start(["courier", "watch", "-c", str(config)], tmp, f"w{n}") for n in range(workers)]
        wait_for(lambda: sink.sink.count() - before >= count, 600, f"{count} emails", step=0.02)
        return time.monotonic() - began
    finally:
        for process in processes:
            process.stop()
        db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--backend", default="postgres", choices=["postgres", "mysql", "sqlite"])
    args = parser.parse_args()
    sink = SinkServer(Sink(), free_port()).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = []
            for label, seconds in [
                ("sink alone, smtplib, 1 connection", sink_alone(sink.port, args.count, 1)),
                (f"sink alone, smtplib, {POOL} connections", sink_alone(sink.port, args.count, POOL)),
                (f"bia, 1 worker ({args.backend})", through_bia(args.backend, 1, args.count, sink, Path(tmp))),
                (f"bia, 2 workers ({args.backend})", through_bia(args.backend, 2, args.count, sink, Path(tmp))),
            ]:
                rows.append((label, args.count / seconds))
                print(f"{label:45s} {args.count / seconds:8.0f} messages/s", flush=True)
            ids = sink.sink.message_ids()
            bia_ids = [i for i in ids if i and i.endswith("@bia.test>")]
            print(f"bia messages at the sink: {len(bia_ids)}, distinct: {len(set(bia_ids))}")
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
