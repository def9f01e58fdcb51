"""The database goes away under load and comes back.

On PostgreSQL and MariaDB instances of their own, while threads call whoami,
log in and register without pause, the tests kill the database (SIGKILL to
every process: a crash) or stop it gracefully, then start it again on the same
data. They check that:

- readiness (`/health/ready`) answers 503 while the database is away and 200
  once it is back;
- every answer meanwhile is a success or a 503 (with `Retry-After`) or 4xx in
  Kratos's error envelope: no other 5xx, no dropped connection, no crash;
- whoami and login work again within 5 s of the database accepting connections;
- nothing is lost or half-written: every session and identity the server
  confirmed still exists, and every identity stored (also one whose
  registration was cut off) has its password credential and identifier.
"""

from __future__ import annotations

import re
import time

import pytest

from faults_load import MEASURED, Load, call, register, whoami
from faults_server import database, report, server  # noqa: F401 (fixtures)

RECOVERY_LIMIT = 5.0  # seconds from the database accepting connections
# The database stays away at least this long: longer than the server waits for
# a connection (3 s), so calls made meanwhile answer 503 rather than ride it out.
OUTAGE = 4.0
TAIL = 1.5  # seconds of load after service is back
SEEDED = 4



def ready_status(admin: str) -> int:
    return call(admin, "GET", "/health/ready", timeout=5).status


def wait_for(predicate, timeout: float, what: str, server) -> float:
    """Polls until `predicate()` is true; returns when it became so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {timeout}s\n--- server log ---\n{server.log_tail()}")


def seed(server) -> tuple[list[str], list[str]]:
    emails, tokens = [], []
    for i in range(SEEDED):
        email = f"seed-{i}-{time.monotonic_ns()}@example.org"
        answer = register(server.public, email)
        assert answer.ok, answer
        emails.append(email)
        tokens.append(answer.body["session_token"])
    return emails, tokens


def all_identities(admin: str) -> list[dict]:
    found: list[dict] = []
    path = "/admin/identities?page_size=500"
    while path:
        answer = call(admin, "GET", path)
        assert answer.status == 200, answer
        found.extend(answer.body)
        nxt = re.search(r'<([^>]*)>;\s*rel="next"', answer.headers.get("link", ""))
        path = None
        if nxt:
            url = nxt.group(1)
            path = url[url.index("/admin/"):] if "/admin/" in url else url
    return found


def check_nothing_lost(server, load: Load) -> None:
    """Every confirmed session and identity exists; every stored identity is whole."""
    for token in load.tokens:
        answer = whoami(server.public, token)
        assert answer.status == 200, f"a confirmed session is gone: {answer}"
    identities = {i["id"]: i for i in all_identities(server.admin)}
    for email, identity_id in load.registered.items():
        assert identity_id in identities, f"a confirmed registration is gone: {email}"
    by_email = {i["traits"]["email"]: i for i in identities.values()}
    for email in set(load.attempted) | set(load.emails):
        identity = by_email.get(email)
        if identity is None:
            assert email not in load.registered
            continue
        full = call(server.admin, "GET", f"/admin/identities/{identity['id']}?include_credential=password")
        assert full.status == 200, full
        password = (full.body.get("credentials") or {}).get("password")
        assert password, f"identity {email} stored without its password credential: {full.body}"
        assert password.get("identifiers") == [email], password
        assert (password.get("config") or {}).get("hashed_password"), password
        addresses = [a["value"] for a in full.body.get("verifiable_addresses", [])]
        assert addresses == [email], f"identity {email} stored without its address: {full.body}"


@pytest.mark.parametrize("fault", ["kill", "restart"])
def test_database_away_under_load(database, server, fault, report):
    if not database.running:  # an earlier case failed while it was away
        database.start()
        wait_for(lambda: ready_status(server.admin) == 200, 15, "readiness 200", server)
    emails, tokens = seed(server)
    assert ready_status(server.admin) == 200

    with Load(server.public, emails, tokens) as load:
        time.sleep(0.5)
        calm = load.snapshot()
        assert calm and all(e.answer.ok for e in calm), [e.answer for e in calm if not e.answer.ok][:3]

        fault_at = time.monotonic()
        if fault == "kill":
            database.kill()
        else:
            database.stop()
        down_at = time.monotonic()  # the database's processes are gone
        unready_at = wait_for(lambda: ready_status(server.admin) == 503, 15, "readiness 503", server)
        wait_for(
            lambda: any(s == 503 for s in load.statuses("whoami", fault_at, time.monotonic())),
            15, "whoami answering 503", server,
        )
        remaining = OUTAGE - (time.monotonic() - down_at)
        if remaining > 0:
            time.sleep(remaining)
        server.assert_alive()

        # The database may answer before start() returns: the outage ends here.
        restart_at = time.monotonic()
        database.start()
        back_at = time.monotonic()
        ready_at = wait_for(lambda: ready_status(server.admin) == 200, 15, "readiness 200", server)
        wait_for(
            lambda: all(load.first_success_after(kind, back_at) for kind in ("whoami", "login")),
            RECOVERY_LIMIT, "whoami and login succeeding", server,
        )
        # Keep the load on a little longer, so failures after the first success show.
        time.sleep(TAIL)

    server.assert_alive()
    bad = load.bad_answers()
    assert not bad, f"{len(bad)} unacceptable answers, first ones: {bad[:5]}\n{server.log_tail()}"
    # Calls answered while the database was away must be 503. A call begun
    # during a graceful shutdown may still have had its query answered before
    # the last process exited (MariaDB finishes running statements), so such a
    # call may also be a success.
    answered_down = [e for e in load.snapshot()
                     if e.kind == "whoami" and fault_at <= e.started and down_at <= e.ended <= restart_at]
    statuses = [(e.answer.status, e.started < down_at) for e in answered_down]
    assert any(status == 503 for status, _ in statuses), f"whoami while the database was away: {statuses}"
    wrong = [(status, early) for status, early in statuses
             if status != 503 and not (early and status == 200)]
    assert not wrong, f"whoami while the database was away: {statuses}"

    recovery = {"ready": ready_at - back_at}
    for kind in ("whoami", "login"):
        first = load.first_success_after(kind, back_at)
        assert first is not None, f"no {kind} succeeded after the database came back"
        late = [e.ended for e in load.failures_after(kind, back_at)]
        recovered = max([first, *late])
        recovery[kind] = recovered - back_at
        assert recovery[kind] <= RECOVERY_LIMIT, (
            f"{kind} back {recovery[kind]:.2f}s after the database (limit {RECOVERY_LIMIT}s)"
        )
    MEASURED.append(
        f"{database.name} {fault}: readiness 503 after {unready_at - fault_at:.2f}s; back after "
        + ", ".join(f"{k} {v:.2f}s" for k, v in recovery.items())
        + f" ({len(load.snapshot())} calls)"
    )
    check_nothing_lost(server, load)
    assert ready_status(server.admin) == 200
    server.assert_alive()

