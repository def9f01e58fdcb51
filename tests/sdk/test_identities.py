"""Create, get, update, patch and delete identities through the official SDK."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import datetime

import pytest
from ory_kratos_client.models.identity import Identity
from ory_kratos_client.models.identity_with_credentials import IdentityWithCredentials
from ory_kratos_client.models.identity_with_credentials_oidc import IdentityWithCredentialsOidc
from ory_kratos_client.models.identity_with_credentials_oidc_config import (
    IdentityWithCredentialsOidcConfig,
)
from ory_kratos_client.models.identity_with_credentials_oidc_config_provider import (
    IdentityWithCredentialsOidcConfigProvider,
)
from ory_kratos_client.models.json_patch import JsonPatch
from ory_kratos_client.models.update_identity_body import UpdateIdentityBody
from ory_kratos_client.models.verifiable_identity_address import VerifiableIdentityAddress

from hashes import FORMATS, bcrypt_hash, bcrypt_matches
from support import (
    all_identities,
    create,
    create_body,
    dump,
    expect_error,
    password_credentials,
    unique_email,
)


def oidc_credentials(*pairs: tuple[str, str]) -> IdentityWithCredentials:
    return IdentityWithCredentials(
        oidc=IdentityWithCredentialsOidc(
            config=IdentityWithCredentialsOidcConfig(
                providers=[
                    IdentityWithCredentialsOidcConfigProvider(provider=p, subject=s) for p, s in pairs
                ]
            )
        )
    )


def full(api, identity_id: str) -> dict:
    """The identity with every credential's config, as plain JSON."""
    return dump(api.get_identity(identity_id, include_credential=["password", "oidc"]))


def find(api, identifier: str) -> list[Identity]:
    return api.list_identities(credentials_identifier=identifier)


def hashed_password(api, identity_id: str) -> str:
    identity = api.get_identity(identity_id, include_credential=["password"])
    return identity.credentials["password"].config["hashed_password"]


# --------------------------------------------------------------------------- create


def test_create_minimal_identity(identity_api, server):
    email = unique_email("minimal")
    before = time.time()
    response = identity_api.create_identity_with_http_info(create_identity_body=create_body(email))
    assert response.status_code == 201
    identity = response.data
    assert isinstance(identity, Identity)
    uuid.UUID(identity.id)
    assert identity.schema_id == "default"
    assert identity.schema_url.startswith(server.public_url)
    assert identity.state == "active"
    assert identity.traits == {"email": email}
    assert isinstance(identity.created_at, datetime) and isinstance(identity.updated_at, datetime)
    assert identity.created_at.timestamp() >= before - 5
    assert identity.state_changed_at is not None

    [verifiable] = identity.verifiable_addresses
    assert (verifiable.value, verifiable.via, verifiable.verified) == (email, "email", False)
    assert verifiable.status == "pending"
    assert verifiable.verified_at is None
    [recovery] = identity.recovery_addresses
    assert (recovery.value, recovery.via) == (email, "email")

    fetched = identity_api.get_identity_with_http_info(identity.id)
    assert fetched.status_code == 200
    assert fetched.data.id == identity.id
    assert fetched.data.traits == {"email": email}
    assert fetched.data.verifiable_addresses[0].value == email


def test_create_with_every_field(identity_api):
    email = unique_email("full")
    external_id = "ext-" + uuid.uuid4().hex
    identity = create(
        identity_api,
        traits={"email": email, "name": {"given": "Ada", "family": "Lovelace"}},
        external_id=external_id,
        state="inactive",
        metadata_public={"plan": "gold", "tags": ["a", "b"]},
        metadata_admin={"notes": "vip", "score": 7},
        credentials=password_credentials(password="correct horse battery staple"),
    )
    assert identity.state == "inactive"
    assert identity.external_id == external_id
    assert identity.traits == {"email": email, "name": {"given": "Ada", "family": "Lovelace"}}
    assert identity.metadata_public == {"plan": "gold", "tags": ["a", "b"]}
    assert identity.metadata_admin == {"notes": "vip", "score": 7}

    fetched = identity_api.get_identity(identity.id)
    assert fetched.external_id == external_id
    assert fetched.metadata_public == {"plan": "gold", "tags": ["a", "b"]}
    assert fetched.metadata_admin == {"notes": "vip", "score": 7}
    assert fetched.state == "inactive"


def test_get_without_and_with_credentials(identity_api):
    email = unique_email("creds")
    identity = create(identity_api, email, credentials=password_credentials(password="s3cret-Passw0rd!"))

    plain = identity_api.get_identity(identity.id)
    password = plain.credentials["password"]
    assert password.type == "password"
    assert password.identifiers == [email]
    assert not password.config, f"config shown without include_credential: {password.config}"

    included = identity_api.get_identity(identity.id, include_credential=["password"])
    config = included.credentials["password"].config
    assert config["hashed_password"].startswith("$2a$04$"), config
    assert bcrypt_matches("s3cret-Passw0rd!", config["hashed_password"])
    assert not bcrypt_matches("wrong", config["hashed_password"])


def test_create_normalizes_email_identifiers(identity_api):
    local = "Mixed.Case-" + uuid.uuid4().hex[:8]
    email = f"{local}@Example.ORG"
    identity = create(identity_api, email, credentials=password_credentials(password="pw-123456789"))
    assert identity.traits == {"email": email}
    fetched = identity_api.get_identity(identity.id)
    assert fetched.credentials["password"].identifiers == [email.lower()]
    assert [a.value for a in fetched.verifiable_addresses] == [email.lower()]
    assert [a.value for a in fetched.recovery_addresses] == [email.lower()]
    assert [i.id for i in find(identity_api, email.lower())] == [identity.id]


def test_create_with_verified_address(identity_api):
    email = unique_email("verified")
    identity = create(
        identity_api,
        email,
        verifiable_addresses=[
            VerifiableIdentityAddress(value=email, via="email", verified=True, status="completed")
        ],
    )
    [address] = identity_api.get_identity(identity.id).verifiable_addresses
    assert address.value == email
    assert address.verified is True
    assert address.status == "completed"


def test_create_with_username_schema(identity_api):
    username = "op-" + uuid.uuid4().hex[:10]
    identity = create(
        identity_api,
        schema_id="operator",
        traits={"username": username},
        credentials=password_credentials(password="operator-password"),
    )
    assert identity.schema_id == "operator"
    assert identity.verifiable_addresses == [] or identity.verifiable_addresses is None
    fetched = identity_api.get_identity(identity.id)
    assert fetched.credentials["password"].identifiers == [username]
    assert [i.id for i in find(identity_api, username)] == [identity.id]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_import_hashed_password(identity_api, fmt):
    hashed = FORMATS[fmt]("imported-password")
    email = unique_email("hash-" + fmt)
    identity = create(identity_api, email, credentials=password_credentials(hashed=hashed))
    assert hashed_password(identity_api, identity.id) == hashed
    assert identity_api.get_identity(identity.id).credentials["password"].identifiers == [email]


def test_import_oidc_credentials(identity_api):
    subject = uuid.uuid4().hex
    identity = create(
        identity_api,
        credentials=oidc_credentials(("google", subject), ("github", subject)),
    )
    fetched = identity_api.get_identity(identity.id, include_credential=["oidc"])
    oidc = fetched.credentials["oidc"]
    assert sorted(oidc.identifiers) == sorted([f"google:{subject}", f"github:{subject}"])
    providers = {(p["provider"], p["subject"]) for p in oidc.config["providers"]}
    assert providers == {("google", subject), ("github", subject)}
    assert [i.id for i in find(identity_api, f"github:{subject}")] == [identity.id]


def test_import_password_and_oidc_together(identity_api):
    subject = uuid.uuid4().hex
    email = unique_email("both")
    hashed = bcrypt_hash("both-password")
    credentials = password_credentials(hashed=hashed)
    credentials.oidc = oidc_credentials(("google", subject)).oidc
    identity = create(identity_api, email, credentials=credentials)
    fetched = identity_api.get_identity(identity.id, include_credential=["password", "oidc"])
    assert set(fetched.credentials) >= {"password", "oidc"}
    assert fetched.credentials["password"].config["hashed_password"] == hashed
    assert fetched.credentials["oidc"].identifiers == [f"google:{subject}"]


# --------------------------------------------------------------------------- create errors


def _unknown_credential_type(email):
    credentials = IdentityWithCredentials.from_dict(
        {"password": {"config": {"password": "a-long-password"}}, "carrier_pigeon": {"config": {}}}
    )
    return create_body(email, credentials=credentials)


CREATE_ERRORS = {
    "missing required trait": (400, lambda email: create_body(traits={"name": {"given": "x"}})),
    "trait of the wrong type": (400, lambda email: create_body(traits={"email": 42})),
    "trait not an email": (400, lambda email: create_body(traits={"email": "not-an-email"})),
    "unknown trait": (400, lambda email: create_body(traits={"email": email, "shoe_size": 44})),
    "unknown schema": (400, lambda email: create_body(email, schema_id="no-such-schema")),
    "invalid state": (
        400,
        lambda email: create_body(email).model_copy(update={"state": "frozen"}),
    ),
    "unknown credential type": (400, _unknown_credential_type),
    "unsupported hash format": (
        400,
        lambda email: create_body(email, credentials=password_credentials(hashed="$nope$abc$def")),
    ),
    "hash that is not a hash": (
        400,
        lambda email: create_body(email, credentials=password_credentials(hashed="plain text")),
    ),
}


@pytest.mark.parametrize("case", list(CREATE_ERRORS))
def test_create_rejects_invalid_input(identity_api, case):
    status, make = CREATE_ERRORS[case]
    email = unique_email("bad")
    before = set(all_identities(identity_api))
    expect_error(status, identity_api.create_identity, create_identity_body=make(email))
    assert set(all_identities(identity_api)) == before
    assert find(identity_api, email) == []


def test_create_duplicate_identifier_conflicts(identity_api):
    email = unique_email("dup")
    first = create(identity_api, email, credentials=password_credentials(password="first-password"))
    before = all_identities(identity_api)
    for variant in (email, email.upper()):
        expect_error(
            409,
            identity_api.create_identity,
            create_identity_body=create_body(
                variant, credentials=password_credentials(password="second-password")
            ),
        )
    after = all_identities(identity_api)
    assert set(after) == set(before)
    assert [i.id for i in find(identity_api, email)] == [first.id]
    assert bcrypt_matches("first-password", hashed_password(identity_api, first.id))


def test_create_duplicate_oidc_subject_conflicts(identity_api):
    subject = uuid.uuid4().hex
    create(identity_api, credentials=oidc_credentials(("google", subject)))
    before = set(all_identities(identity_api))
    expect_error(
        409,
        identity_api.create_identity,
        create_identity_body=create_body(credentials=oidc_credentials(("google", subject))),
    )
    assert set(all_identities(identity_api)) == before


def test_create_duplicate_external_id_conflicts(identity_api):
    external_id = "ext-" + uuid.uuid4().hex
    create(identity_api, external_id=external_id)
    before = set(all_identities(identity_api))
    second = unique_email("ext-dup")
    expect_error(
        409,
        identity_api.create_identity,
        create_identity_body=create_body(second, external_id=external_id),
    )
    assert set(all_identities(identity_api)) == before
    assert find(identity_api, second) == []


# --------------------------------------------------------------------------- get


def test_get_unknown_identity(identity_api):
    expect_error(404, identity_api.get_identity, str(uuid.uuid4()))
    expect_error(404, identity_api.get_identity, "not-a-uuid")


def test_get_by_external_id(identity_api):
    external_id = "crm/" + uuid.uuid4().hex
    identity = create(identity_api, external_id=external_id, credentials=password_credentials(password="pw-external"))
    response = identity_api.get_identity_by_external_id_with_http_info(external_id)
    assert response.status_code == 200
    assert response.data.id == identity.id
    assert response.data.external_id == external_id
    assert not response.data.credentials["password"].config

    with_creds = identity_api.get_identity_by_external_id(external_id, include_credential=["password"])
    assert bcrypt_matches("pw-external", with_creds.credentials["password"].config["hashed_password"])

    expect_error(404, identity_api.get_identity_by_external_id, "no-such-" + uuid.uuid4().hex)


def test_admin_routes_answer_without_prefix(identity_api, server):
    identity = create(identity_api)
    with urllib.request.urlopen(f"{server.admin_url}identities/{identity.id}", timeout=10) as resp:
        assert resp.status == 200
        body = json.loads(resp.read())
    assert body["id"] == identity.id
    assert Identity.from_dict(body).traits == identity.traits


# --------------------------------------------------------------------------- update (PUT)


def test_update_identity(identity_api):
    old_email, new_email = unique_email("put-old"), unique_email("put-new")
    identity = create(
        identity_api, old_email, credentials=password_credentials(password="unchanged-password")
    )
    time.sleep(1.1)  # MySQL-family timestamps may keep whole seconds only
    response = identity_api.update_identity_with_http_info(
        identity.id,
        update_identity_body=UpdateIdentityBody(
            schema_id="default",
            state="inactive",
            traits={"email": new_email, "name": {"given": "Grace"}},
            metadata_public={"v": 2},
            metadata_admin={"reviewed": True},
            external_id="ext-" + uuid.uuid4().hex,
        ),
    )
    assert response.status_code == 200
    updated = response.data
    assert updated.id == identity.id
    assert updated.state == "inactive"
    assert updated.traits == {"email": new_email, "name": {"given": "Grace"}}
    assert updated.metadata_public == {"v": 2}
    assert updated.metadata_admin == {"reviewed": True}
    assert updated.created_at == identity.created_at
    assert updated.updated_at >= identity.updated_at
    assert updated.state_changed_at > identity.state_changed_at

    fetched = identity_api.get_identity(identity.id, include_credential=["password"])
    assert fetched.traits == updated.traits
    assert [a.value for a in fetched.verifiable_addresses] == [new_email]
    assert [a.value for a in fetched.recovery_addresses] == [new_email]
    assert fetched.credentials["password"].identifiers == [new_email]
    assert bcrypt_matches("unchanged-password", fetched.credentials["password"].config["hashed_password"])
    assert find(identity_api, old_email) == []
    assert [i.id for i in find(identity_api, new_email)] == [identity.id]


def test_update_identity_replaces_password(identity_api):
    email = unique_email("put-pw")
    identity = create(identity_api, email, credentials=password_credentials(password="old-password-1"))
    identity_api.update_identity(
        identity.id,
        update_identity_body=UpdateIdentityBody(
            schema_id="default",
            state="active",
            traits={"email": email},
            credentials=password_credentials(password="new-password-2"),
        ),
    )
    hashed = hashed_password(identity_api, identity.id)
    assert bcrypt_matches("new-password-2", hashed)
    assert not bcrypt_matches("old-password-1", hashed)


def test_update_identity_changes_schema(identity_api):
    identity = create(identity_api)
    username = "moved-" + uuid.uuid4().hex[:8]
    updated = identity_api.update_identity(
        identity.id,
        update_identity_body=UpdateIdentityBody(
            schema_id="operator", state="active", traits={"username": username}
        ),
    )
    assert updated.schema_id == "operator"
    assert updated.traits == {"username": username}
    assert identity_api.get_identity(identity.id).schema_id == "operator"


def _body_without(field: str, email: str) -> UpdateIdentityBody:
    values = {"schema_id": "default", "state": "active", "traits": {"email": email}}
    values.pop(field)
    # Skips the SDK's client-side validation so that the server sees the incomplete body.
    return UpdateIdentityBody.model_construct(**values)


UPDATE_ERRORS = {
    "missing state": (400, lambda email, other: _body_without("state", email)),
    "missing traits": (400, lambda email, other: _body_without("traits", email)),
    "invalid state": (
        400,
        lambda email, other: UpdateIdentityBody.model_construct(
            schema_id="default", state="frozen", traits={"email": email}
        ),
    ),
    "invalid traits": (
        400,
        lambda email, other: UpdateIdentityBody(schema_id="default", state="active", traits={"email": 1}),
    ),
    "unknown schema": (
        400,
        lambda email, other: UpdateIdentityBody(schema_id="nope", state="active", traits={"email": email}),
    ),
    "traits invalid for new schema": (
        400,
        lambda email, other: UpdateIdentityBody(
            schema_id="operator", state="active", traits={"email": email}
        ),
    ),
    "identifier taken": (
        409,
        lambda email, other: UpdateIdentityBody(schema_id="default", state="active", traits={"email": other}),
    ),
}


@pytest.mark.parametrize("case", list(UPDATE_ERRORS))
def test_update_identity_rejects_invalid_input(identity_api, case):
    status, make = UPDATE_ERRORS[case]
    email = unique_email("put-bad")
    other = create(identity_api, credentials=password_credentials(password="other-password"))
    identity = create(identity_api, email, credentials=password_credentials(password="mine-password"))
    before = full(identity_api, identity.id)
    expect_error(
        status,
        identity_api.update_identity,
        identity.id,
        update_identity_body=make(email, other.traits["email"]),
    )
    assert full(identity_api, identity.id) == before
    assert [i.id for i in find(identity_api, other.traits["email"])] == [other.id]


def test_update_unknown_identity(identity_api):
    missing = str(uuid.uuid4())
    expect_error(
        404,
        identity_api.update_identity,
        missing,
        update_identity_body=UpdateIdentityBody(
            schema_id="default", state="active", traits={"email": unique_email()}
        ),
    )


# --------------------------------------------------------------------------- patch (JSON Patch)


def test_patch_identity(identity_api):
    old_email, new_email = unique_email("patch-old"), unique_email("patch-new")
    identity = create(identity_api, old_email, credentials=password_credentials(password="patch-password"))
    time.sleep(1.1)  # MySQL-family timestamps may keep whole seconds only
    response = identity_api.patch_identity_with_http_info(
        identity.id,
        json_patch=[
            JsonPatch(op="replace", path="/traits/email", value=new_email),
            JsonPatch(op="add", path="/traits/name", value={"given": "Alan"}),
            JsonPatch(op="add", path="/metadata_public", value={"role": "editor"}),
            JsonPatch(op="add", path="/metadata_admin", value={"seen": 1}),
            JsonPatch(op="replace", path="/state", value="inactive"),
        ],
    )
    assert response.status_code == 200
    patched = response.data
    assert patched.traits == {"email": new_email, "name": {"given": "Alan"}}
    assert patched.metadata_public == {"role": "editor"}
    assert patched.metadata_admin == {"seen": 1}
    assert patched.state == "inactive"
    assert patched.state_changed_at > identity.state_changed_at

    fetched = identity_api.get_identity(identity.id, include_credential=["password"])
    assert fetched.traits == patched.traits
    assert fetched.credentials["password"].identifiers == [new_email]
    assert bcrypt_matches("patch-password", fetched.credentials["password"].config["hashed_password"])
    assert [a.value for a in fetched.verifiable_addresses] == [new_email]
    assert find(identity_api, old_email) == []


def test_patch_identity_remove_and_test_ops(identity_api):
    identity = create(identity_api, traits={"email": unique_email("patch-rm"), "name": {"given": "Kurt"}})
    patched = identity_api.patch_identity(
        identity.id,
        json_patch=[
            JsonPatch(op="test", path="/traits/name/given", value="Kurt"),
            JsonPatch(op="remove", path="/traits/name"),
        ],
    )
    assert patched.traits == {"email": identity.traits["email"]}


PATCH_ERRORS = {
    "id is read-only": [JsonPatch(op="replace", path="/id", value=str(uuid.uuid4()))],
    "credentials are read-only": [
        JsonPatch(op="add", path="/credentials/password/config", value={"hashed_password": "x"})
    ],
    "state_changed_at is read-only": [
        JsonPatch(op="replace", path="/state_changed_at", value="2001-01-01T00:00:00Z")
    ],
    "traits become invalid": [JsonPatch(op="remove", path="/traits/email")],
    "invalid state": [JsonPatch(op="replace", path="/state", value="frozen")],
    "failed test op": [
        JsonPatch(op="test", path="/state", value="inactive"),
        JsonPatch(op="replace", path="/traits/email", value="never@example.org"),
    ],
    "path does not exist": [JsonPatch(op="replace", path="/traits/nothing/here", value=1)],
    "unknown op": [JsonPatch(op="frobnicate", path="/traits/email", value="x@example.org")],
}


@pytest.mark.parametrize("case", list(PATCH_ERRORS))
def test_patch_identity_rejects_invalid_patches(identity_api, case):
    identity = create(identity_api, credentials=password_credentials(password="keep-password"))
    before = full(identity_api, identity.id)
    expect_error(400, identity_api.patch_identity, identity.id, json_patch=PATCH_ERRORS[case])
    assert full(identity_api, identity.id) == before


def test_patch_identity_identifier_taken(identity_api):
    other = create(identity_api, credentials=password_credentials(password="other-password"))
    identity = create(identity_api, credentials=password_credentials(password="mine-password"))
    before = full(identity_api, identity.id)
    expect_error(
        409,
        identity_api.patch_identity,
        identity.id,
        json_patch=[JsonPatch(op="replace", path="/traits/email", value=other.traits["email"])],
    )
    assert full(identity_api, identity.id) == before


def test_patch_unknown_identity(identity_api):
    expect_error(
        404,
        identity_api.patch_identity,
        str(uuid.uuid4()),
        json_patch=[JsonPatch(op="replace", path="/state", value="inactive")],
    )


# --------------------------------------------------------------------------- delete


def test_delete_identity(identity_api):
    email = unique_email("delete")
    external_id = "ext-" + uuid.uuid4().hex
    identity = create(
        identity_api, email, external_id=external_id, credentials=password_credentials(password="bye-bye-pw")
    )
    response = identity_api.delete_identity_with_http_info(identity.id)
    assert response.status_code == 204
    expect_error(404, identity_api.get_identity, identity.id)
    expect_error(404, identity_api.get_identity_by_external_id, external_id)
    assert find(identity_api, email) == []
    assert identity.id not in all_identities(identity_api)
    expect_error(404, identity_api.delete_identity, identity.id)

    # The identifier and external id are free again.
    again = create(identity_api, email, external_id=external_id)
    assert again.id != identity.id


def test_delete_unknown_identity(identity_api):
    before = set(all_identities(identity_api))
    expect_error(404, identity_api.delete_identity, str(uuid.uuid4()))
    assert set(all_identities(identity_api)) == before


def test_delete_password_credential(identity_api):
    email = unique_email("del-pw")
    identity = create(identity_api, email, credentials=password_credentials(password="to-be-removed"))
    response = identity_api.delete_identity_credentials_with_http_info(identity.id, "password")
    assert response.status_code == 204
    fetched = identity_api.get_identity(identity.id, include_credential=["password"])
    assert fetched.traits == {"email": email}
    # Kratos keeps an identifier-only password credential for schema identifiers; the secret is gone.
    password = (fetched.credentials or {}).get("password")
    assert password is None or not (password.config or {}).get("hashed_password"), password


def test_delete_one_oidc_provider(identity_api):
    subject = uuid.uuid4().hex
    identity = create(identity_api, credentials=oidc_credentials(("google", subject), ("github", subject)))
    response = identity_api.delete_identity_credentials_with_http_info(
        identity.id, "oidc", identifier=f"google:{subject}"
    )
    assert response.status_code == 204
    oidc = identity_api.get_identity(identity.id, include_credential=["oidc"]).credentials["oidc"]
    assert oidc.identifiers == [f"github:{subject}"]
    assert [(p["provider"], p["subject"]) for p in oidc.config["providers"]] == [("github", subject)]
    assert find(identity_api, f"google:{subject}") == []
    assert [i.id for i in find(identity_api, f"github:{subject}")] == [identity.id]


def test_delete_credentials_errors(identity_api):
    subject = uuid.uuid4().hex
    identity = create(
        identity_api,
        credentials=oidc_credentials(("google", subject)),
    )
    before = full(identity_api, identity.id)
    # oidc needs the identifier of the provider link to remove.
    expect_error(400, identity_api.delete_identity_credentials, identity.id, "oidc")
    expect_error(
        404, identity_api.delete_identity_credentials, identity.id, "oidc", identifier="google:other"
    )
    # The identity has no TOTP credential.
    expect_error(404, identity_api.delete_identity_credentials, identity.id, "totp")
    # Unknown identity.
    expect_error(404, identity_api.delete_identity_credentials, str(uuid.uuid4()), "password")
    assert full(identity_api, identity.id) == before
