#!/usr/bin/env python3
"""Schema migrations: identities moved per second by `POST /admin/bia/schema-migrations`
(with a Jsonnet transform), against the server's raw identity update rate (`PUT
/admin/identities/{id}` of the same identities with the traits the transform gives), at the
same client concurrency.

Seeds N identities on schema `default` (config/identity.schema.json) through the batch
import, then measures, each over every identity:

  0. a dry run default -> v2, one client (the operator's first pass, before anything moves)
  1. migration default -> v2, one client looping over the cursor (as `bia identities
     migrate-schema` and the operator drive it)
  2. PUT /admin/identities/{id} on v2, `--clients` processes, each on its share of the ids
  3. migration v2 -> v3, `--clients` processes, each starting at its own cursor (its share of
     the id space) and stopping past it; a last pass from no cursor takes what they skipped

v2 requires `name.first`, which the transform derives from the email; v3 adds an optional
nickname. The server is pinned to core 0 (the Jsonnet evaluator processes it starts inherit
that) and the clients to core 1, as in `scripts/load`. Server CPU includes its evaluator
children.

Usage: scripts/load.d/schema_migration_bench.py [--identities 100000] [--clients 4]
       [--batch-size 500] [--bin PATH] [--postgres]
Needs a release `bia` ($CARGO_TARGET_DIR/release/bia unless --bin). PostgreSQL from BIA_LOAD_PG
(default postgres://postgres@127.0.0.1:5432), a fresh database per run.
"""

from __future__ import annotations

import http.client
import importlib.machinery
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
load = importlib.machinery.SourceFileLoader("bia_load", str(ROOT / "scripts" / "load")).load_module()

TRANSFORM = """function(ctx)
  local t = ctx.identity.traits;
  { traits: t + { name: { first: std.split(t.email, '@')[0], last: 'Migrated' } } }
"""


def schemas(workdir: str) -> str:
    """Writes v2 and v3 next to the config and returns the config lines naming them."""
    base = json.loads((ROOT / "config" / "identity.schema.json").read_text())
    v2 = json.loads(json.dumps(base))
    v2["$id"] = "https://bia.dev/schemas/person.v2.schema.json"
    v2["properties"]["traits"]["properties"]["name"]["required"] = ["first"]
    v2["properties"]["traits"]["required"] = ["email", "name"]
    v3 = json.loads(json.dumps(v2))
    v3["$id"] = "https://bia.dev/schemas/person.v3.schema.json"
    v3["properties"]["traits"]["properties"]["nickname"] = {"type": "string"}
    lines = []
    for name, document in (("v2", v2), ("v3", v3)):
        path = os.path.join(workdir, f"{name}.schema.json")
        Path(path).write_text(json.dumps(document))
        lines.append(f"    - id: {name}\n      url: file://{path}\n")
    return "".join(lines)


def post(connection, path: str, body: dict) -> dict:
    connection.request("POST", path, body=json.dumps(body).encode(),
                       headers={"Content-Type": "application/json", "Accept": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}: {payload[:300]!r}")
    return json.loads(payload)


def migrate_range(admin: int, source: str, target: str, batch: int, start, stop, out,
                  dry_run: bool = False) -> None:
    """One client: batches from cursor `start` until the cursor passes `stop` (None: the end)."""
    connection = http.client.HTTPConnection("127.0.0.1", admin, timeout=600)
    after, totals = start, {"migrated": 0, "skipped": 0, "failed_count": 0, "requests": 0}
    while True:
        report = post(connection, "/admin/bia/schema-migrations", {
            "from_schema_id": source, "to_schema_id": target, "transform": TRANSFORM,
            "batch_size": batch, "after": after, "dry_run": dry_run})
        totals["requests"] += 1
        for key in ("migrated", "skipped", "failed_count"):
            totals[key] += report[key]
        if report["failed"] and "reason" not in totals:
            totals["reason"] = report["failed"][0]["reason"]
        after = report["next"]
        if after is None or (stop is not None and after >= stop):
            break
    out.put(totals)


def put_share(admin: int, ids: list[str], schema: str, out) -> None:
    """One client: PUT each identity with the traits the transform would give; a 503 (SQLite
    busy past its timeout, pool exhausted) is retried and counted."""
    connection = http.client.HTTPConnection("127.0.0.1", admin, timeout=600)
    done = retried = 0
    for n, identity in ids:
        email = load.email("mig", n)
        body = json.dumps({"schema_id": schema, "state": "active", "traits": {
            "email": email, "name": {"first": email.split("@")[0], "last": "Put"}}}).encode()
        for _ in range(50):
            connection.request("PUT", f"/admin/identities/{identity}", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 503:
                break
            retried += 1
            time.sleep(0.05)
        if response.status != 200:
            out.put({"migrated": done, "retried_503": retried, "error": f"PUT {response.status}"})
            return
        done += 1
    out.put({"migrated": done, "retried_503": retried})


def dry_range(admin: int, source: str, target: str, batch: int, out) -> None:
    """One client: a dry-run pass over every identity (nothing is written)."""
    migrate_range(admin, source, target, batch, None, None, out, dry_run=True)


def run_clients(target, argument_lists, pid: int):
    """Runs one process per argument list on the client core; (totals, wall s, server CPU s)."""
    cpu_before, began = load.cpu_with_children(pid), time.monotonic()
    results = load.run_pinned(target, argument_lists)
    totals: dict[str, int] = {}
    for result in results:
        for key, value in result.items():
            totals[key] = value if isinstance(value, str) else totals.get(key, 0) + value
    return totals, time.monotonic() - began, load.cpu_with_children(pid) - cpu_before


def count_on(server, schema: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.admin, timeout=600)
    report = post(connection, "/admin/bia/schema-migrations", {
        "from_schema_id": schema, "to_schema_id": "v3" if schema != "v3" else "v2",
        "dry_run": True, "batch_size": 1})
    return report["examined"] + report["remaining"]


def measure(args, server, ids):
    n, clients, batch = args.identities, args.clients, args.batch_size
    load.log(f"dry run default -> v2 with a transform, one client, batch {batch}")
    dry, dry_wall, dry_cpu = run_clients(
        dry_range, [(server.admin, "default", "v2", batch)], server.pid)
    assert dry["migrated"] == n and count_on(server, "default") == n, dry
    load.log(f"migration default -> v2 with a transform, one client, batch {batch}")
    one, one_wall, one_cpu = run_clients(
        migrate_range, [(server.admin, "default", "v2", batch, None, None)], server.pid)
    assert one["migrated"] == n and count_on(server, "default") == 0, one
    load.log(f"PUT /admin/identities/{{id}} on v2, {clients} client processes")
    numbered = sorted(enumerate(ids), key=lambda pair: pair[1])
    shares = [numbered[k::clients] for k in range(clients)]
    put, put_wall, put_cpu = run_clients(
        put_share, [(server.admin, share, "v2") for share in shares], server.pid)
    load.log(f"migration v2 -> v3 with a transform, {clients} clients on their own cursor ranges")
    ordered = sorted(ids)
    bounds = [None] + [ordered[k * n // clients - 1] for k in range(1, clients)] + [None]
    ranges = [(server.admin, "v2", "v3", batch, bounds[k], bounds[k + 1]) for k in range(clients)]
    many, many_wall, many_cpu = run_clients(migrate_range, ranges, server.pid)
    if count_on(server, "v2"):
        last, last_wall, last_cpu = run_clients(
            migrate_range, [(server.admin, "v2", "v3", batch, None, None)], server.pid)
        many["migrated"] += last["migrated"]
        many_wall, many_cpu = many_wall + last_wall, many_cpu + last_cpu
    assert many["migrated"] == n and count_on(server, "v2") == 0, many
    return [
        ("dry run, 1 client", dry["migrated"], dry_wall, dry_cpu, dry),
        ("migration, 1 client", one["migrated"], one_wall, one_cpu, one),
        (f"PUT, {clients} clients", put["migrated"], put_wall, put_cpu, put),
        (f"migration, {clients} clients", many["migrated"], many_wall, many_cpu, many),
    ]


def main() -> None:
    args, bia = load.bench_arguments(__doc__, 100000, [(("--batch-size",), {"type": int, "default": 500})])
    scratch = load.ScratchDatabase("migration", args.postgres)
    workdir, dsn = scratch.workdir, scratch.dsn
    server = load.Server(bia, workdir, "migration", dsn)
    text = Path(server.config).read_text()
    marker = "      url: file://" + load.SCHEMA + "\n"
    Path(server.config).write_text(text.replace(marker, marker + schemas(workdir)))
    try:
        server.migrate()
        server.start(cpus=load.SERVER_CPU)
        load.log(f"seeding {args.identities} identities")
        ids = load.import_identities(server, args.identities, prefix="mig")
        rows = measure(args, server, ids)
    finally:
        server.stop()
        scratch.close()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{backend}, {args.identities} identities, batch {args.batch_size}")
    for name, count, wall, cpu, totals in rows:
        print(f"{name:<24} {count / wall:8.0f} identities/s  ({count} in {wall:.1f} s; server CPU "
              f"{cpu / max(count, 1) * 1e3:.2f} ms per identity; {totals})")
    rate = {name: count / wall for name, count, wall, _, _ in rows}
    dry, one, put, many = (rate[row[0]] for row in rows)
    print(f"ratio: migration/s ÷ PUT/s = {one / put:.2f} (1 client), "
          f"{many / put:.2f} ({args.clients} clients)")
    # The operator runs a dry run, then one client's migration: its end-to-end rate.
    operator = 1 / (1 / dry + 1 / one)
    print(f"operator rollout (dry run + migration, 1 client): {operator:.0f} identities/s, "
          f"{operator / put:.2f} × the PUT rate")


if __name__ == "__main__":
    main()
