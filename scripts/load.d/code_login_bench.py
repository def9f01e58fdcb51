#!/usr/bin/env python3
"""Sign-in by code: complete code logins per second, against the same client
making the same number of bare requests.

A code login is four requests on kept-alive connections: a new native login
flow, the identifier (the server stores a code digest and queues the message),
the message read back from the courier admin API (as a phone or inbox would
show it), and the code (the server redeems it and issues a session). Each
login uses an identity of its own, so every lookup finds exactly one message.

The limit it is measured against: the same client processes making four
requests per iteration to the bare endpoint (`/health/alive`), which is what
the harness and HTTP alone cost. The server is pinned to core 0 and the
clients to core 1, as in `scripts/load`; server CPU per login is read from
/proc.

Usage: scripts/load.d/code_login_bench.py [--seconds 10] [--clients 4]
       [--identities 20000] [--bin PATH] [--postgres]
Needs a release `bia` ($CARGO_TARGET_DIR/release/bia unless --bin).
"""

from __future__ import annotations

import http.client
import importlib.machinery
import json
import os
import re
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
load = importlib.machinery.SourceFileLoader("bia_load", str(ROOT / "scripts" / "load")).load_module()

CODE_CONFIG = """
selfservice:
  methods:
    code:
      passwordless_enabled: true
"""


def request(connection, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    return response.status, payload


def code_logins(public: int, admin: int, emails: list[str], deadline: float, out) -> None:
    """One client process: code logins for `emails` until the deadline."""
    pub = http.client.HTTPConnection("127.0.0.1", public, timeout=30)
    adm = http.client.HTTPConnection("127.0.0.1", admin, timeout=30)
    done = failed = 0
    for address in emails:
        if time.monotonic() >= deadline:
            break
        status, body = request(pub, "GET", "/self-service/login/api")
        flow = json.loads(body)["id"] if status == 200 else None
        if flow is None:
            failed += 1
            continue
        path = f"/self-service/login?flow={flow}"
        status, body = request(pub, "POST", path, {"method": "code", "identifier": address})
        if status != 400 or b'"sent_email"' not in body:
            failed += 1
            continue
        query = urllib.parse.urlencode({"recipient": address})
        code = None
        for _ in range(200):
            status, body = request(adm, "GET", f"/admin/courier/messages?{query}")
            found = re.search(rb"\b(\d{6})\b", body) if status == 200 else None
            if found:
                code = found.group(1).decode()
                break
            time.sleep(0.002)
        if code is None:
            failed += 1
            continue
        status, body = request(pub, "POST", path, {"method": "code", "code": code})
        if status == 200 and b'"session_token"' in body:
            done += 1
        else:
            failed += 1
    out.put((done, failed))


def bare(public: int, deadline: float, out) -> None:
    """One client process: four bare requests per iteration until the deadline."""
    connection = http.client.HTTPConnection("127.0.0.1", public, timeout=30)
    rounds = 0
    while time.monotonic() < deadline:
        for _ in range(4):
            status, _ = request(connection, "GET", "/health/alive")
            assert status == 200
        rounds += 1
    out.put((rounds, 0))


def run_clients(target, args_for, clients: int, seconds: float, pid: int):
    """Runs `clients` processes pinned to the client core; returns
    (iterations, failures, wall seconds, server CPU seconds)."""
    deadline = time.monotonic() + seconds
    cpu_before, began = load.cpu_seconds(pid), time.monotonic()
    results = load.run_pinned(target, [(*args_for(n), deadline) for n in range(clients)])
    wall, cpu = time.monotonic() - began, load.cpu_seconds(pid) - cpu_before
    return sum(r[0] for r in results), sum(r[1] for r in results), wall, cpu


def main() -> None:
    args, bia = load.bench_arguments(__doc__, 20000, [(("--seconds",), {"type": float, "default": 10})])
    scratch = load.ScratchDatabase("code", args.postgres)
    workdir, dsn = scratch.workdir, scratch.dsn
    server = load.Server(bia, workdir, "code", dsn)
    with open(server.config, "a") as config:
        config.write(CODE_CONFIG)
    try:
        server.migrate()
        server.start(cpus=load.SERVER_CPU)
        load.log(f"seeding {args.identities} identities")
        load.import_identities(server, args.identities, prefix="coder")
        emails = [load.email("coder", i) for i in range(args.identities)]
        shares = [emails[n::args.clients] for n in range(args.clients)]
        load.log(f"code logins: {args.clients} client processes for {args.seconds} s")
        logins, failed, wall, cpu = run_clients(
            code_logins, lambda n: (server.public, server.admin, shares[n]),
            args.clients, args.seconds, server.pid)
        if logins >= args.identities // args.clients * args.clients:
            load.log("every identity was used: raise --identities for a longer run")
        load.log("bare: the same clients, four /health/alive requests per iteration")
        rounds, _, bare_wall, bare_cpu = run_clients(
            bare, lambda n: (server.public,), args.clients, args.seconds, server.pid)
    finally:
        server.stop()
        scratch.close()
    rate, bare_rate = logins / wall, rounds / bare_wall
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"code logins ({backend}): {logins} in {wall:.1f} s = {rate:.0f}/s "
          f"({rate * 4:.0f} requests/s), {failed} failed; server CPU "
          f"{cpu / max(logins, 1) * 1e3:.2f} ms per login ({cpu / wall * 100:.0f}% of core "
          f"{load.SERVER_CPU})")
    print(f"bare, 4 requests per iteration: {bare_rate:.0f}/s ({bare_rate * 4:.0f} requests/s); "
          f"server CPU {bare_cpu / max(rounds, 1) * 1e3:.2f} ms per iteration")
    print(f"ratio: code logins/s ÷ bare iterations/s = {rate / bare_rate:.2f}; server CPU per "
          f"login ÷ per bare iteration = {(cpu / max(logins, 1)) / (bare_cpu / max(rounds, 1)):.1f}")
    if failed:
        sys.exit(f"{failed} code logins failed")


if __name__ == "__main__":
    main()
