"""PATCH /admin/identities (batch create) through the SDK."""

from __future__ import annotations

import uuid

from ory_kratos_client.models.batch_patch_identities_response import BatchPatchIdentitiesResponse
from ory_kratos_client.models.identity_patch import IdentityPatch
from ory_kratos_client.models.patch_identities_body import PatchIdentitiesBody

from hashes import bcrypt_hash
from support import all_identities, create, create_body, password_credentials, unique_email


def batch(api, patches: list[IdentityPatch]) -> BatchPatchIdentitiesResponse:
    response = api.batch_patch_identities_with_http_info(
        patch_identities_body=PatchIdentitiesBody(identities=patches)
    )
    assert response.status_code == 200
    assert isinstance(response.data, BatchPatchIdentitiesResponse)
    return response.data


def test_batch_create(identity_api):
    hashed = bcrypt_hash("batch-password")
    emails = [unique_email(f"batch{n}") for n in range(5)]
    patch_ids = [str(uuid.uuid4()) for _ in emails]
    patches = [
        IdentityPatch(
            patch_id=patch_ids[n],
            create=create_body(
                email,
                credentials=password_credentials(hashed=hashed),
                metadata_public={"n": n},
                external_id=f"batch-ext-{uuid.uuid4().hex}",
            ),
        )
        for n, email in enumerate(emails)
    ]
    result = batch(identity_api, patches)
    assert len(result.identities) == 5
    for n, (entry, email) in enumerate(zip(result.identities, emails)):
        assert entry.action == "create", entry
        assert entry.patch_id == patch_ids[n]
        assert entry.error is None
        uuid.UUID(entry.identity)
        identity = identity_api.get_identity(entry.identity, include_credential=["password"])
        assert identity.traits == {"email": email}
        assert identity.metadata_public == {"n": n}
        assert identity.external_id == patches[n].create.external_id
        assert identity.credentials["password"].identifiers == [email]
        assert identity.credentials["password"].config["hashed_password"] == hashed
        assert [a.value for a in identity.verifiable_addresses] == [email]


def test_batch_create_without_patch_ids(identity_api):
    emails = [unique_email("nopid") for _ in range(2)]
    result = batch(identity_api, [IdentityPatch(create=create_body(e)) for e in emails])
    assert [e.action for e in result.identities] == ["create", "create"]
    assert all(e.patch_id is None for e in result.identities)
    got = {identity_api.get_identity(e.identity).traits["email"] for e in result.identities}
    assert got == set(emails)


def test_batch_create_reports_errors_per_identity(identity_api):
    """patch_id is a UUID (Kratos decodes it as one); `name` maps it back to a readable case."""
    taken = create(identity_api, credentials=password_credentials(password="already-here")).traits["email"]
    good_1, good_2, twice = unique_email("ok1"), unique_email("ok2"), unique_email("twice")
    bad_traits_email = unique_email("badtraits")

    def pw(text):
        return password_credentials(password=text)

    cases = [
        ("good-1", create_body(good_1, credentials=pw("pw-good-1"))),
        ("invalid-traits", create_body(traits={"email": bad_traits_email, "extra": True})),
        ("taken", create_body(taken, credentials=pw("pw-taken"))),
        ("unknown-schema", create_body(unique_email("schema"), schema_id="nope")),
        ("twice-a", create_body(twice, credentials=pw("pw-twice"))),
        ("twice-b", create_body(twice, credentials=pw("pw-twice"))),
        ("bad-hash", create_body(unique_email("hash"), credentials=password_credentials(hashed="$what$ever"))),
        ("good-2", create_body(good_2)),
    ]
    pid = {case: str(uuid.uuid4()) for case, _ in cases}
    name = {value: key for key, value in pid.items()}
    patches = [IdentityPatch(patch_id=pid[case], create=body) for case, body in cases]
    before = set(all_identities(identity_api))
    result = batch(identity_api, patches)
    assert [e.patch_id for e in result.identities] == [p.patch_id for p in patches], "order not kept"
    entries = {name[e.patch_id]: e for e in result.identities}

    expected_status = {"invalid-traits": 400, "taken": 409, "unknown-schema": 400, "bad-hash": 400}
    for pid, status in expected_status.items():
        entry = entries[pid]
        assert entry.action == "error", (pid, entry)
        assert entry.identity is None, (pid, entry)
        assert isinstance(entry.error, dict), (pid, entry)
        assert entry.error.get("code") == status, (pid, entry.error)
        assert entry.error.get("message"), (pid, entry.error)

    # Exactly one of the two identical creates wins.
    twice_actions = sorted([entries["twice-a"].action, entries["twice-b"].action])
    assert twice_actions == ["create", "error"], (entries["twice-a"], entries["twice-b"])
    loser = entries["twice-a"] if entries["twice-a"].action == "error" else entries["twice-b"]
    assert loser.error.get("code") == 409, loser.error

    created = {pid: e.identity for pid, e in entries.items() if e.action == "create"}
    assert {"good-1", "good-2"} <= set(created)
    after = set(all_identities(identity_api))
    assert after - before == set(created.values()), "failed entries wrote identities"
    assert identity_api.list_identities(credentials_identifier=bad_traits_email) == []
    assert len(identity_api.list_identities(credentials_identifier=taken)) == 1
    assert len(identity_api.list_identities(credentials_identifier=twice)) == 1
    assert identity_api.get_identity(created["good-2"]).traits == {"email": good_2}


def test_batch_empty(identity_api):
    result = batch(identity_api, [])
    assert result.identities in ([], None)
