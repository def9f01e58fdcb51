"""What Ory's UIs do with the SDK: a base URL that ends in a slash (every call
goes to `//...` and must reach its endpoint through Bia's redirect to the clean
path) and the recovery and verification flows, which this version answers as
disabled, as Kratos does for a switched-off flow."""

from __future__ import annotations

import ory_kratos_client
import pytest
from ory_kratos_client.api.frontend_api import FrontendApi
from ory_kratos_client.api.identity_api import IdentityApi

from support import expect_error, unique_email
from test_native_flows import login_body, registration_body


@pytest.fixture
def slash_frontend(server):
    configuration = ory_kratos_client.Configuration(host=server.public_url.rstrip("/") + "/")
    with ory_kratos_client.ApiClient(configuration) as client:
        yield FrontendApi(client)


def test_a_base_url_ending_in_a_slash_works(slash_frontend, server):
    email = unique_email("slash")
    flow = slash_frontend.create_native_registration_flow()
    done = slash_frontend.update_registration_flow(flow=flow.id, update_registration_flow_body=registration_body(email))
    assert done.identity.traits["email"] == email
    flow = slash_frontend.create_native_login_flow()
    signed_in = slash_frontend.update_login_flow(flow=flow.id, update_login_flow_body=login_body(email))
    session = slash_frontend.to_session(x_session_token=signed_in.session_token)
    assert session.identity.traits["email"] == email

    configuration = ory_kratos_client.Configuration(host=server.admin_url.rstrip("/") + "/")
    with ory_kratos_client.ApiClient(configuration) as client:
        fetched = IdentityApi(client).get_identity(id=done.identity.id)
    assert fetched.traits["email"] == email


@pytest.mark.parametrize(
    "call, reason",
    [
        (lambda api: api.create_native_recovery_flow(), "Recovery is not allowed because it was disabled."),
        (lambda api: api.create_browser_recovery_flow(), "Recovery is not allowed because it was disabled."),
        (lambda api: api.get_recovery_flow(id="x"), "Recovery is not allowed because it was disabled."),
        (
            lambda api: api.create_native_verification_flow(),
            "Verification is not allowed because it was disabled.",
        ),
        (
            lambda api: api.get_verification_flow(id="x"),
            "Verification is not allowed because it was disabled.",
        ),
    ],
)
def test_recovery_and_verification_answer_disabled(frontend, call, reason):
    error = expect_error(400, call, frontend)
    assert error["reason"] == reason
