"""The `bia` admin client commands against a running server, checked through the SDK."""

from __future__ import annotations

import json
import subprocess
import uuid

from hashes import bcrypt_hash
from support import all_identities, bia_bin, create, unique_email

COUNT = 200


def bia(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([bia_bin(), *args], capture_output=True, text=True, timeout=timeout)


def test_import_and_list_identities(identity_api, server, tmp_path):
    marker = "imp" + uuid.uuid4().hex[:8]
    identities = []
    for n in range(COUNT):
        email = f"{marker}-{n:03d}@example.org"
        identities.append(
            {
                "schema_id": "default",
                "traits": {"email": email, "name": {"given": f"Given{n}"}},
                "metadata_public": {"n": n},
                "credentials": {
                    "password": {"config": {"hashed_password": bcrypt_hash(f"import-pw-{n}")}}
                },
            }
        )
    source = tmp_path / "identities.json"
    source.write_text(json.dumps(identities))
    before = set(all_identities(identity_api))

    imported = bia("import", "identities", str(source), "--endpoint", server.admin_url)
    assert imported.returncode == 0, imported.stderr
    ids = [line.strip() for line in imported.stdout.splitlines() if line.strip()]
    assert len(ids) == COUNT, imported.stdout
    for identity_id in ids:
        uuid.UUID(identity_id)
    assert len(set(ids)) == COUNT
    assert set(all_identities(identity_api)) - before == set(ids)

    # Every identity landed with its own hash, in input order.
    for n in (0, 1, 99, COUNT - 1):
        identity = identity_api.get_identity(ids[n], include_credential=["password"])
        assert identity.traits["email"] == identities[n]["traits"]["email"]
        assert identity.metadata_public == {"n": n}
        assert identity.credentials["password"].identifiers == [identities[n]["traits"]["email"]]
        assert (
            identity.credentials["password"].config["hashed_password"]
            == identities[n]["credentials"]["password"]["config"]["hashed_password"]
        )

    for extra in ([], ["--page-size", "7"]):
        listed = bia("list", "identities", "--endpoint", server.admin_url, "--all", "--format", "json", *extra)
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        assert isinstance(rows, list)
        listed_ids = [row["id"] for row in rows]
        assert len(listed_ids) == len(set(listed_ids)), f"duplicates in the listing ({extra})"
        assert set(listed_ids) == set(all_identities(identity_api))
        by_email = {row["traits"]["email"]: row["id"] for row in rows if "email" in row["traits"]}
        for n, identity in enumerate(identities):
            assert by_email.get(identity["traits"]["email"]) == ids[n]


def test_import_reports_failures(identity_api, server, tmp_path):
    taken = create(identity_api).traits["email"]
    fresh = unique_email("cli-fresh")
    source = tmp_path / "mixed.json"
    source.write_text(
        json.dumps(
            [
                {"schema_id": "default", "traits": {"email": fresh}},
                {"schema_id": "default", "traits": {"email": taken},
                 "credentials": {"password": {"config": {"password": "cli-duplicate"}}}},
            ]
        )
    )
    result = bia("import", "identities", str(source), "--endpoint", server.admin_url)
    assert result.returncode != 0
    assert result.stderr.strip()
    # The batch keeps the valid identity and rejects only the duplicate.
    assert len(identity_api.list_identities(credentials_identifier=fresh)) == 1
    assert len(identity_api.list_identities(credentials_identifier=taken)) == 1


def test_import_single_object_and_get_delete(identity_api, server, tmp_path):
    email = unique_email("cli-one")
    hashed = bcrypt_hash("cli-one-password")
    source = tmp_path / "one.json"
    source.write_text(
        json.dumps(
            {
                "schema_id": "default",
                "traits": {"email": email},
                "credentials": {"password": {"config": {"hashed_password": hashed}}},
            }
        )
    )
    imported = bia("import", "identities", str(source), "--endpoint", server.admin_url)
    assert imported.returncode == 0, imported.stderr
    [identity_id] = imported.stdout.split()

    got = bia("get", "identity", identity_id, "-i", "password", "--format", "json",
              "--endpoint", server.admin_url)
    assert got.returncode == 0, got.stderr
    body = json.loads(got.stdout)
    assert body["id"] == identity_id
    assert body["credentials"]["password"]["config"]["hashed_password"] == hashed

    deleted = bia("delete", "identity", identity_id, "--endpoint", server.admin_url)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.split() == [identity_id]
    assert identity_api.list_identities(ids=[identity_id]) == []


def test_migrate_sql_takes_the_dsn_as_first_argument(tmp_path):
    """Kratos's form: `migrate sql <DSN> --yes` and `migrate sql --yes <DSN>` apply every migration."""
    for n, args in enumerate((["--yes", "{dsn}"], ["{dsn}", "--yes"])):
        dsn = f"sqlite://{tmp_path / f'migrate-{n}.db'}"
        result = bia("migrate", "sql", *[a.format(dsn=dsn) for a in args])
        assert result.returncode == 0, f"bia migrate sql {' '.join(args)}: {result.stderr}"
        status = bia("migrate", "sql", "status", dsn)
        assert status.returncode == 0, status.stderr
        assert "Pending" not in status.stdout, status.stdout
