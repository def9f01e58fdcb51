"""Plain HTTP calls to a running server and a background load of whoami,
logins and registrations that records every answer.

Each call opens its own connection, so a dropped connection is seen as one
and never blamed on a stale keep-alive.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

PASSWORD = "a long enough secret for faults"
CALL_TIMEOUT = 30.0

# What the tests measured, one line each; printed in pytest's summary.
MEASURED: list[str] = []


@dataclass
class Answer:
    """One HTTP answer, or `status` 0 with the connection failure in `error`."""

    status: int
    body: Any = None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def call(base: str, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None, timeout: float = CALL_TIMEOUT) -> Answer:
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    sent = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=sent)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Answer(resp.status, parsed, headers={k.lower(): v for k, v in resp.getheaders()})
    except (OSError, http.client.HTTPException) as err:
        return Answer(0, error=f"{type(err).__name__}: {err}")
    finally:
        conn.close()


def error_shape_problem(answer: Answer) -> str | None:
    """Why a failed answer is not Kratos's error envelope, or None when it is."""
    body = answer.body
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return f"not the error envelope: {body!r}"
    error = body["error"]
    if error.get("code") != answer.status:
        return f"error.code {error.get('code')} != HTTP {answer.status}"
    if not isinstance(error.get("status"), str) or not isinstance(error.get("message"), str):
        return f"error.status or error.message missing: {body!r}"
    return None


def acceptable_failure(answer: Answer) -> str | None:
    """A failed answer during an outage must be a 503 (or another 4xx) in the
    error envelope: never a 5xx other than 503, never a dropped connection."""
    if answer.status == 0:
        return f"connection failed: {answer.error}"
    if answer.status >= 500 and answer.status != 503:
        return f"HTTP {answer.status}: {answer.body!r}"
    if answer.status == 503 and "retry-after" not in answer.headers:
        return "503 without Retry-After"
    return error_shape_problem(answer)


# --------------------------------------------------------------------------- flows


def register(public: str, email: str) -> Answer:
    """A native registration: create the flow, submit it."""
    flow = call(public, "GET", "/self-service/registration/api")
    if not flow.ok:
        return flow
    return call(
        public, "POST", f"/self-service/registration?flow={flow.body['id']}",
        {"method": "password", "password": PASSWORD, "traits": {"email": email}},
    )


def login(public: str, email: str) -> Answer:
    """A native login: create the flow, submit it."""
    flow = call(public, "GET", "/self-service/login/api")
    if not flow.ok:
        return flow
    return call(
        public, "POST", f"/self-service/login?flow={flow.body['id']}",
        {"method": "password", "identifier": email, "password": PASSWORD},
    )


def whoami(public: str, token: str, timeout: float = CALL_TIMEOUT) -> Answer:
    return call(public, "GET", "/sessions/whoami", headers={"X-Session-Token": token}, timeout=timeout)


def unique_email() -> str:
    return f"fault-{uuid.uuid4().hex[:12]}@example.org"


# --------------------------------------------------------------------------- load


@dataclass
class Event:
    kind: str
    started: float
    ended: float
    answer: Answer


class Load:
    """Threads that call whoami, log in and register until stopped.

    Every answer is kept with its time. Tokens of successful logins and
    registrations and the emails of every registration attempt are kept for the
    checks after the fault.
    """

    def __init__(self, public: str, emails: list[str], tokens: list[str],
                 whoami_threads: int = 2, login_threads: int = 1, register_threads: int = 1) -> None:
        self.public = public
        self.emails = list(emails)
        self.tokens = list(tokens)
        self.events: list[Event] = []
        self.registered: dict[str, str] = {}  # email -> identity id, answered 200
        self.attempted: list[str] = []  # every email a registration was tried with
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        plan = [self._whoami] * whoami_threads + [self._login] * login_threads
        plan += [self._register] * register_threads
        self.threads = [
            threading.Thread(target=self._loop, args=(work, i), daemon=True)
            for i, work in enumerate(plan)
        ]

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=CALL_TIMEOUT * 3)

    def _loop(self, work, index: int) -> None:
        n = 0
        while not self.stopping.is_set():
            started = time.monotonic()
            kind, answer = work(index, n)
            with self.lock:
                self.events.append(Event(kind, started, time.monotonic(), answer))
            n += 1
            if not answer.ok:
                time.sleep(0.02)

    def _whoami(self, index: int, n: int) -> tuple[str, Answer]:
        with self.lock:
            token = self.tokens[(index + n) % len(self.tokens)]
        return "whoami", whoami(self.public, token)

    def _login(self, index: int, n: int) -> tuple[str, Answer]:
        email = self.emails[(index + n) % len(self.emails)]
        answer = login(self.public, email)
        if answer.ok:
            with self.lock:
                self.tokens.append(answer.body["session_token"])
        return "login", answer

    def _register(self, index: int, n: int) -> tuple[str, Answer]:
        email = unique_email()
        with self.lock:
            self.attempted.append(email)
        answer = register(self.public, email)
        if answer.ok:
            with self.lock:
                self.registered[email] = answer.body["identity"]["id"]
                self.tokens.append(answer.body["session_token"])
        return "register", answer

    # ----------------------------------------------------------------- reading

    def snapshot(self) -> list[Event]:
        with self.lock:
            return list(self.events)

    def bad_answers(self) -> list[str]:
        """Every answer that is neither a success nor an acceptable failure."""
        found = []
        for event in self.snapshot():
            if event.answer.ok:
                continue
            problem = acceptable_failure(event.answer)
            if problem:
                found.append(f"{event.kind}: {problem}")
        return found

    def first_success_after(self, kind: str, instant: float) -> float | None:
        """When the first call of `kind` started after `instant` succeeded (its end time)."""
        ends = [e.ended for e in self.snapshot() if e.kind == kind and e.started >= instant and e.answer.ok]
        return min(ends) if ends else None

    def failures_after(self, kind: str, instant: float) -> list[Event]:
        return [e for e in self.snapshot() if e.kind == kind and e.started >= instant and not e.answer.ok]

    def statuses(self, kind: str, since: float, until: float, answered_after: float = 0.0) -> list[int]:
        """The statuses of calls of `kind` made after `since` and answered
        between `answered_after` and `until`."""
        return [e.answer.status for e in self.snapshot()
                if e.kind == kind and since <= e.started and answered_after <= e.ended <= until]
