"""Native registration, login, whoami and logout through the official SDK's FrontendApi."""

from __future__ import annotations

import json

import pytest
from ory_kratos_client.api.frontend_api import FrontendApi
from ory_kratos_client.exceptions import ApiException
from ory_kratos_client.models.login_flow import LoginFlow
from ory_kratos_client.models.perform_native_logout_body import PerformNativeLogoutBody
from ory_kratos_client.models.registration_flow import RegistrationFlow
from ory_kratos_client.models.successful_native_login import SuccessfulNativeLogin
from ory_kratos_client.models.successful_native_registration import SuccessfulNativeRegistration
from ory_kratos_client.models.update_login_flow_body import UpdateLoginFlowBody
from ory_kratos_client.models.update_login_flow_with_password_method import (
    UpdateLoginFlowWithPasswordMethod,
)
from ory_kratos_client.models.update_registration_flow_body import UpdateRegistrationFlowBody
from ory_kratos_client.models.update_registration_flow_with_password_method import (
    UpdateRegistrationFlowWithPasswordMethod,
)

from support import expect_error, unique_email

PASSWORD = "a long enough secret"


def registration_body(email: str, password: str = PASSWORD) -> UpdateRegistrationFlowBody:
    return UpdateRegistrationFlowBody(
        UpdateRegistrationFlowWithPasswordMethod(
            method="password", password=password, traits={"email": email}
        )
    )


def login_body(identifier: str, password: str = PASSWORD) -> UpdateLoginFlowBody:
    return UpdateLoginFlowBody(
        UpdateLoginFlowWithPasswordMethod(method="password", identifier=identifier, password=password)
    )


def sign_up(frontend: FrontendApi, email: str) -> SuccessfulNativeRegistration:
    flow = frontend.create_native_registration_flow()
    return frontend.update_registration_flow(
        flow=flow.id, update_registration_flow_body=registration_body(email)
    )


def sign_in(frontend: FrontendApi, email: str) -> SuccessfulNativeLogin:
    flow = frontend.create_native_login_flow()
    return frontend.update_login_flow(flow=flow.id, update_login_flow_body=login_body(email))


def bad_request_flow(call, *args, **kwargs) -> dict:
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)
    assert caught.value.status == 400, caught.value.body
    return json.loads(caught.value.body)


def test_register_login_whoami_logout(frontend):
    email = unique_email("native")
    flow = frontend.create_native_registration_flow()
    assert isinstance(flow, RegistrationFlow)
    assert flow.type == "api"
    names = [node.attributes.actual_instance.name for node in flow.ui.nodes]
    assert "traits.email" in names and "password" in names and "method" in names
    fetched = frontend.get_registration_flow(id=flow.id)
    assert fetched.id == flow.id

    registered = frontend.update_registration_flow(
        flow=flow.id, update_registration_flow_body=registration_body(email)
    )
    assert isinstance(registered, SuccessfulNativeRegistration)
    assert registered.identity.traits["email"] == email
    assert registered.session_token.startswith("ory_st_")
    assert registered.session.identity.id == registered.identity.id

    me = frontend.to_session(x_session_token=registered.session_token)
    assert me.id == registered.session.id
    assert me.identity.id == registered.identity.id
    assert me.authentication_methods[0].method == "password"
    assert me.authenticator_assurance_level == "aal1"

    login_flow = frontend.create_native_login_flow()
    assert isinstance(login_flow, LoginFlow)
    assert frontend.get_login_flow(id=login_flow.id).id == login_flow.id
    logged_in = frontend.update_login_flow(
        flow=login_flow.id, update_login_flow_body=login_body(email.upper())
    )
    assert isinstance(logged_in, SuccessfulNativeLogin)
    assert logged_in.session.identity.id == registered.identity.id

    frontend.perform_native_logout(
        perform_native_logout_body=PerformNativeLogoutBody(session_token=logged_in.session_token)
    )
    error = expect_error(401, frontend.to_session, x_session_token=logged_in.session_token)
    assert error["id"] == "session_inactive"
    assert frontend.to_session(x_session_token=registered.session_token).active


def test_flow_errors(frontend):
    email = unique_email("dup")
    sign_up(frontend, email)
    flow = frontend.create_native_registration_flow()
    body = bad_request_flow(
        frontend.update_registration_flow,
        flow=flow.id,
        update_registration_flow_body=registration_body(email),
    )
    RegistrationFlow.from_dict(body)
    assert body["ui"]["messages"][0]["id"] == 4000007

    body = bad_request_flow(
        frontend.update_registration_flow,
        flow=flow.id,
        update_registration_flow_body=registration_body(unique_email(), password="short"),
    )
    password = next(n for n in body["ui"]["nodes"] if n["attributes"]["name"] == "password")
    assert password["messages"][0]["id"] == 4000032

    login_flow = frontend.create_native_login_flow()
    body = bad_request_flow(
        frontend.update_login_flow,
        flow=login_flow.id,
        update_login_flow_body=login_body(email, password="not the password"),
    )
    LoginFlow.from_dict(body)
    assert body["ui"]["messages"][0]["id"] == 4000006

    registered = sign_in(frontend, email)
    error = expect_error(
        400, frontend.create_native_login_flow, x_session_token=registered.session_token
    )
    assert error["id"] == "session_already_available"
    expect_error(401, frontend.to_session, x_session_token="ory_st_nonsense")


def test_my_sessions(frontend):
    email = unique_email("mine")
    current = sign_up(frontend, email)
    others = [sign_in(frontend, email) for _ in range(2)]
    listed = frontend.list_my_sessions(x_session_token=current.session_token)
    assert sorted(s.id for s in listed) == sorted(o.session.id for o in others)
    frontend.disable_my_session(id=others[0].session.id, x_session_token=current.session_token)
    expect_error(401, frontend.to_session, x_session_token=others[0].session_token)
    count = frontend.disable_my_other_sessions(x_session_token=current.session_token)
    assert count.count == 1
    assert frontend.list_my_sessions(x_session_token=current.session_token) == []


def test_registration_on_a_chosen_schema(frontend):
    """`identity_schema` names a selectable schema: its traits, its identity."""
    flow = frontend.create_native_registration_flow(identity_schema="operator")
    assert flow.identity_schema == "operator"
    names = [n.attributes.actual_instance.name for n in flow.ui.nodes]
    assert "traits.username" in names and "traits.email" not in names
    username = unique_email("op").split("@")[0]
    body = UpdateRegistrationFlowBody(
        UpdateRegistrationFlowWithPasswordMethod(
            method="password", password=PASSWORD, traits={"username": username}
        )
    )
    done = frontend.update_registration_flow(flow=flow.id, update_registration_flow_body=body)
    assert done.identity.schema_id == "operator"
    assert done.identity.traits == {"username": username}
    login = frontend.create_native_login_flow(identity_schema="operator")
    assert login.identity_schema == "operator"

    error = expect_error(400, frontend.create_native_registration_flow, identity_schema="code")
    assert error["reason"].endswith("is not enabled for self-service flows.")
    error = expect_error(400, frontend.create_native_login_flow, identity_schema="x" * 4096)
    assert error["reason"] == "Requested identity schema does not exist."
