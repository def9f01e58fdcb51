"""Health, version and identity-schema endpoints through the SDK."""

import base64
import json

from ory_kratos_client.models.identity_schema_container import IdentitySchemaContainer

from support import SCHEMAS, create, expect_error


def b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_health_alive_and_ready(metadata_api, public_metadata_api):
    for api in (metadata_api, public_metadata_api):
        alive = api.is_alive_with_http_info()
        assert alive.status_code == 200
        assert alive.data.status == "ok"
        ready = api.is_ready_with_http_info()
        assert ready.status_code == 200
        assert ready.data.status == "ok"


def test_version(metadata_api):
    response = metadata_api.get_version_with_http_info()
    assert response.status_code == 200
    assert response.data.version.strip()


def test_list_identity_schemas(identity_api):
    response = identity_api.list_identity_schemas_with_http_info()
    assert response.status_code == 200
    schemas = {s.id: s for s in response.data}
    assert set(schemas) == set(SCHEMAS)
    for sid, path in SCHEMAS.items():
        assert isinstance(schemas[sid], IdentitySchemaContainer)
        assert schemas[sid].var_schema == json.loads(path.read_text())


def test_list_identity_schemas_paginated(identity_api):
    first = identity_api.list_identity_schemas(per_page=1)
    assert len(first) == 1
    assert first[0].id in SCHEMAS


def test_get_identity_schema_by_plain_and_encoded_id(identity_api):
    for sid, path in SCHEMAS.items():
        expected = json.loads(path.read_text())
        assert identity_api.get_identity_schema(sid) == expected
        assert identity_api.get_identity_schema(b64url(sid)) == expected


def test_get_unknown_identity_schema(identity_api):
    expect_error(404, identity_api.get_identity_schema, "no-such-schema")


def test_schema_url_points_at_public_schema_endpoint(identity_api, public_identity_api, server):
    identity = create(identity_api)
    assert identity.schema_url == f"{server.public_url}schemas/{b64url('default')}"
    schema_id = identity.schema_url.rsplit("/", 1)[1]
    assert public_identity_api.get_identity_schema(schema_id) == json.loads(
        SCHEMAS["default"].read_text()
    )
