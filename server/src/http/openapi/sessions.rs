//! Sessions: `whoami` and the caller's own sessions (public), and the admin
//! session API.

use utoipa::OpenApi;

use super::components::{
    DeleteMySessionsCount, ErrorEnvelope, IdentityId, ManageSessionsBody, ManageSessionsResponse,
    Paging, SessionHeaders, SessionId,
};
use crate::http::session_json::SessionJson;

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(
    to_session,
    list_my_sessions,
    disable_my_other_sessions,
    disable_my_session,
    list_sessions,
    manage_sessions,
    get_session,
    disable_session,
    extend_session,
    list_identity_sessions,
    delete_identity_sessions,
))]
pub struct Api;

#[utoipa::path(
    get, path = "/sessions/whoami", operation_id = "toSession", tag = "frontend",
    summary = "Who is signed in",
    description = "The session of the token in `X-Session-Token` (or `Authorization: Bearer`) \
                   or of the session cookie.",
    params(
        SessionHeaders,
        ("tokenize_as" = Option<String>, Query, description = "Accepted and ignored: sessions are not turned into JWTs."),
    ),
    responses(
        (status = 200, description = "The active session with its identity and devices.", body = SessionJson,
            headers(("X-Kratos-Authenticated-Identity-Id" = String, description = "The identity's id."))),
        (status = 401, description = "No valid session in the request (`session_inactive`).", body = ErrorEnvelope),
        (status = 403, description = "Forbidden.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn to_session() {}

#[utoipa::path(
    get, path = "/sessions", operation_id = "listMySessions", tag = "frontend",
    summary = "List the caller's other sessions",
    params(Paging, SessionHeaders),
    responses(
        (status = 200, description = "A page of the caller's other active sessions.", body = [SessionJson],
            headers(("Link" = String, description = "The first and (when there is one) the next page."))),
        (status = 400, description = "A parameter is invalid.", body = ErrorEnvelope),
        (status = 401, description = "No valid session in the request.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn list_my_sessions() {}

#[utoipa::path(
    delete, path = "/sessions", operation_id = "disableMyOtherSessions", tag = "frontend",
    summary = "Revoke the caller's other sessions",
    params(SessionHeaders),
    responses(
        (status = 200, description = "How many sessions were revoked.", body = DeleteMySessionsCount),
        (status = 400, description = "Bad request.", body = ErrorEnvelope),
        (status = 401, description = "No valid session in the request.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn disable_my_other_sessions() {}

#[utoipa::path(
    delete, path = "/sessions/{id}", operation_id = "disableMySession", tag = "frontend",
    summary = "Revoke one of the caller's other sessions",
    params(SessionId, SessionHeaders),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, description = "The id is the current session's: use logout instead.", body = ErrorEnvelope),
        (status = 401, description = "No valid session in the request.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn disable_my_session() {}

#[utoipa::path(
    get, path = "/admin/sessions", operation_id = "listSessions", tag = "identity",
    summary = "List sessions",
    params(
        ("page_size" = Option<u64>, Query, description = "Items per page: 1 to 1000, 250 by default."),
        ("page_token" = Option<String>, Query, description = "The token of the next page, from the `Link` header."),
        ("active" = Option<bool>, Query, description = "Only active (`true`) or inactive (`false`) sessions."),
        ("expand" = Option<Vec<String>>, Query, description = "`identity` and/or `devices`."),
    ),
    responses(
        (status = 200, description = "A page of sessions.", body = [SessionJson],
            headers(("Link" = String, description = "The first and (when there is one) the next page."))),
        (status = 400, description = "A parameter is invalid.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn list_sessions() {}

#[utoipa::path(
    post, path = "/admin/sessions", operation_id = "manageSessions", tag = "identity",
    summary = "Disable or delete sessions in bulk",
    request_body = ManageSessionsBody,
    responses(
        (status = 200, description = "How many sessions were changed, and whether more remain.", body = ManageSessionsResponse),
        (status = 400, description = "The body is invalid.", body = ErrorEnvelope),
        (status = 401, description = "Unauthorized.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn manage_sessions() {}

#[utoipa::path(
    get, path = "/admin/sessions/{id}", operation_id = "getSession", tag = "identity",
    summary = "Get a session",
    params(
        ("expand" = Option<Vec<String>>, Query, description = "`identity` and/or `devices`."),
        SessionId,
    ),
    responses(
        (status = 200, description = "The session.", body = SessionJson),
        (status = 400, description = "A parameter is invalid.", body = ErrorEnvelope),
        (status = "default", description = "Error, e.g. 404 for an unknown session.", body = ErrorEnvelope),
    ),
)]
fn get_session() {}

#[utoipa::path(
    delete, path = "/admin/sessions/{id}", operation_id = "disableSession", tag = "identity",
    summary = "Deactivate a session",
    params(SessionId),
    responses(
        (status = 204, description = "Deactivated."),
        (status = 400, description = "Bad request.", body = ErrorEnvelope),
        (status = 401, description = "Unauthorized.", body = ErrorEnvelope),
        (status = "default", description = "Error, e.g. 404 for an unknown session.", body = ErrorEnvelope),
    ),
)]
fn disable_session() {}

#[utoipa::path(
    patch, path = "/admin/sessions/{id}/extend", operation_id = "extendSession", tag = "identity",
    summary = "Extend a session",
    description = "Renews the expiry, once the session has at most \
                   `session.earliest_possible_extend` left; earlier calls answer the session \
                   unchanged.",
    params(SessionId),
    responses(
        (status = 200, description = "The session, extended or as it was.", body = SessionJson),
        (status = 204, description = "Not sent by this server; listed as in Kratos."),
        (status = 400, description = "Bad request.", body = ErrorEnvelope),
        (status = 404, description = "No such active session.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn extend_session() {}

#[utoipa::path(
    get, path = "/admin/identities/{id}/sessions", operation_id = "listIdentitySessions", tag = "identity",
    summary = "List an identity's sessions",
    params(
        Paging,
        IdentityId,
        ("active" = Option<bool>, Query, description = "Only active (`true`) or inactive (`false`) sessions."),
    ),
    responses(
        (status = 200, description = "A page of the identity's sessions.", body = [SessionJson],
            headers(("Link" = String, description = "The first and (when there is one) the next page."))),
        (status = 400, description = "A parameter is invalid.", body = ErrorEnvelope),
        (status = 404, description = "No such identity.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn list_identity_sessions() {}

#[utoipa::path(
    delete, path = "/admin/identities/{id}/sessions", operation_id = "deleteIdentitySessions", tag = "identity",
    summary = "Delete an identity's sessions",
    params(IdentityId),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Bad request.", body = ErrorEnvelope),
        (status = 401, description = "Unauthorized.", body = ErrorEnvelope),
        (status = 404, description = "No such identity.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn delete_identity_sessions() {}
