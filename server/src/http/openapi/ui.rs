//! `/ui/...`: Bia's built-in account pages (HTML), used when a flow has no
//! `ui_url` of its own. Not part of the Kratos API.

use utoipa::OpenApi;

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(login_page, registration_page, settings_page, error_page, welcome_page))]
pub struct Api;

/// Declares each page of a flow: it takes the flow's id and answers the page,
/// or a redirect to a new or replacement flow.
macro_rules! flow_page {
    ($(
        fn $name:ident($path:literal, $op:literal, $summary:literal) flow $flow:literal;
    )*) => {$(
        #[utoipa::path(
            get, path = $path, operation_id = $op, tag = "bia",
            summary = $summary,
            params(("flow" = Option<String>, Query, description = $flow)),
            responses(
                (status = 200, description = "The page.", body = String, content_type = "text/html"),
                (status = 303, description = "To a new or replacement flow.",
                    headers(("Location" = String, description = "The next page."))),
            ),
        )]
        fn $name() {}
    )*};
}

flow_page! {
    fn login_page("/ui/login", "biaUiLogin", "The sign-in page")
        flow "The login flow; without a usable one a new flow is started.";
    fn registration_page("/ui/registration", "biaUiRegistration", "The sign-up page")
        flow "The registration flow; without a usable one a new flow is started.";
    fn settings_page("/ui/settings", "biaUiSettings", "The account settings page")
        flow "The settings flow; without a usable one a new flow is started.";
}

#[utoipa::path(
    get, path = "/ui/error", operation_id = "biaUiError", tag = "bia",
    summary = "The error page",
    params(("id" = Option<String>, Query, description = "The stored error to show.")),
    responses((status = 200, description = "The page.", body = String, content_type = "text/html")),
)]
fn error_page() {}

#[utoipa::path(
    get, path = "/ui/welcome", operation_id = "biaUiWelcome", tag = "bia",
    summary = "The page after signing in",
    params(("Cookie" = Option<String>, Header, description = "The browser's cookies, holding the session cookie.")),
    responses((status = 200, description = "The page.", body = String, content_type = "text/html")),
)]
fn welcome_page() {}
