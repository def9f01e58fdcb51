//! `/self-service/...`: login, registration and settings flows for browsers
//! and native apps, logout, the errors shown to browsers, and the WebAuthn
//! script.
//!
//! Browser endpoints answer with 303 redirects (to the flow's UI, the return
//! URL or the error page) unless the client sends `Accept: application/json`;
//! then they answer JSON like the native ones.

use utoipa::OpenApi;

use super::components::{
    CookieHeader, FlowErrorJson, FlowSubmission, LoginRefresh, LogoutFlow, PerformNativeLogoutBody,
    ReturnTo, SessionHeaders, SuccessfulLogin, SuccessfulRegistration,
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
    oidc_callback,
    oidc_callback_form,
    get_web_authn_java_script,
))]
pub struct Api;

/// Declares each `GET /self-service/<flow>/flows`, which reads a flow by its id:
/// the headers that authorize the read, and the errors before the ones every
/// flow shares (404, 410, default).
macro_rules! get_flow {
    ($(
        fn $name:ident($path:literal, $op:literal, $summary:literal, $headers:ident)
            before_404 [$($status:tt $why:literal),*];
    )*) => {
        operations! {
            tag = "frontend";
            $(
                fn $name(get $path, $op) $summary
                    params(("id" = String, Query, description = "The flow id."), $headers)
                    answers((status = 200, description = "The flow.", body = FlowJson))
                    errors[
                        $($status $why,)*
                        404 "No such flow.",
                        410 "The flow expired; `use_flow_id` names its replacement.",
                        "default" "Error.",
                    ];
            )*
        }
    };
}

/// Declares each `POST /self-service/<flow>`, which submits a flow as JSON or a
/// form: the headers, the success answer (description and body), the
/// browser redirect's description, and the errors between the shared 400
/// and the shared 410, 422 and default.
macro_rules! update_flow {
    ($(
        fn $name:ident($path:literal, $op:literal, $summary:literal, $headers:ident)
            ok ($ok:literal, $ok_body:ident) redirect $redirect:literal
            before_410 [$($status:tt $why:literal),*];
    )*) => {
        operations! {
            tag = "frontend";
            $(
                fn $name(post $path, $op) $summary
                    params(("flow" = String, Query, description = "The flow id."), $headers)
                    form_body(FlowSubmission)
                    submission($ok, $ok_body)
                    redirect($redirect, "The next page.")
                    errors[
                        $($status $why,)*
                        422 "The browser must go elsewhere (`redirect_browser_to`).",
                        "default" "Error.",
                    ];
            )*
        }
    };
}

get_flow! {
    fn get_login_flow("/self-service/login/flows", "getLoginFlow", "Get a login flow", CookieHeader)
        before_404 [403 "The anti-CSRF cookie does not belong to the flow."];
    fn get_registration_flow("/self-service/registration/flows", "getRegistrationFlow", "Get a registration flow", CookieHeader)
        before_404 [403 "The anti-CSRF cookie does not belong to the flow."];
    fn get_settings_flow("/self-service/settings/flows", "getSettingsFlow", "Get a settings flow", SessionHeaders)
        before_404 [
            401 "No valid session.",
            403 "The flow belongs to another identity, or the anti-CSRF cookie does not match."
        ];
}

update_flow! {
    fn update_login_flow("/self-service/login", "updateLoginFlow", "Submit a login flow", SessionHeaders)
        ok ("Signed in.", SuccessfulLogin) redirect "Browser flows: onwards after signing in, or back to the form." before_410 [];
    fn update_registration_flow("/self-service/registration", "updateRegistrationFlow", "Submit a registration flow", CookieHeader)
        ok ("Registered (and signed in when the `session` hook runs).", SuccessfulRegistration) redirect "Browser flows: onwards after registering, or back to the form." before_410 [];
    fn update_settings_flow("/self-service/settings", "updateSettingsFlow", "Submit a settings flow", SessionHeaders)
        ok ("The flow after the change (state `success`).", FlowJson) redirect "Browser flows: onwards after the change, back to the form, or to a refresh login."
        before_410 [
            401 "No valid session.",
            403 "The session is too old (`session_refresh_required`), or the flow belongs to another identity."
        ];
}

operations! {
    tag = "frontend";

    fn create_native_login_flow(get "/self-service/login/api", "createNativeLoginFlow")
        "Start a login flow for a native app"
        params(
            LoginRefresh,
            ("X-Session-Token" = Option<String>, Header, description = "The current session, for a refresh."),
            ("return_session_token_exchange_code" = Option<bool>, Query, description = "`true`: start a session token exchange; the flow carries its `session_token_exchange_code`."),
            ReturnTo,
            ("identity_schema" = Option<String>, Query, description = "An identity schema for the flow: the default schema or one marked `selfservice_selectable`; refused (400) otherwise."),
        )
        ignored("organization", "via")
        answers((status = 200, description = "The new flow.", body = FlowJson))
        errors[
            400 "A session exists already (without `refresh`), or `return_to` is not allowed.",
            "default" "Error.",
        ];

    fn create_browser_login_flow(get "/self-service/login/browser", "createBrowserLoginFlow")
        "Start a login flow for a browser"
        description "Sets the anti-CSRF cookie when the browser has none."
        params(
            LoginRefresh,
            ReturnTo,
            CookieHeader,
            ("login_challenge" = Option<String>, Query, description = "Accepted and ignored (no OAuth2 provider integration)."),
            ("identity_schema" = Option<String>, Query, description = "An identity schema for the flow: the default schema or one marked `selfservice_selectable`; refused (400) otherwise."),
        )
        ignored("organization", "via")
        answers((status = 200, description = "The new flow (with `Accept: application/json`).", body = FlowJson))
        redirect("To the login UI with the flow, or onwards when already signed in.", "The next page.")
        errors[400 "A session exists already, or `return_to` is not allowed.", "default" "Error."];

    fn create_native_registration_flow(
        get "/self-service/registration/api", "createNativeRegistrationFlow"
    ) "Start a registration flow for a native app"
        params(
            ("return_session_token_exchange_code" = Option<bool>, Query, description = "`true`: start a session token exchange; the flow carries its `session_token_exchange_code`."),
            ReturnTo,
            ("identity_schema" = Option<String>, Query, description = "An identity schema for the flow: the default schema or one marked `selfservice_selectable`; refused (400) otherwise."),
        )
        ignored("organization")
        answers((status = 200, description = "The new flow.", body = FlowJson))
        errors[400 "A session exists already, or `return_to` is not allowed.", "default" "Error."];

    fn create_browser_registration_flow(
        get "/self-service/registration/browser", "createBrowserRegistrationFlow"
    ) "Start a registration flow for a browser"
        description "Sets the anti-CSRF cookie when the browser has none."
        params(
            ReturnTo,
            ("login_challenge" = Option<String>, Query, description = "Accepted and ignored (no OAuth2 provider integration)."),
            ("after_verification_return_to" = Option<String>, Query, description = "Accepted and ignored."),
            ("identity_schema" = Option<String>, Query, description = "An identity schema for the flow: the default schema or one marked `selfservice_selectable`; refused (400) otherwise."),
        )
        ignored("organization")
        answers((status = 200, description = "The new flow (with `Accept: application/json`).", body = FlowJson))
        redirect("To the registration UI with the flow, or onwards when already signed in.", "The next page.")
        errors["default" "Error."];

    fn create_native_settings_flow(get "/self-service/settings/api", "createNativeSettingsFlow")
        "Start a settings flow for a native app"
        params(("X-Session-Token" = Option<String>, Header, description = "The session whose identity is changed."))
        ignored("organization")
        answers((status = 200, description = "The new flow.", body = FlowJson))
        errors[400 "Bad request.", "default" "Error, e.g. 401 without a valid session."];

    fn create_browser_settings_flow(get "/self-service/settings/browser", "createBrowserSettingsFlow")
        "Start a settings flow for a browser"
        params(ReturnTo, CookieHeader)
        ignored("organization")
        answers((status = 200, description = "The new flow (with `Accept: application/json`).", body = FlowJson))
        redirect("To the settings UI with the flow, or to login without a session.", "The next page.")
        errors[
            400 "`return_to` is not allowed.",
            401 "No valid session.",
            403 "Forbidden.",
            "default" "Error.",
        ];

    fn create_browser_logout_flow(get "/self-service/logout/browser", "createBrowserLogoutFlow")
        "Get a logout URL for the browser's session"
        params(
            ("cookie" = Option<String>, Header, description = "The browser's cookies, holding the session cookie."),
            ("return_to" = Option<String>, Query, description = "Where to go after logout; must be an allowed return URL."),
        )
        answers((status = 200, description = "The logout URL and its token.", body = LogoutFlow))
        errors[
            400 "`return_to` is not allowed.",
            401 "No valid session cookie.",
            500 "Internal error.",
        ];

    fn update_logout_flow(get "/self-service/logout", "updateLogoutFlow") "Log a browser out"
        description "Ends the session the logout token was made for and clears the session cookie."
        params(
            ("token" = Option<String>, Query, description = "The logout token (required)."),
            ReturnTo,
            CookieHeader,
        )
        answers((status = 204, description = "Logged out (with `Accept: application/json`)."))
        redirect("Logged out; onwards to `return_to` or the configured page.", "The next page.")
        errors["default" "Error: 400 without a token, 403 for an invalid one."];

    fn perform_native_logout(delete "/self-service/logout/api", "performNativeLogout")
        "Log a native app out"
        body = PerformNativeLogoutBody
        answers((status = 204, description = "The session is revoked."))
        errors[
            400 "The token is missing.",
            "default" "Error: 403 when the token is unknown or inactive.",
        ];

    fn get_flow_error(get "/self-service/errors", "getFlowError")
        "Get the error a browser was sent to the error page for"
        params(("id" = String, Query, description = "The error id."))
        answers((status = 200, description = "The stored error.", body = FlowErrorJson))
        errors[
            400 "The id is missing.",
            403 "Forbidden.",
            404 "No such error.",
            500 "Internal error.",
        ];

    fn get_web_authn_java_script(get "/.well-known/ory/webauthn.js", "getWebAuthnJavaScript")
        "Get the WebAuthn script"
        description "The functions that the `onclickTrigger` and `onloadTrigger` attributes of \
            WebAuthn and passkey nodes name (`oryWebAuthnRegistration`, `oryWebAuthnLogin`, \
            `oryPasskeyLogin`, `oryPasskeyLoginAutocompleteInit`, `oryPasskeyRegistration`, \
            `oryPasskeySettingsRegistration`, each also as `__` and the name). The script node \
            carries its subresource integrity digest."
        answers((status = 200, description = "The script.", content_type = "text/javascript", body = String))
        errors[];
}

operations! {
    tag = "bia";

    fn oidc_callback(get "/self-service/methods/oidc/callback/{provider}", "oidcCallback")
        "Where an OpenID Connect provider sends the browser back"
        description "Completes the login or registration flow the `state` names: the code is \
            exchanged, the ID token checked and the identity signed in or created. Browsers go \
            on as after any completed flow, or back to the flow's page with its messages."
        params(
            ("provider" = String, Path, description = "The provider id."),
            ("state" = Option<String>, Query, description = "The state sent to the provider."),
            ("code" = Option<String>, Query, description = "The authorization code."),
            ("error" = Option<String>, Query, description = "The provider's error code."),
            ("error_description" = Option<String>, Query, description = "The provider's error text."),
            CookieHeader,
        )
        redirect("Onwards after the flow, or back to the flow's page.", "The next page.")
        errors[
            400 "The state is missing or malformed, or the flow refused the answer.",
            403 "The browser is not the one that started the flow.",
            404 "No such flow.",
            "default" "Error.",
        ];

    fn oidc_callback_form(post "/self-service/methods/oidc/callback/{provider}", "oidcCallbackForm")
        "Where a provider using response_mode=form_post (Apple) posts its answer"
        description "The posted `state`, `code`, `error`, `error_description` and `user` are sent \
            on to the GET of the same path as its query, so that the browser's own navigation \
            brings its cookies. Other fields are dropped."
        params(("provider" = String, Path, description = "The provider id."))
        body(content = String, content_type = "application/x-www-form-urlencoded",
            description = "The provider's answer, at most 16 KiB.")
        redirect("On to the GET of the callback.", "The callback with the answer as its query.")
        errors[
            413 "The body is larger than a provider's answer can be.",
            "default" "Error.",
        ];
}
