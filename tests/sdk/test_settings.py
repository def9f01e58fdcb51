"""Native settings flows through the official SDK's FrontendApi: the password
and profile methods, validation, privileged sessions and refresh logins."""

from __future__ import annotations

import time

import pytest
from ory_kratos_client.exceptions import ApiException
from ory_kratos_client.models.settings_flow import SettingsFlow
from ory_kratos_client.models.successful_native_login import SuccessfulNativeLogin
from test_native_flows import PASSWORD, login_body, registration_body, sign_in, sign_up

from selfservice import (
    error_body,
    message_ids,
    node,
    node_message_ids,
    node_value,
    password_settings,
    profile_settings,
)
from support import PRIVILEGED_SESSION_MAX_AGE, expect_error, unique_email

NEW_PASSWORD = "a brand new long passphrase"


def refused_flow(status: int, call, *args, **kwargs) -> dict:
    """Calls the SDK, expects `status` with a settings flow as the body."""
    with pytest.raises(ApiException) as refused:
        call(*args, **kwargs)
    assert refused.value.status == status, refused.value.body
    body = error_body(refused.value)
    SettingsFlow.from_dict(body)
    return body


def assert_login_refused(frontend, identifier: str, password: str) -> None:
    flow = frontend.create_native_login_flow()
    with pytest.raises(ApiException) as refused:
        frontend.update_login_flow(
            flow=flow.id, update_login_flow_body=login_body(identifier, password)
        )
    assert refused.value.status == 400, refused.value.body
    assert 4000006 in message_ids(error_body(refused.value))


def test_settings_flow_shape(frontend):
    email = unique_email("settings-shape")
    registered = sign_up(frontend, email)
    token = registered.session_token
    flow = frontend.create_native_settings_flow(x_session_token=token)
    assert isinstance(flow, SettingsFlow)
    assert flow.type == "api"
    assert flow.state == "show_form"
    assert flow.identity.id == registered.identity.id
    assert flow.identity.traits == {"email": email}
    assert flow.ui.action.endswith(f"/self-service/settings?flow={flow.id}")
    assert flow.ui.method == "POST"
    assert node_value(flow, "traits.email") == email
    assert node(flow, "password")["attributes"]["type"] == "password"
    methods = {n["attributes"].get("value") for n in flow.to_dict()["ui"]["nodes"]
               if n["attributes"].get("name") == "method"}
    assert methods == {"password", "profile"}
    assert flow.expires_at > flow.issued_at

    fetched = frontend.get_settings_flow(id=flow.id, x_session_token=token)
    assert fetched.id == flow.id
    assert fetched.identity.id == registered.identity.id


def test_password(frontend):
    email = unique_email("settings-password")
    registered = sign_up(frontend, email)
    token = registered.session_token
    flow = frontend.create_native_settings_flow(x_session_token=token)

    body = refused_flow(
        400,
        frontend.update_settings_flow,
        flow=flow.id,
        update_settings_flow_body=password_settings("short"),
        x_session_token=token,
    )
    assert body["id"] == flow.id
    assert body["state"] == "show_form"
    assert 4000032 in node_message_ids(body, "password"), body
    # The refused password changed nothing.
    assert sign_in(frontend, email).session.identity.id == registered.identity.id

    updated = frontend.update_settings_flow(
        flow=flow.id,
        update_settings_flow_body=password_settings(NEW_PASSWORD),
        x_session_token=token,
    )
    assert isinstance(updated, SettingsFlow)
    assert updated.id == flow.id
    assert updated.state == "success"
    assert 1050001 in message_ids(updated)
    assert updated.identity.id == registered.identity.id
    fetched = frontend.get_settings_flow(id=flow.id, x_session_token=token)
    assert fetched.state == "success"

    assert_login_refused(frontend, email, PASSWORD)
    flow = frontend.create_native_login_flow()
    logged_in = frontend.update_login_flow(
        flow=flow.id, update_login_flow_body=login_body(email, NEW_PASSWORD)
    )
    assert logged_in.session.identity.id == registered.identity.id
    # The session that changed the password is still valid.
    assert frontend.to_session(x_session_token=token).id == registered.session.id


def test_profile(frontend, identity_api):
    email = unique_email("settings-profile")
    registered = sign_up(frontend, email)
    token = registered.session_token
    identity_id = registered.identity.id
    flow = frontend.create_native_settings_flow(x_session_token=token)

    traits = {"email": email, "name": {"given": "Grace", "family": "Hopper"}}
    updated = frontend.update_settings_flow(
        flow=flow.id,
        update_settings_flow_body=profile_settings(traits),
        x_session_token=token,
    )
    assert updated.state == "success"
    assert 1050001 in message_ids(updated)
    assert updated.identity.traits == traits
    assert node_value(updated, "traits.name.given") == "Grace"
    assert frontend.to_session(x_session_token=token).identity.traits == traits
    assert identity_api.get_identity(id=identity_id).traits == traits

    # Traits the schema refuses: 400 with the flow, nothing stored.
    flow = frontend.create_native_settings_flow(x_session_token=token)
    body = refused_flow(
        400,
        frontend.update_settings_flow,
        flow=flow.id,
        update_settings_flow_body=profile_settings({"email": "not an email address"}),
        x_session_token=token,
    )
    email_node = node(body, "traits.email")
    assert email_node["messages"] and email_node["messages"][0]["type"] == "error", body
    assert identity_api.get_identity(id=identity_id).traits == traits

    # A new email address becomes the login identifier.
    new_email = unique_email("settings-moved")
    updated = frontend.update_settings_flow(
        flow=flow.id,
        update_settings_flow_body=profile_settings({**traits, "email": new_email}),
        x_session_token=token,
    )
    assert updated.state == "success"
    assert updated.identity.traits["email"] == new_email
    stored = identity_api.get_identity(id=identity_id, include_credential=["password"])
    assert stored.credentials["password"].identifiers == [new_email]
    assert [a.value for a in stored.verifiable_addresses] == [new_email]
    assert sign_in(frontend, new_email).session.identity.id == identity_id
    assert_login_refused(frontend, email, PASSWORD)

    # An address another identity uses is refused.
    taken = unique_email("settings-taken")
    sign_up(frontend, taken)
    flow = frontend.create_native_settings_flow(x_session_token=token)
    body = refused_flow(
        400,
        frontend.update_settings_flow,
        flow=flow.id,
        update_settings_flow_body=profile_settings({"email": taken}),
        x_session_token=token,
    )
    assert 4000007 in message_ids(body), body
    assert identity_api.get_identity(id=identity_id).traits["email"] == new_email


def test_privileged_session_and_refresh(frontend):
    email = unique_email("settings-refresh")
    registered = sign_up(frontend, email)
    token = registered.session_token
    flow = frontend.create_native_settings_flow(x_session_token=token)
    before = frontend.to_session(x_session_token=token)

    time.sleep(PRIVILEGED_SESSION_MAX_AGE + 0.5)
    for body in (password_settings(NEW_PASSWORD), profile_settings({"email": email, "name": {"given": "X"}})):
        error = expect_error(
            403,
            frontend.update_settings_flow,
            flow=flow.id,
            update_settings_flow_body=body,
            x_session_token=token,
        )
        assert error["id"] == "session_refresh_required"
    assert sign_in(frontend, email).session.identity.id == registered.identity.id
    assert "name" not in frontend.to_session(x_session_token=token).identity.traits
    # Reading the flow and starting new ones needs no fresh sign-in.
    assert frontend.get_settings_flow(id=flow.id, x_session_token=token).state == "show_form"

    # Signed in already: a plain login flow is refused, a refresh login is not.
    error = expect_error(400, frontend.create_native_login_flow, x_session_token=token)
    assert error["id"] == "session_already_available"
    login_flow = frontend.create_native_login_flow(refresh=True, x_session_token=token)
    assert login_flow.type == "api"
    assert login_flow.refresh is True
    assert node_value(login_flow, "identifier") == email
    assert 1010003 in message_ids(login_flow)
    refreshed = frontend.update_login_flow(
        flow=login_flow.id,
        update_login_flow_body=login_body(email),
        x_session_token=token,
    )
    assert isinstance(refreshed, SuccessfulNativeLogin)
    assert refreshed.session.id == registered.session.id, "a refresh keeps the session"
    assert refreshed.session_token == token
    after = frontend.to_session(x_session_token=token)
    assert after.id == before.id
    assert after.authenticated_at > before.authenticated_at
    assert [m.method for m in after.authentication_methods] == ["password", "password"]

    updated = frontend.update_settings_flow(
        flow=flow.id,
        update_settings_flow_body=password_settings(NEW_PASSWORD),
        x_session_token=token,
    )
    assert updated.state == "success"
    assert 1050001 in message_ids(updated)
    assert_login_refused(frontend, email, PASSWORD)
    flow = frontend.create_native_login_flow()
    assert frontend.update_login_flow(
        flow=flow.id, update_login_flow_body=login_body(email, NEW_PASSWORD)
    ).session.identity.id == registered.identity.id


def test_refresh_login_of_another_identity_is_refused(frontend):
    first = sign_up(frontend, unique_email("refresh-a"))
    other_email = unique_email("refresh-b")
    sign_up(frontend, other_email)
    flow = frontend.create_native_login_flow(refresh=True, x_session_token=first.session_token)
    with pytest.raises(ApiException) as refused:
        frontend.update_login_flow(
            flow=flow.id,
            update_login_flow_body=login_body(other_email),
            x_session_token=first.session_token,
        )
    assert refused.value.status in (400, 403), refused.value.body
    me = frontend.to_session(x_session_token=first.session_token)
    assert me.identity.id == first.identity.id
    assert me.authentication_methods and len(me.authentication_methods) == 1


def test_settings_need_the_owners_session(frontend):
    error = expect_error(401, frontend.create_native_settings_flow)
    assert error["id"] == "session_inactive"
    error = expect_error(401, frontend.create_native_settings_flow, x_session_token="ory_st_nonsense")
    assert error["id"] == "session_inactive"

    owner = sign_up(frontend, unique_email("owner"))
    intruder = sign_up(frontend, unique_email("intruder"))
    flow = frontend.create_native_settings_flow(x_session_token=owner.session_token)
    error = expect_error(401, frontend.get_settings_flow, id=flow.id)
    assert error["id"] == "session_inactive"
    error = expect_error(
        403, frontend.get_settings_flow, id=flow.id, x_session_token=intruder.session_token
    )
    assert error["id"] == "security_identity_mismatch"
    error = expect_error(
        401,
        frontend.update_settings_flow,
        flow=flow.id,
        update_settings_flow_body=password_settings(NEW_PASSWORD),
    )
    assert error["id"] == "session_inactive"
    expect_error(
        404,
        frontend.get_settings_flow,
        id="7d9a6b5e-0000-4000-8000-000000000000",
        x_session_token=owner.session_token,
    )
    # The owner's password is unchanged.
    assert sign_in(frontend, owner.identity.traits["email"]).session.identity.id == owner.identity.id


def test_settings_submitted_by_another_identity_is_a_bad_request(frontend):
    owner = sign_up(frontend, unique_email("owner"))
    intruder = sign_up(frontend, unique_email("intruder"))
    flow = frontend.create_native_settings_flow(x_session_token=owner.session_token)
    try:
        error = expect_error(
            400,
            frontend.update_settings_flow,
            flow=flow.id,
            update_settings_flow_body=password_settings(NEW_PASSWORD),
            x_session_token=intruder.session_token,
        )
        assert error["id"] == "security_identity_mismatch"
    finally:
        # Whatever the status, the owner's password must be unchanged.
        assert sign_in(frontend, owner.identity.traits["email"]).session.identity.id == owner.identity.id


def test_native_flow_submitted_by_a_browser_is_a_bad_request(frontend):
    email = unique_email("native-cookie")
    flow = frontend.create_native_registration_flow()
    for headers in ({"Cookie": "theme=dark"}, {"Origin": "https://app.example.test"}):
        with pytest.raises(ApiException) as refused:
            frontend.update_registration_flow(
                flow=flow.id,
                update_registration_flow_body=registration_body(email),
                _headers=headers,
            )
        assert refused.value.status == 400, refused.value.body
        error = error_body(refused.value)["error"]
        assert error["code"] == 400
    registered = frontend.update_registration_flow(
        flow=flow.id, update_registration_flow_body=registration_body(email)
    )
    settings = frontend.create_native_settings_flow(x_session_token=registered.session_token)
    with pytest.raises(ApiException) as refused:
        frontend.update_settings_flow(
            flow=settings.id,
            update_settings_flow_body=password_settings(NEW_PASSWORD),
            x_session_token=registered.session_token,
            _headers={"Cookie": "theme=dark"},
        )
    assert refused.value.status == 400, refused.value.body
