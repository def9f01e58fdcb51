"""The self-service session endpoints (whoami, list, revoke one, revoke the
others) by session cookie and by session token, through the official SDK."""

from __future__ import annotations

from test_browser_flows import register
from test_native_flows import sign_in

from selfservice import SESSION_COOKIE
from support import expect_error, unique_email

UNKNOWN = "7e0d7e43-1f44-4e58-8d4f-1b4a40f0a2b1"


def test_my_sessions_by_cookie(browser, frontend):
    email = unique_email("cookie-sessions")
    registered = register(browser, email)
    current = browser.api.to_session(cookie=browser.cookie)
    assert current.identity.id == registered.identity.id
    native = [sign_in(frontend, email) for _ in range(2)]

    # The cookie's view: every other session of the identity.
    listed = browser.api.list_my_sessions(cookie=browser.cookie)
    assert sorted(s.id for s in listed) == sorted(n.session.id for n in native)
    assert all(s.identity is None or s.identity.id == registered.identity.id for s in listed)
    # A token's view: the cookie's session is one of the others.
    listed = frontend.list_my_sessions(x_session_token=native[0].session_token)
    assert sorted(s.id for s in listed) == sorted([current.id, native[1].session.id])

    # Revoke one by cookie.
    assert browser.api.disable_my_session(id=native[0].session.id, cookie=browser.cookie) is None
    error = expect_error(401, frontend.to_session, x_session_token=native[0].session_token)
    assert error["id"] == "session_inactive"
    # Not the current one (that is what logout is for), nor one that is not ours.
    expect_error(400, browser.api.disable_my_session, id=current.id, cookie=browser.cookie)
    expect_error(404, browser.api.disable_my_session, id=UNKNOWN, cookie=browser.cookie)
    assert browser.api.to_session(cookie=browser.cookie).active

    # Revoke every other session by cookie.
    count = browser.api.disable_my_other_sessions(cookie=browser.cookie)
    assert count.count == 1
    expect_error(401, frontend.to_session, x_session_token=native[1].session_token)
    assert browser.api.list_my_sessions(cookie=browser.cookie) == []
    assert browser.api.to_session(cookie=browser.cookie).id == current.id


def test_token_sessions_revoke_a_cookie_session(browser, frontend):
    email = unique_email("token-sessions")
    register(browser, email)
    cookie_session = browser.api.to_session(cookie=browser.cookie)
    native = sign_in(frontend, email)

    assert frontend.disable_my_other_sessions(x_session_token=native.session_token).count == 1
    error = expect_error(401, browser.api.to_session, cookie=browser.cookie)
    assert error["id"] == "session_inactive"
    expect_error(401, browser.api.list_my_sessions, cookie=browser.cookie)
    assert frontend.to_session(x_session_token=native.session_token).id == native.session.id
    assert frontend.list_my_sessions(x_session_token=native.session_token) == []
    assert cookie_session.id != native.session.id


def test_header_token_beats_the_cookie(browser, frontend):
    """With both a token header and a cookie, the token decides (as in Kratos)."""
    email = unique_email("both")
    register(browser, email)
    cookie_session = browser.api.to_session(cookie=browser.cookie)
    native = sign_in(frontend, email)
    both = browser.api.to_session(x_session_token=native.session_token, cookie=browser.cookie)
    assert both.id == native.session.id
    listed = browser.api.list_my_sessions(x_session_token=native.session_token, cookie=browser.cookie)
    assert [s.id for s in listed] == [cookie_session.id]


def test_session_endpoints_without_credentials(browser):
    for call, kwargs in (
        (browser.api.to_session, {}),
        (browser.api.list_my_sessions, {}),
        (browser.api.disable_my_other_sessions, {}),
        (browser.api.disable_my_session, {"id": UNKNOWN}),
    ):
        error = expect_error(401, call, **kwargs)
        assert error["id"] == "session_inactive", call
        error = expect_error(401, call, cookie=f"{SESSION_COOKIE}=bm90IGEgc2Vzc2lvbg", **kwargs)
        assert error["id"] == "session_inactive", call
        expect_error(401, call, x_session_token="ory_st_nonsense", **kwargs)
