#!/usr/bin/env python3
"""Second-factor logins: password + TOTP and password + security key (WebAuthn)
step-ups per second, against password-only logins on the same build and
backend; and whoami server CPU per request with the assurance-level check on
(`session.whoami.required_aal: highest_available`) against off (`aal1`).

A password login is two requests on a kept-alive connection: a new native
login flow and the password (the server verifies the argon2id hash and issues
an `aal1` session). A second-factor login adds two: a step-up flow
(`?aal=aal2` with the new session's token) and the second factor, a TOTP code
(computed here from the imported secret) or a WebAuthn assertion (signed here
with P-256 by a small software authenticator, over the challenge the flow
carries). Each step-up uses an identity of its own: a TOTP code is accepted
once per time step, and every identity is used at most once per run.

The identities are imported in Kratos's format through the batch admin API:
one argon2id hash (made once by the server), a TOTP URL, and a security key
whose COSE public key is the authenticator's. The whoami runs ask for the
`aal2` sessions the step-ups made; the server restarts between them with the
other `required_aal` on the same database.

The server is pinned to core 0 and the clients to core 1, as in
`scripts/load`; server CPU is read from /proc. The load average is printed
with every figure: on a shared machine the ratios are what to compare.

Usage: scripts/load.d/second_factor_bench.py [--seconds 10] [--clients 4]
       [--identities 1200] [--bin PATH] [--postgres]
Needs a release `bia` ($CARGO_TARGET_DIR/release/bia unless --bin) and the
`cryptography` package (for the P-256 signatures).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import importlib.machinery
import json
import os
import struct
import sys
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[2]
load = importlib.machinery.SourceFileLoader("bia_load", str(ROOT / "scripts" / "load")).load_module()

RP_ID = "load.example.org"
ORIGIN = f"https://{RP_ID}"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = load.LOGIN_PASSWORD
# A fixed key: every identity's security key answers with it.
KEY = ec.derive_private_key(0x5EC0DFAC70B1A5, ec.SECP256R1())

CIPHER = "secrets:\n  cipher:\n    - load-test-cipher-secret-01234567\n"
MFA_CONFIG = f"""
selfservice:
  methods:
    totp:
      enabled: true
    webauthn:
      enabled: true
      config:
        rp:
          id: {RP_ID}
          display_name: Bia load
          origins:
            - {ORIGIN}
"""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    return bytes([major << 5 | 24, length])


def cose_key() -> bytes:
    """The COSE (CBOR) form of KEY's public key: EC2, ES256, P-256."""
    numbers = KEY.public_key().public_numbers()
    x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
    out = bytes([0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01])
    out += bytes([0x21]) + cbor_head(2, 32) + x
    out += bytes([0x22]) + cbor_head(2, 32) + y
    return out


def totp_now(secret_b32: str) -> str:
    """RFC 6238: six digits, 30-second steps, HMAC-SHA1."""
    key = base64.b32decode(secret_b32)
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def assertion(options: dict, key_id: bytes, counter: int) -> str:
    """What `navigator.credentials.get` answers to `options`, signed with KEY."""
    client_data = json.dumps({"type": "webauthn.get", "challenge": options["publicKey"]["challenge"],
                              "origin": ORIGIN, "crossOrigin": False}).encode()
    auth_data = hashlib.sha256(RP_ID.encode()).digest() + bytes([0x05]) + struct.pack(">I", counter)
    signature = KEY.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
    return json.dumps({"id": b64url(key_id), "rawId": b64url(key_id), "type": "public-key",
                       "response": {"authenticatorData": b64url(auth_data),
                                    "clientDataJSON": b64url(client_data),
                                    "signature": b64url(signature), "userHandle": None},
                       "extensions": {}})


def key_id(i: int) -> bytes:
    return uuid.uuid5(uuid.NAMESPACE_DNS, f"key{i}.{RP_ID}").bytes


def request(connection, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["X-Session-Token"] = token
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def password_login(connection, address):
    """A native password login; the session token, or None."""
    status, body = request(connection, "GET", "/self-service/login/api")
    if status != 200:
        return None
    flow = json.loads(body)["id"]
    status, body = request(connection, "POST", f"/self-service/login?flow={flow}",
                           {"method": "password", "identifier": address, "password": PASSWORD})
    return json.loads(body)["session_token"] if status == 200 else None


def step_up(connection, token, index, factor):
    """Steps the session behind `token` up with `factor`; True on aal2."""
    status, body = request(connection, "GET", "/self-service/login/api?aal=aal2", token=token)
    if status != 200:
        return False
    flow = json.loads(body)
    if factor == "totp":
        submission = {"method": "totp", "totp_code": totp_now(TOTP_SECRET)}
    else:
        node = next(n for n in flow["ui"]["nodes"]
                    if n["attributes"].get("name") == "webauthn_login_trigger")
        options = json.loads(node["attributes"]["value"])
        submission = {"method": "webauthn", "webauthn_login": assertion(options, key_id(index), 1)}
    status, body = request(connection, "POST", f"/self-service/login?flow={flow['id']}",
                           submission, token=token)
    return status == 200 and b'"aal2"' in body


def logins(public: int, factor: str, indices: list[int], deadline: float, out) -> None:
    """One client process: logins (stepped up with `factor`, unless "password") until the deadline."""
    connection = http.client.HTTPConnection("127.0.0.1", public, timeout=30)
    done = failed = 0
    tokens = []
    for index in indices:
        if time.monotonic() >= deadline:
            break
        token = password_login(connection, load.email("mfa", index))
        if token and (factor == "password" or step_up(connection, token, index, factor)):
            done += 1
            tokens.append(token)
        else:
            failed += 1
    out.put((done, failed, tokens if factor != "password" else []))


def whoamis(public: int, tokens: list[str], deadline: float, out) -> None:
    """One client process: whoami over `tokens` until the deadline."""
    connection = http.client.HTTPConnection("127.0.0.1", public, timeout=30)
    done = failed = 0
    while time.monotonic() < deadline:
        for token in tokens:
            status, _ = request(connection, "GET", "/sessions/whoami", token=token)
            done, failed = (done + 1, failed) if status == 200 else (done, failed + 1)
            if done % 64 == 0 and time.monotonic() >= deadline:
                break
    out.put((done, failed, []))


def run_clients(target, args_for, clients: int, seconds: float, pid: int):
    """Runs `clients` processes pinned to the client core; returns (iterations,
    failures, tokens, wall seconds, server CPU seconds, load average before -> after)."""
    deadline = time.monotonic() + seconds
    load_before = load.loadavg()
    cpu_before, began = load.cpu_seconds(pid), time.monotonic()
    results = load.run_pinned(target, [(*args_for(n), deadline) for n in range(clients)])
    wall, cpu = time.monotonic() - began, load.cpu_seconds(pid) - cpu_before
    tokens = [t for r in results for t in r[2]]
    return (sum(r[0] for r in results), sum(r[1] for r in results), tokens, wall, cpu,
            f"{load_before} -> {load.loadavg()}")


def seed(server, count: int) -> None:
    """`count` identities in Kratos's import format, sharing one argon2id hash."""
    status, body = server.call("POST", "/admin/identities", {
        "schema_id": "default", "traits": {"email": load.email("seed", 0)},
        "credentials": {"password": {"config": {"password": PASSWORD}}}}, admin=True)
    if status != 201:
        sys.exit(f"creating the seed identity answered {status}: {body}")
    status, body = server.call("GET", f"/admin/identities/{body['id']}?include_credential=password",
                               admin=True)
    hashed = body["credentials"]["password"]["config"]["hashed_password"]
    totp_url = f"otpauth://totp/Bia%20load:user?secret={TOTP_SECRET}&issuer=Bia%20load"
    public_key = base64.b64encode(cose_key()).decode()
    connection = http.client.HTTPConnection("127.0.0.1", server.admin, timeout=600)
    for start in range(0, count, 500):
        creates = [{"create": {
            "schema_id": "default", "traits": {"email": load.email("mfa", i)},
            "credentials": {
                "password": {"config": {"hashed_password": hashed}},
                "totp": {"config": {"totp_url": totp_url}},
                "webauthn": {"config": {"credentials": [{
                    "id": base64.b64encode(key_id(i)).decode(), "public_key": public_key,
                    "attestation_type": "none", "display_name": "load key",
                    "authenticator": {"sign_count": 0}}]}}}}}
            for i in range(start, min(start + 500, count))]
        status, body = server.call("PATCH", "/admin/identities", {"identities": creates},
                                   admin=True, connection=connection)
        refused = [r for r in (body or {}).get("identities", []) if r.get("action") != "create"]
        if status != 200 or refused:
            sys.exit(f"batch import answered {status}: {refused[:1] or body}")
    connection.close()


def login_phase(server, name, factor, indices, args):
    shares = [indices[n::args.clients] for n in range(args.clients)]
    load.log(f"{name}: {args.clients} client processes for {args.seconds} s")
    done, failed, tokens, wall, cpu, avg = run_clients(
        logins, lambda n: (server.public, factor, shares[n]), args.clients, args.seconds,
        server.pid)
    if done + failed >= len(indices):
        load.log(f"{name}: every identity was used: raise --identities for a longer run")
    rate = done / wall
    print(f"{name}: {done} in {wall:.1f} s = {rate:.2f}/s, {failed} failed; server CPU "
          f"{cpu / max(done, 1) * 1e3:.1f} ms per login; load {avg}", flush=True)
    if failed:
        sys.exit(f"{failed} {name} failed; see {server.logfile}")
    return rate, cpu / max(done, 1), tokens


def whoami_phase(server, required_aal, tokens, args):
    shares = [tokens[n::args.clients] for n in range(args.clients)]
    done, failed, _, wall, cpu, avg = run_clients(
        whoamis, lambda n: (server.public, shares[n]), args.clients, args.seconds, server.pid)
    per = cpu / max(done, 1) * 1e6
    print(f"whoami, required_aal {required_aal}: {done / wall:.0f}/s, server CPU {per:.1f} µs "
          f"per request, {failed} failed; load {avg}", flush=True)
    if failed:
        sys.exit(f"{failed} whoami requests failed; see {server.logfile}")
    return per


def main() -> None:
    args, bia = load.bench_arguments(__doc__, 1200, [(("--seconds",), {"type": float, "default": 10})])
    scratch = load.ScratchDatabase("mfa", args.postgres)
    workdir, dsn = scratch.workdir, scratch.dsn
    backend = "PostgreSQL" if args.postgres else "SQLite"
    server = load.Server(bia, workdir, "mfa", dsn)
    base_config = Path(server.config).read_text().replace("secrets:\n", CIPHER, 1) + MFA_CONFIG
    Path(server.config).write_text(base_config)
    half = args.identities // 2
    try:
        server.migrate()
        server.start(cpus=load.SERVER_CPU)
        load.log(f"{backend}: seeding {args.identities} identities (load {load.loadavg()})")
        seed(server, args.identities)
        password, password_cpu, _ = login_phase(
            server, "password logins", "password", list(range(args.identities)), args)
        totp, totp_cpu, totp_tokens = login_phase(
            server, "password + TOTP logins", "totp", list(range(half)), args)
        keys, keys_cpu, key_tokens = login_phase(
            server, "password + WebAuthn logins", "webauthn", list(range(half, args.identities)),
            args)
        tokens = totp_tokens + key_tokens
        whoami = {}
        for required in ("aal1", "highest_available"):
            server.stop()
            Path(server.config).write_text(
                base_config + f"session:\n  whoami:\n    required_aal: {required}\n")
            server.start(cpus=load.SERVER_CPU)
            whoami[required] = whoami_phase(server, required, tokens, args)
    finally:
        server.stop()
        scratch.close()
    print(f"ratios ({backend}):")
    print(f"  password + TOTP logins/s ÷ password logins/s = {totp / password:.2f} "
          f"(server CPU per login {totp_cpu / password_cpu:.2f}x)")
    print(f"  password + WebAuthn logins/s ÷ password logins/s = {keys / password:.2f} "
          f"(server CPU per login {keys_cpu / password_cpu:.2f}x)")
    print(f"  whoami server CPU per request, highest_available ÷ aal1 = "
          f"{whoami['highest_available'] / whoami['aal1']:.2f}")


if __name__ == "__main__":
    main()
