//! `/self-service/...`: login, registration and settings flows for browsers
//! and native apps, logout, and the errors shown to browsers.
//!
//! Browser endpoints answer with 303 redirects (to the flow's UI, the return
//! URL or the error page) unless the client sends `Accept: application/json`;
//! then they answer JSON like the native ones.

use utoipa::OpenApi;

use super::components::{
    CookieHeader, ErrorEnvelope, FlowErrorJson, FlowOrError, FlowSubmission, LogoutFlow,
    PerformNativeLogoutBody, SessionHeaders, SuccessfulLogin, SuccessfulRegistration,
};
use crate::http::flow_json::FlowJson;

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(
    create_native_login_flow,
    create_browser_login_flow,
    get_login_flow,
    update_login_flow,
    create_native_registration_flow,
    create_browser_registration_flow,
    get_registration_flow,
    update_registration_flow,
    create_native_settings_flow,
    create_browser_settings_flow,
    get_settings_flow,
    update_settings_flow,
    create_browser_logout_flow,
    update_logout_flow,
    perform_native_logout,
    get_flow_error,
))]
pub struct Api;

/// Declares each `GET /self-service/<flow>/flows`, which reads a flow by its id:
/// the headers that authorize the read, and the answers between the flow
/// (200) and the ones every flow shares (404, 410, default).
macro_rules! get_flow {
    ($(
        fn $name:ident($path:literal, $op:literal, $summary:literal, $headers:ident)
            before_404 [$($before_404:tt)*];
    )*) => {$(
        #[utoipa::path(
            get, path = $path, operation_id = $op, tag = "frontend",
            summary = $summary,
            params(
                ("id" = String, Query, description = "The flow id."),
                $headers,
            ),
            responses(
                (status = 200, description = "The flow.", body = FlowJson),
                $($before_404)*
                (status = 404, description = "No such flow.", body = ErrorEnvelope),
                (status = 410, description = "The flow expired; `use_flow_id` names its replacement.", body = ErrorEnvelope),
                (status = "default", description = "Error.", body = ErrorEnvelope),
            ),
        )]
        fn $name() {}
    )*};
}

/// Declares each `POST /self-service/<flow>`, which submits a flow as JSON or a
/// form: the headers, the success answer (description and body), the
/// browser redirect's description, and the answers between the shared 400
/// and the shared 410, 422 and default.
macro_rules! update_flow {
    ($(
        fn $name:ident($path:literal, $op:literal, $summary:literal, $headers:ident)
            ok ($ok:literal, $ok_body:ident) redirect $redirect:literal
            before_410 [$($before_410:tt)*];
    )*) => {$(
        #[utoipa::path(
            post, path = $path, operation_id = $op, tag = "frontend",
            summary = $summary,
            params(
                ("flow" = String, Query, description = "The flow id."),
                $headers,
            ),
            request_body(content(
                (FlowSubmission = "application/json"),
                (FlowSubmission = "application/x-www-form-urlencoded"),
            )),
            responses(
                (status = 200, description = $ok, body = $ok_body),
                (status = 303, description = $redirect,
                    headers(("Location" = String, description = "The next page."))),
                (status = 400, description = "The flow with messages on its fields, or a malformed request.", body = FlowOrError),
                $($before_410)*
                (status = 410, description = "The flow expired; `use_flow_id` names its replacement.", body = ErrorEnvelope),
                (status = 422, description = "The browser must go elsewhere (`redirect_browser_to`).", body = ErrorEnvelope),
                (status = "default", description = "Error.", body = ErrorEnvelope),
            ),
        )]
        fn $name() {}
    )*};
}

get_flow! {
    fn get_login_flow("/self-service/login/flows", "getLoginFlow", "Get a login flow", CookieHeader)
        before_404 [(status = 403, description = "The anti-CSRF cookie does not belong to the flow.", body = ErrorEnvelope),];
    fn get_registration_flow("/self-service/registration/flows", "getRegistrationFlow", "Get a registration flow", CookieHeader)
        before_404 [(status = 403, description = "The anti-CSRF cookie does not belong to the flow.", body = ErrorEnvelope),];
    fn get_settings_flow("/self-service/settings/flows", "getSettingsFlow", "Get a settings flow", SessionHeaders)
        before_404 [(status = 401, description = "No valid session.", body = ErrorEnvelope), (status = 403, description = "The flow belongs to another identity, or the anti-CSRF cookie does not match.", body = ErrorEnvelope),];
}

update_flow! {
    fn update_login_flow("/self-service/login", "updateLoginFlow", "Submit a login flow", SessionHeaders)
        ok ("Signed in.", SuccessfulLogin) redirect "Browser flows: onwards after signing in, or back to the form." before_410 [];
    fn update_registration_flow("/self-service/registration", "updateRegistrationFlow", "Submit a registration flow", CookieHeader)
        ok ("Registered (and signed in when the `session` hook runs).", SuccessfulRegistration) redirect "Browser flows: onwards after registering, or back to the form." before_410 [];
    fn update_settings_flow("/self-service/settings", "updateSettingsFlow", "Submit a settings flow", SessionHeaders)
        ok ("The flow after the change (state `success`).", FlowJson) redirect "Browser flows: onwards after the change, back to the form, or to a refresh login." before_410 [(status = 401, description = "No valid session.", body = ErrorEnvelope), (status = 403, description = "The session is too old (`session_refresh_required`), or the flow belongs to another identity.", body = ErrorEnvelope),];
}

#[utoipa::path(
    get, path = "/self-service/login/api", operation_id = "createNativeLoginFlow", tag = "frontend",
    summary = "Start a login flow for a native app",
    params(
        ("refresh" = Option<bool>, Query, description = "Sign in again although a session exists (re-authentication)."),
        ("aal" = Option<String>, Query, description = "Accepted; only `aal1` is offered."),
        ("X-Session-Token" = Option<String>, Header, description = "The current session, for a refresh."),
        ("return_session_token_exchange_code" = Option<bool>, Query, description = "Accepted and ignored."),
        ("return_to" = Option<String>, Query, description = "Where to go afterwards; must be an allowed return URL."),
        ("organization" = Option<String>, Query, description = "Accepted and ignored."),
        ("via" = Option<String>, Query, description = "Accepted and ignored."),
        ("identity_schema" = Option<String>, Query, description = "Accepted and ignored."),
    ),
    responses(
        (status = 200, description = "The new flow.", body = FlowJson),
        (status = 400, description = "A session exists already (without `refresh`), or `return_to` is not allowed.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn create_native_login_flow() {}

#[utoipa::path(
    get, path = "/self-service/login/browser", operation_id = "createBrowserLoginFlow", tag = "frontend",
    summary = "Start a login flow for a browser",
    description = "Sets the anti-CSRF cookie when the browser has none.",
    params(
        ("refresh" = Option<bool>, Query, description = "Sign in again although a session exists (re-authentication)."),
        ("aal" = Option<String>, Query, description = "Accepted; only `aal1` is offered."),
        ("return_to" = Option<String>, Query, description = "Where to go afterwards; must be an allowed return URL."),
        CookieHeader,
        ("login_challenge" = Option<String>, Query, description = "Accepted and ignored (no OAuth2 provider integration)."),
        ("organization" = Option<String>, Query, description = "Accepted and ignored."),
        ("via" = Option<String>, Query, description = "Accepted and ignored."),
        ("identity_schema" = Option<String>, Query, description = "Accepted and ignored."),
    ),
    responses(
        (status = 200, description = "The new flow (with `Accept: application/json`).", body = FlowJson),
        (status = 303, description = "To the login UI with the flow, or onwards when already signed in.",
            headers(("Location" = String, description = "The next page."))),
        (status = 400, description = "A session exists already, or `return_to` is not allowed.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn create_browser_login_flow() {}

#[utoipa::path(
    get, path = "/self-service/registration/api", operation_id = "createNativeRegistrationFlow", tag = "frontend",
    summary = "Start a registration flow for a native app",
    params(
        ("return_session_token_exchange_code" = Option<bool>, Query, description = "Accepted and ignored."),
        ("return_to" = Option<String>, Query, description = "Where to go afterwards; must be an allowed return URL."),
        ("organization" = Option<String>, Query, description = "Accepted and ignored."),
        ("identity_schema" = Option<String>, Query, description = "Accepted and ignored."),
    ),
    responses(
        (status = 200, description = "The new flow.", body = FlowJson),
        (status = 400, description = "A session exists already, or `return_to` is not allowed.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn create_native_registration_flow() {}

#[utoipa::path(
    get, path = "/self-service/registration/browser", operation_id = "createBrowserRegistrationFlow", tag = "frontend",
    summary = "Start a registration flow for a browser",
    description = "Sets the anti-CSRF cookie when the browser has none.",
    params(
        ("return_to" = Option<String>, Query, description = "Where to go afterwards; must be an allowed return URL."),
        ("login_challenge" = Option<String>, Query, description = "Accepted and ignored (no OAuth2 provider integration)."),
        ("after_verification_return_to" = Option<String>, Query, description = "Accepted and ignored."),
        ("organization" = Option<String>, Query, description = "Accepted and ignored."),
        ("identity_schema" = Option<String>, Query, description = "Accepted and ignored."),
    ),
    responses(
        (status = 200, description = "The new flow (with `Accept: application/json`).", body = FlowJson),
        (status = 303, description = "To the registration UI with the flow, or onwards when already signed in.",
            headers(("Location" = String, description = "The next page."))),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn create_browser_registration_flow() {}

#[utoipa::path(
    get, path = "/self-service/settings/api", operation_id = "createNativeSettingsFlow", tag = "frontend",
    summary = "Start a settings flow for a native app",
    params(
        ("X-Session-Token" = Option<String>, Header, description = "The session whose identity is changed."),
        ("organization" = Option<String>, Query, description = "Accepted and ignored."),
    ),
    responses(
        (status = 200, description = "The new flow.", body = FlowJson),
        (status = 400, description = "Bad request.", body = ErrorEnvelope),
        (status = "default", description = "Error, e.g. 401 without a valid session.", body = ErrorEnvelope),
    ),
)]
fn create_native_settings_flow() {}

#[utoipa::path(
    get, path = "/self-service/settings/browser", operation_id = "createBrowserSettingsFlow", tag = "frontend",
    summary = "Start a settings flow for a browser",
    params(
        ("return_to" = Option<String>, Query, description = "Where to go afterwards; must be an allowed return URL."),
        CookieHeader,
        ("organization" = Option<String>, Query, description = "Accepted and ignored."),
    ),
    responses(
        (status = 200, description = "The new flow (with `Accept: application/json`).", body = FlowJson),
        (status = 303, description = "To the settings UI with the flow, or to login without a session.",
            headers(("Location" = String, description = "The next page."))),
        (status = 400, description = "`return_to` is not allowed.", body = ErrorEnvelope),
        (status = 401, description = "No valid session.", body = ErrorEnvelope),
        (status = 403, description = "Forbidden.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn create_browser_settings_flow() {}

#[utoipa::path(
    get, path = "/self-service/logout/browser", operation_id = "createBrowserLogoutFlow", tag = "frontend",
    summary = "Get a logout URL for the browser's session",
    params(
        ("cookie" = Option<String>, Header, description = "The browser's cookies, holding the session cookie."),
        ("return_to" = Option<String>, Query, description = "Where to go after logout; must be an allowed return URL."),
    ),
    responses(
        (status = 200, description = "The logout URL and its token.", body = LogoutFlow),
        (status = 400, description = "`return_to` is not allowed.", body = ErrorEnvelope),
        (status = 401, description = "No valid session cookie.", body = ErrorEnvelope),
        (status = 500, description = "Internal error.", body = ErrorEnvelope),
    ),
)]
fn create_browser_logout_flow() {}

#[utoipa::path(
    get, path = "/self-service/logout", operation_id = "updateLogoutFlow", tag = "frontend",
    summary = "Log a browser out",
    description = "Ends the session the logout token was made for and clears the session cookie.",
    params(
        ("token" = Option<String>, Query, description = "The logout token (required)."),
        ("return_to" = Option<String>, Query, description = "Where to go afterwards; must be an allowed return URL."),
        CookieHeader,
    ),
    responses(
        (status = 204, description = "Logged out (with `Accept: application/json`)."),
        (status = 303, description = "Logged out; onwards to `return_to` or the configured page.",
            headers(("Location" = String, description = "The next page."))),
        (status = "default", description = "Error: 400 without a token, 403 for an invalid one.", body = ErrorEnvelope),
    ),
)]
fn update_logout_flow() {}

#[utoipa::path(
    delete, path = "/self-service/logout/api", operation_id = "performNativeLogout", tag = "frontend",
    summary = "Log a native app out",
    request_body = PerformNativeLogoutBody,
    responses(
        (status = 204, description = "The session is revoked."),
        (status = 400, description = "The token is missing.", body = ErrorEnvelope),
        (status = "default", description = "Error: 403 when the token is unknown or inactive.", body = ErrorEnvelope),
    ),
)]
fn perform_native_logout() {}

#[utoipa::path(
    get, path = "/self-service/errors", operation_id = "getFlowError", tag = "frontend",
    summary = "Get the error a browser was sent to the error page for",
    params(("id" = String, Query, description = "The error id.")),
    responses(
        (status = 200, description = "The stored error.", body = FlowErrorJson),
        (status = 400, description = "The id is missing.", body = ErrorEnvelope),
        (status = 403, description = "Forbidden.", body = ErrorEnvelope),
        (status = 404, description = "No such error.", body = ErrorEnvelope),
        (status = 500, description = "Internal error.", body = ErrorEnvelope),
    ),
)]
fn get_flow_error() {}
