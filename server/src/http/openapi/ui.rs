//! `/ui/...`: Bia's built-in account pages (HTML), used when a flow has no
//! `ui_url` of its own. Not part of the Kratos API.

use utoipa::OpenApi;

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(
    login_page,
    registration_page,
    settings_page,
    recovery_page,
    verification_page,
    error_page,
    welcome_page
))]
pub struct Api;

/// Declares an HTML page: its one parameter, the page (200), and any
/// further answers.
macro_rules! page {
    (fn $name:ident($path:literal, $op:literal, $summary:literal) $param:tt [$($more:tt)*]) => {
        #[utoipa::path(
            get, path = $path, operation_id = $op, tag = "bia",
            summary = $summary,
            params($param),
            responses(
                (status = 200, description = "The page.", body = String, content_type = "text/html"),
                $($more)*
            ),
        )]
        fn $name() {}
    };
}

/// Declares each page of a flow: it takes the flow's id and answers the page,
/// or a redirect to a new or replacement flow.
macro_rules! flow_page {
    ($(
        fn $name:ident($path:literal, $op:literal, $summary:literal) flow $flow:literal;
    )*) => {$(
        page!(fn $name($path, $op, $summary) ("flow" = Option<String>, Query, description = $flow) [
            (status = 303, description = "To a new or replacement flow.",
                headers(("Location" = String, description = "The next page."))),
        ]);
    )*};
}

flow_page! {
    fn login_page("/ui/login", "biaUiLogin", "The sign-in page")
        flow "The login flow; without a usable one a new flow is started.";
    fn registration_page("/ui/registration", "biaUiRegistration", "The sign-up page")
        flow "The registration flow; without a usable one a new flow is started.";
    fn settings_page("/ui/settings", "biaUiSettings", "The account settings page")
        flow "The settings flow; without a usable one a new flow is started.";
    fn recovery_page("/ui/recovery", "biaUiRecovery", "The account recovery page")
        flow "The recovery flow; without a usable one a new flow is started.";
    fn verification_page("/ui/verification", "biaUiVerification", "The address verification page")
        flow "The verification flow; without a usable one a new flow is started.";
}

page!(fn error_page("/ui/error", "biaUiError", "The error page")
    ("id" = Option<String>, Query, description = "The stored error to show.") []);

page!(fn welcome_page("/ui/welcome", "biaUiWelcome", "The page after signing in")
    ("Cookie" = Option<String>, Header, description = "The browser's cookies, holding the session cookie.") []);
