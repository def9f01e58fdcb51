#!/usr/bin/env python3
"""Social sign-in: OpenID Connect callbacks per second, for sign-up and for sign-in, with the
provider's own time taken out, against the password login rate and the whoami rate of the
same server.

The callback (`GET /self-service/methods/oidc/callback/<provider>?code=..&state=..`) is the
whole of the server's work in a social sign-in: it finds the flow by its state, fetches the
provider's discovery document, exchanges the code at the token endpoint, fetches the keys
(JWKS) and checks the ID token, then, for a sign-up, runs the Jsonnet mapper (in an
evaluator process), validates and writes the identity, and issues a session. The provider is
the real one of the test suite (npm `oidc-provider`, `tests/oidc-provider/provider.mjs`).

Its authorization step is driven before timing: for each callback a browser flow is
created, the provider button submitted and the provider's redirects followed (login and
consent are accepted at once) until the redirect back to Bia, whose URL and anti-CSRF
cookie are kept. Only the callbacks are timed, each client process on a kept-alive
connection. The provider's codes live 60 s, so the codes of a case are prepared right
before it and sized for it. Sign-up uses a new provider account per callback and checks
one identity it made; sign-in signs those accounts in again.

Each case runs twice: one client, one callback at a time (its mean latency, from which the
provider's time is taken out), then `--clients` clients for `--seconds` (the rate, and the
server's CPU per callback). The provider's time is measured from a client process as the
server spends it in a callback: its three requests (discovery, token with a code of the
client's own, keys) one after the other. The provider runs on the client core, so it never
takes the server's core; server CPU (the server and its Jsonnet evaluator children, from
/proc) is spent on the callback alone, whatever the provider takes.

Limits, on the same server and database, from the same clients:
  - password logins (a native flow and the password: 2 requests, bounded by the argon2id
    hash), the rate of a sign-in with a password;
  - whoami (one request, one SQL statement): the floor cost of an authenticated request.
The ratios are taken per second of server CPU (operations per CPU second: the rate of one
busy core, which other work on a shared machine does not change), and of the measured
rates. The server is pinned to core 0, the clients and the provider to core 1, as in
`scripts/load`; the load average is printed with every figure.

Usage: scripts/load.d/oidc_callback_bench.py [--seconds 4] [--clients 4]
       [--backends sqlite,postgres,mysql] [--identities 1500] [--bin PATH]
--identities caps the callbacks prepared per case. The binary: --bin, else
$CARGO_TARGET_DIR/release/bia, else $CARGO_TARGET_DIR/debug/bia (the output says which).
PostgreSQL from BIA_LOAD_PG, MariaDB from BIA_LOAD_MYSQL (default
mysql://root@127.0.0.1:3306); a fresh database per backend. Needs node and the npm packages
of tests/oidc-provider (`npm ci` there).
"""

from __future__ import annotations

import base64
import http.client
import importlib.machinery
import json
import math
import os
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
load = importlib.machinery.SourceFileLoader("bia_load", str(ROOT / "scripts" / "load")).load_module()

PROVIDER_DIR = ROOT / "tests" / "oidc-provider"
CLIENT_ID, CLIENT_SECRET = "bia", "load-test-oidc-client-secret-0123"
RETURN_URL = "http://127.0.0.1:9/app"
CODE_LIFESPAN = 60  # seconds: oidc-provider's default for authorization codes
CIPHER = "secrets:\n  cipher:\n    - load-test-cipher-secret-01234567\n"
MAPPER = """local claims = std.extVar('claims');
{
  identity: {
    traits: {
      email: claims.email,
      [if 'given_name' in claims then 'name']: { first: claims.given_name },
    },
    verified_addresses: std.prune([
      if std.get(claims, 'email_verified', false) then { via: 'email', value: claims.email },
    ]),
    metadata_admin: { subject: claims.sub },
  },
}
"""
WARM_UP = 12  # one-client callbacks before each case
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MariaDB"}


# ---------------------------------------------------------------------------------------------
# A browser: cookies per host and port, redirects followed one at a time


class Browser:
    """Cookies per host and port; each request on a connection of its own."""

    def __init__(self) -> None:
        self.jars: dict[str, dict[str, str]] = {}

    def cookies(self, netloc: str) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.jars.get(netloc, {}).items())

    def request(self, method: str, url: str, body: bytes | None = None, headers=None):
        """(status, headers, body) of one request, cookies kept."""
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        sent = dict(headers or {})
        if self.jars.get(parts.netloc):
            sent["Cookie"] = self.cookies(parts.netloc)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        payload = response.read()
        jar = self.jars.setdefault(parts.netloc, {})
        for line in response.headers.get_all("Set-Cookie") or []:
            first, *attributes = (part.strip() for part in line.split(";"))
            name, _, value = first.partition("=")
            jar.pop(name, None)  # an empty value or max-age=0 removes it
            if value and "max-age=0" not in (a.lower() for a in attributes):
                jar[name] = value
        connection.close()
        return response.status, response.headers, payload

    def follow_until(self, url: str, prefix: str) -> str:
        """Follows redirects from `url` until one points at `prefix`; returns that URL."""
        for _ in range(12):
            if url.startswith(prefix):
                return url
            status, headers, body = self.request("GET", url, headers={"Accept": "text/html"})
            if status not in (302, 303):
                raise RuntimeError(f"{url}: {status} {body[:300]!r}")
            url = urllib.parse.urljoin(url, headers["Location"])
        raise RuntimeError(f"too many redirects before {prefix}")


# ---------------------------------------------------------------------------------------------
# The provider


class Provider:
    """tests/oidc-provider/provider.mjs on the client core, with Bia's callback registered."""

    def __init__(self, callback: str) -> None:
        if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
            sys.exit(f"run `npm ci` in {PROVIDER_DIR} first")
        options = {"clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                "redirect_uris": [callback]}],
                   # Room for every code a case prepares (some eight artifacts each).
                   "storeSize": 100_000}
        self.callback = callback
        self.proc = subprocess.Popen(
            ["taskset", "-c", load.CLIENT_CPU, "node", str(PROVIDER_DIR / "provider.mjs"),
             json.dumps(options)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line:
            sys.exit("provider.mjs did not start")
        self.issuer = json.loads(line)["issuer"]

    def choose(self, sub: str) -> None:
        """The account the provider signs in next."""
        claims = {"email": f"{sub}@oidc.load.example.org", "email_verified": True,
                  "given_name": "Load"}
        status, _, body = Browser().request(
            "POST", self.issuer + "/_test/next-account",
            json.dumps({"sub": sub, "claims": claims}).encode(),
            {"Content-Type": "application/json"})
        if status != 204:
            sys.exit(f"next-account answered {status}: {body[:200]!r}")

    def own_code(self, sub: str) -> str:
        """A code for the client's own authorization request (no PKCE, its own nonce)."""
        self.choose(sub)
        query = urllib.parse.urlencode({
            "client_id": CLIENT_ID, "response_type": "code", "redirect_uri": self.callback,
            "scope": "openid email profile", "state": uuid.uuid4().hex,
            "nonce": uuid.uuid4().hex})
        back = Browser().follow_until(f"{self.issuer}/auth?{query}", self.callback)
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))["code"]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def prepare(server, provider: Provider, kind: str, sub: str) -> tuple[str, str]:
    """Drives a browser `kind` flow to the redirect back to Bia; (callback path, cookies,
    `sub`)."""
    provider.choose(sub)
    browser = Browser()
    base = f"http://127.0.0.1:{server.public}"
    status, _, body = browser.request("GET", f"{base}/self-service/{kind}/browser",
                                      headers={"Accept": "application/json"})
    if status != 200:
        sys.exit(f"new {kind} flow: {status} {body[:200]!r}")
    flow = json.loads(body)
    csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"]
                if n["attributes"].get("name") == "csrf_token")
    form = urllib.parse.urlencode({"csrf_token": csrf, "method": "oidc", "provider": "idp"})
    status, headers, body = browser.request(
        "POST", f"{base}/self-service/{kind}?flow={flow['id']}", form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"})
    if status != 303:
        sys.exit(f"choosing the provider: {status} {body[:200]!r}")
    back = browser.follow_until(headers["Location"], provider.callback)
    parts = urllib.parse.urlsplit(back)
    return f"{parts.path}?{parts.query}", browser.cookies(f"127.0.0.1:{server.public}"), sub


def prepare_many(server, provider, kind, subs):
    began = time.monotonic()
    prepared = [prepare(server, provider, kind, sub) for sub in subs]
    return prepared, time.monotonic() - began


# ---------------------------------------------------------------------------------------------
# Client processes (each pinned to the client core by load.run_pinned)


def callbacks(public: int, prepared: list, deadline: float, out) -> None:
    """Sends prepared callbacks until the deadline; (done, failed, [(seconds, subject) of
    each], the first failure)."""
    connection = http.client.HTTPConnection("127.0.0.1", public, timeout=60)
    done, failed, times, first_error = 0, 0, [], None
    for path, cookies, sub in prepared:
        if time.monotonic() >= deadline:
            break
        began = time.perf_counter()
        connection.request("GET", path, headers={"Cookie": cookies, "Accept": "text/html"})
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - began, sub))
        signed_in = any(c.startswith("ory_kratos_session=")
                        for c in response.headers.get_all("Set-Cookie") or [])
        if response.status == 303 and response.headers["Location"] == RETURN_URL and signed_in:
            done += 1
        else:
            failed += 1
            first_error = first_error or f"{response.status} {response.headers['Location']}"
    out.put((done, failed, times, first_error))


def provider_requests(issuer: str, codes: list[str], callback: str, deadline: float, out) -> None:
    """The server's three provider requests per callback, timed: (discovery, token, keys)."""
    parts = urllib.parse.urlsplit(issuer)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    timings = []

    def timed(method, path, body=None, headers=None):
        began = time.perf_counter()
        connection.request(method, path, body=body, headers={"Accept": "application/json",
                                                              **(headers or {})})
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {payload[:200]!r}")
        return time.perf_counter() - began, json.loads(payload)

    for code in codes:
        discovery, document = timed("GET", "/.well-known/openid-configuration")
        form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": callback, "client_id": CLIENT_ID})
        token, answer = timed("POST", urllib.parse.urlsplit(document["token_endpoint"]).path,
                              form.encode(), {"Authorization": f"Basic {basic}",
                                              "Content-Type": "application/x-www-form-urlencoded"})
        if "id_token" not in answer:
            raise RuntimeError(f"the token answer has no id_token: {answer}")
        keys, _ = timed("GET", urllib.parse.urlsplit(document["jwks_uri"]).path)
        timings.append((discovery, token, keys))
    out.put((len(timings), 0, timings, None))


def password_logins(public: int, address: str, deadline: float, out) -> None:
    """Native password logins until the deadline; (done, failed, session tokens, None)."""
    connection = http.client.HTTPConnection("127.0.0.1", public, timeout=60)
    done, failed, tokens = 0, 0, []
    while time.monotonic() < deadline:
        connection.request("GET", "/self-service/login/api", headers={"Accept": "application/json"})
        response = connection.getresponse()
        flow = json.loads(response.read())
        body = json.dumps({"method": "password", "identifier": address,
                           "password": load.LOGIN_PASSWORD}).encode()
        connection.request("POST", f"/self-service/login?flow={flow['id']}", body=body,
                           headers={"Accept": "application/json",
                                    "Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        if response.status == 200:
            done += 1
            tokens.append(json.loads(payload)["session_token"])
        else:
            failed += 1
    out.put((done, failed, tokens, None))


def whoamis(public: int, token: str, deadline: float, out) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", public, timeout=60)
    done = failed = 0
    while time.monotonic() < deadline:
        connection.request("GET", "/sessions/whoami", headers={"X-Session-Token": token})
        response = connection.getresponse()
        response.read()
        done, failed = (done + 1, failed) if response.status == 200 else (done, failed + 1)
    out.put((done, failed, [], None))


def guarded(target, *arguments) -> None:
    """Runs a client; one that raises reports a failure (the runner waits for every report)."""
    out = arguments[-1]
    try:
        target(*arguments)
    except Exception as error:  # noqa: BLE001 - any error of a client is reported as such
        out.put((0, 1, [], f"{type(error).__name__}: {error}"))


def run_clients(target, argument_lists, seconds, server, provider):
    """Runs one client process per argument list until `seconds` pass; a dict of the totals,
    wall seconds, server and provider CPU seconds and the load average before -> after."""
    deadline = time.monotonic() + seconds
    load_before = load.loadavg()
    server_before = load.cpu_own_and_children(server.pid)
    provider_before = load.cpu_with_children(provider.proc.pid)
    began = time.monotonic()
    results = load.run_pinned(guarded, [(target, *arguments, deadline)
                                        for arguments in argument_lists])
    return {
        "done": sum(r[0] for r in results), "failed": sum(r[1] for r in results),
        "each": [r[2] for r in results], "error": next((r[3] for r in results if r[3]), None),
        "wall": time.monotonic() - began,
        "server_cpu": load.cpu_with_children(server.pid) - sum(server_before),
        "evaluator_cpu": load.cpu_own_and_children(server.pid)[1] - server_before[1],
        "provider_cpu": load.cpu_with_children(provider.proc.pid) - provider_before,
        "load": f"{load_before} -> {load.loadavg()}",
    }


def shares(items: list, clients: int) -> list[list]:
    return [items[n::clients] for n in range(clients)]


# ---------------------------------------------------------------------------------------------
# One backend


def configure(server, provider_issuer: str) -> None:
    mapper = Path(server.workdir) / "oidc.jsonnet"
    mapper.write_text(MAPPER)
    config = Path(server.config).read_text().replace("secrets:\n", CIPHER, 1)
    config += f"""selfservice:
  default_browser_return_url: {RETURN_URL}
  methods:
    oidc:
      enabled: true
      config:
        providers:
          - id: idp
            provider: generic
            label: Load provider
            client_id: {CLIENT_ID}
            client_secret: {CLIENT_SECRET}
            issuer_url: {provider_issuer}
            mapper_url: {mapper.as_uri()}
            scope: [email, profile]
"""
    Path(server.config).write_text(config)


def callback_case(name, server, provider, kind, subs, args):
    """One client first, one callback at a time (its latency, for the provider's time to be
    taken out of, and a warm-up); then `args.clients` clients for `args.seconds` on codes
    prepared for it (as many as the one-client server CPU says the server can take, within
    the codes' lifespan and `--identities`). `subs` are signed in to in turn."""
    warm = [subs[i % len(subs)] for i in range(WARM_UP)]
    prepared, prep_wall = prepare_many(server, provider, kind, warm)
    one = run_clients(callbacks, [(server.public, prepared)], 60, server, provider)
    if one["failed"]:
        sys.exit(f"{name}: one-client callbacks failed ({one['error']}); see {server.logfile}")
    latencies = [t for t, _ in one["each"][0]][2:]  # the first two warm up
    one["latency"] = sum(latencies) / len(latencies)
    wanted = math.ceil(args.seconds / (one["server_cpu"] / one["done"]) * 1.2)
    fits = int((CODE_LIFESPAN - 10 - args.seconds) * len(warm) / prep_wall)
    count = max(args.clients, min(wanted, fits, args.identities))
    subs = [subs[(len(warm) + i) % len(subs)] for i in range(count)]
    load.log(f"{name}: preparing {count} callbacks (load {load.loadavg()})")
    prepared, prep_wall = prepare_many(server, provider, kind, subs)
    load.log(f"{name}: {count} prepared in {prep_wall:.1f} s; timing callbacks, "
             f"{args.clients} clients")
    many = run_clients(callbacks, [(server.public, share) for share in shares(prepared, args.clients)],
                       args.seconds, server, provider)
    if many["failed"]:
        sys.exit(f"{name}: {many['failed']} callbacks failed (first: {many['error']}); "
                 f"see {server.logfile}")
    if many["done"] == count:
        load.log(f"{name}: every prepared callback was used before the deadline: the rate is "
                 f"over {many['wall']:.1f} s")
    subjects = [sub for each in one["each"] + many["each"] for _, sub in each]
    return {"one": one, "many": many, "subjects": subjects}


def provider_case(server, provider, count):
    """The provider's time per callback: the server's three requests to it, timed from one
    client process, one at a time (as one callback makes them)."""
    load.log(f"provider: {count} codes of the client's own")
    codes = [provider.own_code(f"probe-{uuid.uuid4().hex[:12]}") for _ in range(count)]
    result = run_clients(provider_requests, [(provider.issuer, codes, provider.callback)], 60,
                         server, provider)
    if result["failed"]:
        sys.exit(f"timing the provider failed: {result['error']}")
    timings = result["each"][0][2:]  # the first two open the connection and warm up
    means = [sum(t[i] for t in timings) / len(timings) for i in range(3)]
    return dict(result, discovery=means[0], token=means[1], keys=means[2], per_callback=sum(means))


def limit_cases(server, provider, args):
    """Password logins and whoami on the same server: one client, then `args.clients`."""
    address = load.email("password", 0)
    status, body = server.call("POST", "/admin/identities", {
        "schema_id": "default", "traits": {"email": address},
        "credentials": {"password": {"config": {"password": load.LOGIN_PASSWORD}}}}, admin=True)
    if status != 201:
        sys.exit(f"creating the password identity answered {status}: {body}")
    figures = {}
    for clients in (1, args.clients):
        load.log(f"password logins and whoami, {clients} clients, {args.seconds} s each")
        logins = run_clients(password_logins, [(server.public, address)] * clients,
                             args.seconds, server, provider)
        tokens = [t for each in logins["each"] for t in each]
        if logins["failed"] or not tokens:
            sys.exit(f"{logins['failed']} password logins failed; see {server.logfile}")
        who = run_clients(whoamis, [(server.public, tokens[n % len(tokens)]) for n in range(clients)],
                          args.seconds, server, provider)
        if who["failed"]:
            sys.exit(f"{who['failed']} whoami requests failed; see {server.logfile}")
        key = "one" if clients == 1 else "many"
        figures[f"password-{key}"], figures[f"whoami-{key}"] = logins, who
    return figures


def check_signed_up(server, sub: str) -> None:
    """The identity a sign-up made: one, linked to `sub`, with the mapped traits."""
    query = urllib.parse.urlencode({"credentials_identifier": f"idp:{sub}"})
    status, body = server.call("GET", f"/admin/identities?{query}", admin=True)
    traits = [identity["traits"] for identity in body or []]
    if status != 200 or traits != [{"email": f"{sub}@oidc.load.example.org",
                                    "name": {"first": "Load"}}]:
        sys.exit(f"the identity signed up as {sub}: {status} {body}")


def backend_run(bia, kind, args):
    scratch = load.ScratchDatabase("oidc", kind)
    server = load.Server(bia, scratch.workdir, "oidc", scratch.dsn)
    provider = Provider(f"http://127.0.0.1:{server.public}/self-service/methods/oidc/callback/idp")
    figures = {}
    try:
        configure(server, provider.issuer)
        server.migrate()
        server.start(cpus=load.SERVER_CPU)
        new = [f"user-{uuid.uuid4().hex[:12]}" for _ in range(args.identities + 3 * args.clients)]
        figures["sign-up"] = callback_case(f"{NAMES[kind]} sign-up", server, provider,
                                           "registration", new, args)
        signed_up = figures["sign-up"]["subjects"]
        check_signed_up(server, signed_up[-1])
        figures["sign-in"] = callback_case(f"{NAMES[kind]} sign-in", server, provider, "login",
                                           signed_up, args)
        figures["provider"] = provider_case(server, provider, 22)
        figures.update(limit_cases(server, provider, args))
    except SystemExit:
        lines = Path(server.logfile).read_text(errors="replace").splitlines()
        print("\n".join(["server log, last lines:", *lines[-15:]]), file=sys.stderr)
        raise
    finally:
        server.stop()
        provider.stop()
        scratch.close()
    return figures


# ---------------------------------------------------------------------------------------------
# Report


def per_second(result) -> float:
    return result["done"] / result["wall"]


def per_cpu_second(result) -> float:
    """Operations per second of the server's CPU (with its evaluator children): the rate of
    one core kept busy, whatever waits on other processes."""
    return result["done"] / result["server_cpu"]


def busy(result) -> str:
    return f"server {result['server_cpu'] / result['wall'] * 100:.0f}% of core {load.SERVER_CPU}"


def report(kind, f, args):
    provider = f["provider"]
    print(f"\n{NAMES[kind]}")
    print(f"  provider time per callback, from one client: {provider['per_callback'] * 1e3:.2f} ms "
          f"(discovery {provider['discovery'] * 1e3:.2f} + token {provider['token'] * 1e3:.2f} + "
          f"keys {provider['keys'] * 1e3:.2f}); load {provider['load']}")
    one_rate = {}
    for case in ("sign-up", "sign-in"):
        one, many = f[case]["one"], f[case]["many"]
        own = one["latency"] - provider["per_callback"]
        one_rate[case] = 1 / own
        print(f"  {case}, one client: {one['latency'] * 1e3:.1f} ms per callback, "
              f"{own * 1e3:.1f} ms with the provider's time out = {1 / own:.1f}/s; load {one['load']}")
        print(f"  {case}, {args.clients} clients: {many['done']} in {many['wall']:.1f} s = "
              f"{per_second(many):.1f}/s, {busy(many)}; server CPU "
              f"{1e3 / per_cpu_second(many):.1f} ms per callback (Jsonnet evaluator processes "
              f"{many['evaluator_cpu'] / many['done'] * 1e3:.1f}) = {per_cpu_second(many):.1f} per "
              f"CPU second; provider CPU {many['provider_cpu'] / many['done'] * 1e3:.1f} ms per "
              f"callback; load {many['load']}")
    for name, key, unit in (("password logins", "password", "login"), ("whoami", "whoami", "request")):
        one, many = f[f"{key}-one"], f[f"{key}-many"]
        print(f"  {name}, one client: {per_second(one):.1f}/s; {args.clients} clients: "
              f"{many['done']} in {many['wall']:.1f} s = {per_second(many):.1f}/s, {busy(many)}; "
              f"server CPU {1e3 / per_cpu_second(many):.2f} ms per {unit} = "
              f"{per_cpu_second(many):.0f} per CPU second; load {many['load']}")
    for case in ("sign-up", "sign-in"):
        many = f[case]["many"]
        print(f"  ratio {case} ÷ password logins, ÷ whoami: one client, provider time out "
              f"{one_rate[case] / per_second(f['password-one']):.2f}, "
              f"{one_rate[case] / per_second(f['whoami-one']):.3f}; per CPU second "
              f"{per_cpu_second(many) / per_cpu_second(f['password-many']):.2f}, "
              f"{per_cpu_second(many) / per_cpu_second(f['whoami-many']):.3f}; measured with "
              f"{args.clients} clients {per_second(many) / per_second(f['password-many']):.2f}, "
              f"{per_second(many) / per_second(f['whoami-many']):.3f}")


def binary(args) -> tuple[str, str]:
    if args.bin:
        return args.bin, "given with --bin"
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    for profile in ("release", "debug"):
        path = os.path.join(target, profile, "bia")
        if os.access(path, os.X_OK):
            return path, f"{profile} build"
    sys.exit(f"no bia in {target}/release or {target}/debug: build it or pass --bin")


def main() -> None:
    args, _ = load.bench_arguments(__doc__, 1500, [
        (("--seconds",), {"type": float, "default": 4}),
        (("--backends",), {"default": "sqlite,postgres,mysql"})])
    args.clients = max(1, args.clients)
    kinds = ["postgres"] if args.postgres else args.backends.split(",")
    bia, build = binary(args)
    load.log(f"bia: {bia} ({build}); {os.cpu_count()} cores; load {load.loadavg()}")
    figures = {kind: backend_run(bia, kind, args) for kind in kinds}
    print(f"OpenID Connect callbacks, bia {build} ({bia}); {args.clients} client processes, "
          f"{args.seconds:g} s per case; server on core {load.SERVER_CPU}, clients and provider "
          f"on core {load.CLIENT_CPU}")
    for kind, f in figures.items():
        report(kind, f, args)
    print(f"\nuptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
