//! `/ui/...`: Bia's built-in account pages (HTML), used when a flow has no
//! `ui_url` of its own. Not part of the Kratos API.

use utoipa::OpenApi;

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(login_page, registration_page, settings_page, error_page, welcome_page))]
pub struct Api;

#[utoipa::path(
    get, path = "/ui/login", operation_id = "biaUiLogin", tag = "bia",
    summary = "The sign-in page",
    params(("flow" = Option<String>, Query, description = "The login flow; without a usable one a new flow is started.")),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 303, description = "To a new or replacement flow.",
            headers(("Location" = String, description = "The next page."))),
    ),
)]
fn login_page() {}

#[utoipa::path(
    get, path = "/ui/registration", operation_id = "biaUiRegistration", tag = "bia",
    summary = "The sign-up page",
    params(("flow" = Option<String>, Query, description = "The registration flow; without a usable one a new flow is started.")),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 303, description = "To a new or replacement flow.",
            headers(("Location" = String, description = "The next page."))),
    ),
)]
fn registration_page() {}

#[utoipa::path(
    get, path = "/ui/settings", operation_id = "biaUiSettings", tag = "bia",
    summary = "The account settings page",
    params(("flow" = Option<String>, Query, description = "The settings flow; without a usable one a new flow is started.")),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 303, description = "To a new or replacement flow.",
            headers(("Location" = String, description = "The next page."))),
    ),
)]
fn settings_page() {}

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
