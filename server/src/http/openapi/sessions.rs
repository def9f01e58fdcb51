//! Sessions: `whoami` and the caller's own sessions (public), and the admin
//! session API.

use utoipa::OpenApi;

use super::components::{
    DeleteMySessionsCount, ExchangedSession, IdentityId, ManageSessionsBody,
    ManageSessionsResponse, Paging, SessionHeaders, SessionId,
};
use crate::http::session_json::SessionJson;

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(
    to_session,
    exchange_session_token,
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

operations! {
    tag = "frontend";

    fn to_session(get "/sessions/whoami", "toSession") "Who is signed in"
        description "The session of the token in `X-Session-Token` (or `Authorization: Bearer`) \
                     or of the session cookie."
        params(
            SessionHeaders,
            ("tokenize_as" = Option<String>, Query, description = "Accepted and ignored: sessions are not turned into JWTs."),
        )
        answers((status = 200, description = "The active session with its identity and devices.", body = SessionJson,
            headers(("X-Kratos-Authenticated-Identity-Id" = String, description = "The identity's id."))))
        errors[
            401 "No valid session in the request (`session_inactive`).",
            403 "Forbidden.",
            "default" "Error.",
        ];

    fn exchange_session_token(get "/sessions/token-exchange", "exchangeSessionToken")
        "Exchange a session token"
        description "A native app redeems, once, the codes of a session token exchange: the init \
                     code it got with its flow (`return_session_token_exchange_code=true`) and \
                     the code its `return_to` URL received. Answers the session and a new token."
        params(
            ("init_code" = String, Query, description = "The code the flow was created with."),
            ("return_to_code" = String, Query, description = "The `code` the `return_to` URL received."),
        )
        answers((status = 200, description = "The session and its token.", body = ExchangedSession))
        errors[
            400 "A code is missing.",
            403 "Not answered by Bia (in Kratos's document, for generated clients).",
            404 "No session for these codes: unknown, expired, already redeemed or not completed.",
            410 "Not answered by Bia: an expired exchange is answered 404 (in Kratos's document).",
            422 "Not answered by Bia (in Kratos's document, for generated clients).",
            "default" "Error.",
        ];

    fn list_my_sessions(get "/sessions", "listMySessions") "List the caller's other sessions"
        params(Paging, SessionHeaders)
        page("A page of the caller's other active sessions.", [SessionJson])
        errors[
            400 "A parameter is invalid.",
            401 "No valid session in the request.",
            "default" "Error.",
        ];

    fn disable_my_other_sessions(delete "/sessions", "disableMyOtherSessions")
        "Revoke the caller's other sessions"
        params(SessionHeaders)
        answers((status = 200, description = "How many sessions were revoked.", body = DeleteMySessionsCount))
        errors[400 "Bad request.", 401 "No valid session in the request.", "default" "Error."];

    fn disable_my_session(delete "/sessions/{id}", "disableMySession")
        "Revoke one of the caller's other sessions"
        params(SessionId, SessionHeaders)
        answers((status = 204, description = "Revoked."))
        errors[
            400 "The id is the current session's: use logout instead.",
            401 "No valid session in the request.",
            "default" "Error.",
        ];
}

operations! {
    tag = "identity";

    fn list_sessions(get "/admin/sessions", "listSessions") "List sessions"
        params(
            ("page_size" = Option<u64>, Query, description = "Items per page: 1 to 1000, 250 by default."),
            ("page_token" = Option<String>, Query, description = "The token of the next page, from the `Link` header."),
            ("active" = Option<bool>, Query, description = "Only active (`true`) or inactive (`false`) sessions."),
            ("expand" = Option<Vec<String>>, Query, description = "`identity` and/or `devices`."),
        )
        page("A page of sessions.", [SessionJson])
        errors[400 "A parameter is invalid.", "default" "Error."];

    fn manage_sessions(post "/admin/sessions", "manageSessions") "Disable or delete sessions in bulk"
        body = ManageSessionsBody
        answers((status = 200, description = "How many sessions were changed, and whether more remain.", body = ManageSessionsResponse))
        errors[400 "The body is invalid.", 401 "Unauthorized.", "default" "Error."];

    fn get_session(get "/admin/sessions/{id}", "getSession") "Get a session"
        params(
            ("expand" = Option<Vec<String>>, Query, description = "`identity` and/or `devices`."),
            SessionId,
        )
        answers((status = 200, description = "The session.", body = SessionJson))
        errors[400 "A parameter is invalid.", "default" "Error, e.g. 404 for an unknown session."];

    fn disable_session(delete "/admin/sessions/{id}", "disableSession") "Deactivate a session"
        params(SessionId)
        answers((status = 204, description = "Deactivated."))
        errors[
            400 "Bad request.",
            401 "Unauthorized.",
            "default" "Error, e.g. 404 for an unknown session.",
        ];

    fn extend_session(patch "/admin/sessions/{id}/extend", "extendSession") "Extend a session"
        description "Renews the expiry, once the session has at most \
                     `session.earliest_possible_extend` left; earlier calls answer the session \
                     unchanged."
        params(SessionId)
        answers(
            (status = 200, description = "The session, extended or as it was.", body = SessionJson),
            (status = 204, description = "Not sent by this server; listed as in Kratos."),
        )
        errors[400 "Bad request.", 404 "No such active session.", "default" "Error."];

    fn list_identity_sessions(get "/admin/identities/{id}/sessions", "listIdentitySessions")
        "List an identity's sessions"
        params(
            Paging,
            IdentityId,
            ("active" = Option<bool>, Query, description = "Only active (`true`) or inactive (`false`) sessions."),
        )
        page("A page of the identity's sessions.", [SessionJson])
        errors[400 "A parameter is invalid.", 404 "No such identity.", "default" "Error."];

    fn delete_identity_sessions(delete "/admin/identities/{id}/sessions", "deleteIdentitySessions")
        "Delete an identity's sessions"
        params(IdentityId)
        answers((status = 204, description = "Deleted."))
        errors[
            400 "Bad request.",
            401 "Unauthorized.",
            404 "No such identity.",
            "default" "Error.",
        ];
}
