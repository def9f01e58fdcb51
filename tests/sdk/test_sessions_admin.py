"""The admin session API through the official SDK's IdentityApi."""

from __future__ import annotations

from test_native_flows import sign_in, sign_up

from support import expect_error, unique_email

UNKNOWN = "7e0d7e43-1f44-4e58-8d4f-1b4a40f0a2b1"


def test_admin_sessions(identity_api, frontend):
    email = unique_email("admin-sessions")
    registered = sign_up(frontend, email)
    second = sign_in(frontend, email)
    identity_id = registered.identity.id

    sessions = identity_api.list_sessions(page_size=1000)
    ids = {s.id for s in sessions}
    assert {registered.session.id, second.session.id} <= ids

    expanded = identity_api.get_session(id=registered.session.id, expand=["identity", "devices"])
    assert expanded.identity.id == identity_id
    assert expanded.devices

    mine = identity_api.list_identity_sessions(id=identity_id)
    assert {s.id for s in mine} == {registered.session.id, second.session.id}

    extended = identity_api.extend_session(id=registered.session.id)
    assert extended.id == registered.session.id
    assert extended.expires_at >= registered.session.expires_at

    identity_api.disable_session(id=second.session.id)
    assert identity_api.get_session(id=second.session.id).active is False
    active = identity_api.list_identity_sessions(id=identity_id, active=True)
    assert [s.id for s in active] == [registered.session.id]

    identity_api.delete_identity_sessions(id=identity_id)
    assert identity_api.list_identity_sessions(id=identity_id) == []
    expect_error(401, frontend.to_session, x_session_token=registered.session_token)

    expect_error(404, identity_api.get_session, id=UNKNOWN)
    expect_error(404, identity_api.list_identity_sessions, id=UNKNOWN)
    expect_error(404, identity_api.delete_identity_sessions, id=UNKNOWN)


def test_extend_waits_for_earliest_possible_extend(identity_api, frontend):
    # A fresh session has 24 hours left, far outside the last hour
    # (`session.earliest_possible_extend`): the call answers with the session
    # as it was and changes nothing.
    registered = sign_up(frontend, unique_email("extend-window"))
    extended = identity_api.extend_session(id=registered.session.id)
    assert extended.id == registered.session.id
    assert extended.expires_at == registered.session.expires_at
    assert extended.identity.id == registered.identity.id
    stored = identity_api.get_session(id=registered.session.id)
    assert stored.expires_at == registered.session.expires_at

    expect_error(404, identity_api.extend_session, id=UNKNOWN)
