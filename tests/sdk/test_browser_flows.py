"""Browser flows through the official SDK's FrontendApi, with a cookie jar.

A browser (or a server-side app forwarding its cookies) starts each flow at
`/self-service/<flow>/browser` and gets the flow as JSON (the SDK asks for
`application/json`) together with an anti-CSRF cookie; every later call sends
the cookies back, and every submission carries the flow's `csrf_token`.
Sessions live in the encrypted `ory_kratos_session` cookie.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from ory_kratos_client.exceptions import ApiException
from ory_kratos_client.models.flow_error import FlowError
from ory_kratos_client.models.login_flow import LoginFlow
from ory_kratos_client.models.logout_flow import LogoutFlow
from ory_kratos_client.models.registration_flow import RegistrationFlow
from ory_kratos_client.models.session import Session
from ory_kratos_client.models.settings_flow import SettingsFlow
from ory_kratos_client.models.successful_native_login import SuccessfulNativeLogin
from ory_kratos_client.models.successful_native_registration import SuccessfulNativeRegistration

from test_native_flows import PASSWORD

from selfservice import (
    CSRF_COOKIE_PREFIX,
    SESSION_COOKIE,
    Browser,
    csrf_token,
    error_body,
    login_body,
    message_ids,
    node_message_ids,
    node_value,
    page_request,
    password_settings,
    profile_settings,
    query_value,
    registration_body,
)
from support import (
    ALLOWED_RETURN_URL,
    DEFAULT_RETURN_URL,
    PRIVILEGED_SESSION_MAX_AGE,
    expect_error,
    header,
    unique_email,
)

NEW_PASSWORD = "another long passphrase entirely"
EVIL = "https://evil.example/steal"


def register(browser: Browser, email: str, password: str = PASSWORD, **traits) -> SuccessfulNativeRegistration:
    """Registers through a browser flow; the browser ends up with a session cookie."""
    flow = browser.api.create_browser_registration_flow(_headers=browser.cookie_headers)
    result = browser.api.update_registration_flow(
        flow=flow.id,
        update_registration_flow_body=registration_body(email, password, csrf_token(flow), **traits),
        cookie=browser.cookie,
    )
    assert SESSION_COOKIE in browser.cookies
    return result


def login(browser: Browser, email: str, password: str = PASSWORD) -> SuccessfulNativeLogin:
    flow = browser.api.create_browser_login_flow(cookie=browser.cookie)
    return browser.api.update_login_flow(
        flow=flow.id,
        update_login_flow_body=login_body(email, password, csrf_token(flow)),
        cookie=browser.cookie,
    )


def test_registration_starts_with_an_anti_csrf_cookie(browser, server):
    flow = browser.api.create_browser_registration_flow()
    assert isinstance(flow, RegistrationFlow)
    assert flow.type == "browser"
    assert flow.state == "choose_method"
    set_cookie = browser.set_cookie(CSRF_COOKIE_PREFIX)
    assert set_cookie is not None, browser.set_cookies
    assert "httponly" in set_cookie.lower(), set_cookie
    assert browser.csrf_cookie_name is not None
    assert SESSION_COOKIE not in browser.cookies
    token = csrf_token(flow)
    assert flow.ui.action == f"{server.public_url}self-service/registration?flow={flow.id}"
    assert flow.ui.method == "POST"
    names = [n.attributes.actual_instance.name for n in flow.ui.nodes]
    assert {"csrf_token", "traits.email", "password", "method"} <= set(names)

    # The same browser reads its flow back; the cookie is kept, not replaced.
    fetched = browser.api.get_registration_flow(id=flow.id, cookie=browser.cookie)
    assert fetched.id == flow.id and fetched.type == "browser"
    assert browser.set_cookie(CSRF_COOKIE_PREFIX) is None, browser.set_cookies

    # A second flow in the same browser shares the cookie's token: the form
    # value is masked differently, but both open to the same cookie.
    cookie_before = dict(browser.cookies)
    login_flow = browser.api.create_browser_login_flow(cookie=browser.cookie)
    assert isinstance(login_flow, LoginFlow) and login_flow.type == "browser"
    assert browser.cookies == cookie_before
    assert csrf_token(login_flow) != token


def test_browser_lifecycle(browser, identity_api, server):
    email = unique_email("browser")
    registered = register(browser, email, name={"given": "Ada"})
    assert isinstance(registered, SuccessfulNativeRegistration)
    identity_id = registered.identity.id
    assert registered.identity.traits == {"email": email, "name": {"given": "Ada"}}
    assert registered.session_token is None, "browsers get a cookie, never a token"
    if registered.session is not None:
        assert registered.session.identity.id == identity_id
    assert identity_api.get_identity(id=identity_id).traits["email"] == email

    # whoami by cookie.
    me = browser.api.to_session(cookie=browser.cookie)
    assert isinstance(me, Session)
    assert me.identity.id == identity_id
    assert me.active is True
    assert me.authenticator_assurance_level == "aal1"
    assert [m.method for m in me.authentication_methods] == ["password"]
    session_id = me.id
    answer = browser.api.to_session_with_http_info(cookie=browser.cookie)
    assert answer.status_code == 200
    assert header(answer.headers, "X-Kratos-Authenticated-Identity-Id") == identity_id
    # The session cookie alone is enough; the anti-CSRF cookie is not needed.
    assert browser.api.to_session(cookie=browser.session_cookie).id == session_id

    # Signed in: neither login nor registration may start again.
    error = expect_error(400, browser.api.create_browser_login_flow, cookie=browser.cookie)
    assert error["id"] == "session_already_available"
    error = expect_error(
        400, browser.api.create_browser_registration_flow, _headers=browser.cookie_headers
    )
    assert error["id"] == "session_already_available"

    # Settings: the profile.
    flow = browser.api.create_browser_settings_flow(cookie=browser.cookie)
    assert isinstance(flow, SettingsFlow)
    assert flow.type == "browser"
    assert flow.state == "show_form"
    assert flow.identity.id == identity_id
    assert node_value(flow, "traits.email") == email
    assert node_value(flow, "traits.name.given") == "Ada"
    fetched = browser.api.get_settings_flow(id=flow.id, cookie=browser.cookie)
    assert fetched.id == flow.id and fetched.identity.id == identity_id
    updated = browser.api.update_settings_flow(
        flow=flow.id,
        update_settings_flow_body=profile_settings(
            {"email": email, "name": {"given": "Augusta", "family": "King"}}, csrf_token(flow)
        ),
        cookie=browser.cookie,
    )
    assert isinstance(updated, SettingsFlow)
    assert updated.state == "success"
    assert 1050001 in message_ids(updated)
    assert updated.identity.traits["name"] == {"given": "Augusta", "family": "King"}
    me = browser.api.to_session(cookie=browser.cookie)
    assert me.id == session_id
    assert me.identity.traits == {"email": email, "name": {"given": "Augusta", "family": "King"}}
    assert identity_api.get_identity(id=identity_id).traits["name"]["given"] == "Augusta"

    # Settings: the password (a too-short one first).
    flow = browser.api.create_browser_settings_flow(cookie=browser.cookie)
    with pytest.raises(ApiException) as refused:
        browser.api.update_settings_flow(
            flow=flow.id,
            update_settings_flow_body=password_settings("short", csrf_token(flow)),
            cookie=browser.cookie,
        )
    assert refused.value.status == 400, refused.value.body
    body = error_body(refused.value)
    SettingsFlow.from_dict(body)
    assert body["id"] == flow.id
    assert 4000032 in node_message_ids(body, "password"), body
    updated = browser.api.update_settings_flow(
        flow=flow.id,
        update_settings_flow_body=password_settings(NEW_PASSWORD, csrf_token(flow)),
        cookie=browser.cookie,
    )
    assert updated.state == "success"
    assert 1050001 in message_ids(updated)
    assert browser.api.to_session(cookie=browser.cookie).id == session_id

    # Logout.
    logout = browser.api.create_browser_logout_flow(cookie=browser.cookie)
    assert isinstance(logout, LogoutFlow)
    assert logout.logout_token
    assert logout.logout_url.startswith(f"{server.public_url}self-service/logout?")
    assert query_value(logout.logout_url, "token") == logout.logout_token
    error = expect_error(
        403, browser.api.update_logout_flow, token=logout.logout_token + "x", cookie=browser.cookie
    )
    assert error["id"] == "security_csrf_violation"
    assert browser.api.to_session(cookie=browser.cookie).id == session_id
    stale = browser.cookie
    assert browser.api.update_logout_flow(token=logout.logout_token, cookie=browser.cookie) is None
    assert SESSION_COOKIE not in browser.cookies, "logout removes the session cookie"
    error = expect_error(401, browser.api.to_session, cookie=browser.cookie)
    assert error["id"] == "session_inactive"
    # The old cookie opens, but its session is over.
    error = expect_error(401, browser.api.to_session, cookie=stale)
    assert error["id"] == "session_inactive"
    expect_error(401, browser.api.create_browser_logout_flow, cookie=stale)

    # Login again: the old password no longer works, the new one does.
    flow = browser.api.create_browser_login_flow(cookie=browser.cookie)
    with pytest.raises(ApiException) as refused:
        browser.api.update_login_flow(
            flow=flow.id,
            update_login_flow_body=login_body(email, PASSWORD, csrf_token(flow)),
            cookie=browser.cookie,
        )
    assert refused.value.status == 400, refused.value.body
    body = error_body(refused.value)
    LoginFlow.from_dict(body)
    assert 4000006 in message_ids(body)
    assert SESSION_COOKIE not in browser.cookies
    logged_in = browser.api.update_login_flow(
        flow=flow.id,
        update_login_flow_body=login_body(email.upper(), NEW_PASSWORD, csrf_token(flow)),
        cookie=browser.cookie,
    )
    assert isinstance(logged_in, SuccessfulNativeLogin)
    assert logged_in.session_token is None
    assert logged_in.session.identity.id == identity_id
    assert logged_in.session.id != session_id
    assert SESSION_COOKIE in browser.cookies
    me = browser.api.to_session(cookie=browser.cookie)
    assert me.id == logged_in.session.id
    assert me.identity.traits["name"]["given"] == "Augusta"


def test_refresh_login_by_cookie(new_browser):
    browser = new_browser()
    email = unique_email("refresh")
    register(browser, email)
    before = browser.api.to_session(cookie=browser.cookie)
    flow = browser.api.create_browser_settings_flow(cookie=browser.cookie)

    time.sleep(PRIVILEGED_SESSION_MAX_AGE + 0.5)
    with pytest.raises(ApiException) as refused:
        browser.api.update_settings_flow(
            flow=flow.id,
            update_settings_flow_body=password_settings(NEW_PASSWORD, csrf_token(flow)),
            cookie=browser.cookie,
        )
    assert refused.value.status == 403, refused.value.body
    body = error_body(refused.value)
    assert body["error"]["id"] == "session_refresh_required"
    assert "/self-service/login/browser?refresh=true" in body["redirect_browser_to"]
    # Nothing changed: the old password still signs in (in another browser).
    assert login(new_browser(), email, PASSWORD).session.identity.id == before.identity.id

    # A refresh login keeps the session and renews its authentication time.
    refresh = browser.api.create_browser_login_flow(refresh=True, cookie=browser.cookie)
    assert refresh.refresh is True
    assert node_value(refresh, "identifier") == email
    assert 1010003 in message_ids(refresh)
    refreshed = browser.api.update_login_flow(
        flow=refresh.id,
        update_login_flow_body=login_body(email, PASSWORD, csrf_token(refresh)),
        cookie=browser.cookie,
    )
    assert refreshed.session.id == before.id
    assert refreshed.session_token is None
    after = browser.api.to_session(cookie=browser.cookie)
    assert after.id == before.id
    assert after.authenticated_at > before.authenticated_at
    assert len(after.authentication_methods) == 2

    # The same settings flow now goes through.
    updated = browser.api.update_settings_flow(
        flow=flow.id,
        update_settings_flow_body=password_settings(NEW_PASSWORD, csrf_token(flow)),
        cookie=browser.cookie,
    )
    assert updated.state == "success"
    assert 1050001 in message_ids(updated)
    other = new_browser()
    flow = other.api.create_browser_login_flow(cookie=other.cookie)
    with pytest.raises(ApiException) as refused:
        other.api.update_login_flow(
            flow=flow.id,
            update_login_flow_body=login_body(email, PASSWORD, csrf_token(flow)),
            cookie=other.cookie,
        )
    assert refused.value.status == 400, refused.value.body
    assert 4000006 in message_ids(error_body(refused.value))
    assert login(other, email, NEW_PASSWORD).session.identity.id == before.identity.id


def test_csrf_refusals(new_browser, identity_api):
    browser, other = new_browser(), new_browser()
    email = unique_email("csrf")
    flow = browser.api.create_browser_registration_flow()
    token = csrf_token(flow)

    # Another browser (without the anti-CSRF cookie) can neither read nor submit the flow.
    error = expect_error(403, other.api.get_registration_flow, id=flow.id, cookie=other.cookie)
    assert error["id"] == "security_csrf_violation"
    error = expect_error(
        403,
        other.api.update_registration_flow,
        flow=flow.id,
        update_registration_flow_body=registration_body(email, PASSWORD, token),
        cookie=other.cookie,
    )
    assert error["id"] == "security_csrf_violation"

    login_flow = browser.api.create_browser_login_flow(cookie=browser.cookie)
    error = expect_error(403, other.api.get_login_flow, id=login_flow.id, cookie=other.cookie)
    assert error["id"] == "security_csrf_violation"
    assert browser.api.get_login_flow(id=login_flow.id, cookie=browser.cookie).id == login_flow.id

    # The right browser: no token, a forged one, or one of another browser's flow.
    other_flow = other.api.create_browser_registration_flow()
    assert other.csrf_cookie_name is not None
    for wrong in (None, "forged-token", token[:-4] + "AAAA", csrf_token(other_flow)):
        error = expect_error(
            403,
            browser.api.update_registration_flow,
            flow=flow.id,
            update_registration_flow_body=registration_body(email, PASSWORD, wrong),
            cookie=browser.cookie,
        )
        assert error["id"] == "security_csrf_violation", wrong
    # The other browser's cookie with this flow's token: refused too.
    error = expect_error(
        403,
        other.api.update_registration_flow,
        flow=flow.id,
        update_registration_flow_body=registration_body(email, PASSWORD, token),
        cookie=other.cookie,
    )
    assert error["id"] == "security_csrf_violation"
    assert identity_api.list_identities(credentials_identifier=email) == []

    # The flow is still usable by its own browser.
    registered = browser.api.update_registration_flow(
        flow=flow.id,
        update_registration_flow_body=registration_body(email, PASSWORD, token),
        cookie=browser.cookie,
    )
    assert registered.identity.traits["email"] == email

    # Login and settings flows check the token the same way.
    login_flow = other.api.create_browser_login_flow(cookie=other.cookie)
    error = expect_error(
        403,
        other.api.update_login_flow,
        flow=login_flow.id,
        update_login_flow_body=login_body(email, PASSWORD, None),
        cookie=other.cookie,
    )
    assert error["id"] == "security_csrf_violation"
    assert SESSION_COOKIE not in other.cookies
    settings = browser.api.create_browser_settings_flow(cookie=browser.cookie)
    error = expect_error(
        403,
        browser.api.update_settings_flow,
        flow=settings.id,
        update_settings_flow_body=profile_settings({"email": email, "name": {"given": "Eve"}}, "forged"),
        cookie=browser.cookie,
    )
    assert error["id"] == "security_csrf_violation"
    # Without the anti-CSRF cookie, the session cookie alone is not enough.
    error = expect_error(
        403,
        browser.api.update_settings_flow,
        flow=settings.id,
        update_settings_flow_body=profile_settings(
            {"email": email, "name": {"given": "Eve"}}, csrf_token(settings)
        ),
        cookie=browser.session_cookie,
    )
    assert error["id"] == "security_csrf_violation"
    assert "name" not in browser.api.to_session(cookie=browser.cookie).identity.traits


def test_page_driven_errors_are_stored(browser):
    """A browser without JavaScript is redirected; errors land on the error page,
    whose content the SDK reads with get_flow_error."""
    page = page_request(browser, "self-service/registration/browser")
    assert page.status == 303
    assert "/ui/registration?flow=" in page.location
    assert browser.csrf_cookie_name is not None
    flow_id = query_value(page.location, "flow")
    flow = browser.api.get_registration_flow(id=flow_id, cookie=browser.cookie)
    assert flow.id == flow_id and flow.type == "browser"

    # A form post without the anti-CSRF token: sent to the error page.
    page = page_request(
        browser,
        f"self-service/registration?flow={flow_id}",
        {"method": "password", "password": PASSWORD, "traits.email": unique_email("page")},
    )
    assert page.status == 303
    assert "/ui/error?id=" in page.location, page.location
    error_id = query_value(page.location, "id")
    stored = browser.api.get_flow_error(id=error_id)
    assert isinstance(stored, FlowError)
    assert stored.id == error_id
    assert stored.error["id"] == "security_csrf_violation"
    assert stored.error["code"] == 403
    assert isinstance(stored.created_at, datetime)
    expect_error(404, browser.api.get_flow_error, id="7d9a6b5e-0000-4000-8000-000000000000")

    # A correct form post: the session cookie is set and the browser sent on.
    email = unique_email("page")
    page = page_request(
        browser,
        f"self-service/registration?flow={flow_id}",
        {"csrf_token": csrf_token(flow), "method": "password", "password": PASSWORD,
         "traits.email": email},
    )
    assert page.status == 303
    assert page.location == DEFAULT_RETURN_URL
    assert browser.set_cookie(SESSION_COOKIE + "=") is not None
    assert browser.api.to_session(cookie=browser.cookie).identity.traits["email"] == email


def test_return_to(browser):
    # Not on the allow list: refused before any flow exists.
    for start in (
        lambda: browser.api.create_browser_login_flow(return_to=EVIL, cookie=browser.cookie),
        lambda: browser.api.create_browser_registration_flow(return_to=EVIL),
    ):
        with pytest.raises(ApiException) as refused:
            start()
        assert refused.value.status == 400, refused.value.body
        assert error_body(refused.value)["error"]["id"] == "self_service_flow_return_to_forbidden"

    allowed = ALLOWED_RETURN_URL + "after"
    flow = browser.api.create_browser_registration_flow(return_to=allowed)
    assert flow.return_to == allowed
    email = unique_email("return")
    page = page_request(
        browser,
        f"self-service/registration?flow={flow.id}",
        {"csrf_token": csrf_token(flow), "method": "password", "password": PASSWORD,
         "traits.email": email},
    )
    assert page.status == 303
    assert page.location == allowed

    error = expect_error(
        400, browser.api.create_browser_settings_flow, return_to=EVIL, cookie=browser.cookie
    )
    assert error["id"] == "self_service_flow_return_to_forbidden"
    settings = browser.api.create_browser_settings_flow(return_to=allowed, cookie=browser.cookie)
    assert settings.return_to == allowed

    error = expect_error(
        400, browser.api.create_browser_logout_flow, return_to=EVIL, cookie=browser.cookie
    )
    assert error["id"] == "self_service_flow_return_to_forbidden"
    logout = browser.api.create_browser_logout_flow(return_to=allowed, cookie=browser.cookie)
    assert query_value(logout.logout_url, "return_to") == allowed
    # The page-driven logout sends the browser to the return_to URL.
    page = page_request(browser, logout.logout_url)
    assert page.status == 303
    assert page.location == allowed
    assert SESSION_COOKIE not in browser.cookies
    expect_error(401, browser.api.to_session, cookie=browser.cookie)


def test_settings_need_a_session(new_browser):
    stranger = new_browser()
    error = expect_error(401, stranger.api.create_browser_settings_flow)
    assert error["id"] == "session_inactive"
    # An anti-CSRF cookie is no session.
    stranger.api.create_browser_login_flow()
    assert stranger.csrf_cookie_name is not None
    error = expect_error(401, stranger.api.create_browser_settings_flow, cookie=stranger.cookie)
    assert error["id"] == "session_inactive"
    # Nor is a tampered session cookie.
    error = expect_error(
        401,
        stranger.api.create_browser_settings_flow,
        cookie=f"{SESSION_COOKIE}=MTIzNDU2Nzg5MA; {stranger.cookie}",
    )
    assert error["id"] == "session_inactive"
    expect_error(401, stranger.api.to_session, cookie=f"{SESSION_COOKIE}=MTIzNDU2Nzg5MA")
    expect_error(401, stranger.api.create_browser_logout_flow, cookie=stranger.cookie)

    # A settings flow of a signed-in browser cannot be fetched or submitted
    # once that browser has signed out.
    user = new_browser()
    email = unique_email("settings")
    register(user, email)
    flow = user.api.create_browser_settings_flow(cookie=user.cookie)
    logout = user.api.create_browser_logout_flow(cookie=user.cookie)
    user.api.update_logout_flow(token=logout.logout_token, cookie=user.cookie)
    error = expect_error(401, user.api.get_settings_flow, id=flow.id, cookie=user.cookie)
    assert error["id"] == "session_inactive"
    error = expect_error(
        401,
        user.api.update_settings_flow,
        flow=flow.id,
        update_settings_flow_body=password_settings(NEW_PASSWORD, csrf_token(flow)),
        cookie=user.cookie,
    )
    assert error["id"] == "session_inactive"


def test_settings_flow_is_read_by_session_alone(browser, frontend):
    email = unique_email("settings-read")
    registered = register(browser, email)
    flow = browser.api.create_browser_settings_flow(cookie=browser.cookie)
    fetched = browser.api.get_settings_flow(id=flow.id, cookie=browser.session_cookie)
    assert fetched.id == flow.id
    assert fetched.identity.id == registered.identity.id
