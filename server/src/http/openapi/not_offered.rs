//! `/self-service/{recovery,verification}...`: flows this version does not
//! offer. Their operations exist with Kratos's parameters and answer as
//! Kratos does when such a flow is disabled.

use utoipa::{IntoParams, OpenApi};

use super::components::{CookieHeader, ErrorEnvelope, FlowSubmission};

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(
    create_native_recovery_flow,
    create_browser_recovery_flow,
    get_recovery_flow,
    update_recovery_flow,
    create_native_verification_flow,
    create_browser_verification_flow,
    get_verification_flow,
    update_verification_flow,
))]
pub struct Api;

/// The query of a submission.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmitQuery {
    /// The flow id.
    pub flow: String,
    /// Ignored.
    pub token: Option<String>,
}

/// Declares one operation of a flow that is not offered: its parameters,
/// its request body if any, and the answers besides the shared 400 and
/// default.
macro_rules! not_offered {
    ($(
        fn $name:ident($method:ident $path:literal, $op:literal, $summary:literal)
            params [$($params:tt)*] $(body [$($body:tt)*])? answers [$($answers:tt)*];
    )*) => {$(
        #[utoipa::path(
            $method, path = $path, operation_id = $op, tag = "frontend",
            summary = $summary,
            description = "This version has no recovery or verification flows: every request is \
                answered as Kratos answers one to a disabled flow.",
            params($($params)*),
            $(request_body(content($($body)*)),)?
            responses(
                $($answers)*
                (status = 400, description = "`<Flow> is not allowed because it was disabled.`", body = ErrorEnvelope),
                (status = "default", description = "Error.", body = ErrorEnvelope),
            ),
        )]
        fn $name() {}
    )*};
}

not_offered! {
    fn create_native_recovery_flow(get "/self-service/recovery/api", "createNativeRecoveryFlow", "Start a recovery flow for a native app (disabled)")
        params [] answers [];
    fn create_browser_recovery_flow(get "/self-service/recovery/browser", "createBrowserRecoveryFlow", "Start a recovery flow for a browser (disabled)")
        params [
            ("return_to" = Option<String>, Query, description = "Ignored."),
            ("skip_settings" = Option<bool>, Query, description = "Ignored."),
        ]
        answers [(status = 303, description = "To the error page showing the disabled error (browsers that want pages).",
            headers(("Location" = String, description = "The error page."))),];
    fn get_recovery_flow(get "/self-service/recovery/flows", "getRecoveryFlow", "Get a recovery flow (disabled)")
        params [("id" = String, Query, description = "The flow id."), CookieHeader]
        answers [];
    fn update_recovery_flow(post "/self-service/recovery", "updateRecoveryFlow", "Submit a recovery flow (disabled)")
        params [SubmitQuery, CookieHeader]
        body [(FlowSubmission = "application/json"), (FlowSubmission = "application/x-www-form-urlencoded")]
        answers [(status = 303, description = "To the error page showing the disabled error (browsers that want pages).",
            headers(("Location" = String, description = "The error page."))),];
    fn create_native_verification_flow(get "/self-service/verification/api", "createNativeVerificationFlow", "Start a verification flow for a native app (disabled)")
        params [("return_to" = Option<String>, Query, description = "Ignored.")]
        answers [];
    fn create_browser_verification_flow(get "/self-service/verification/browser", "createBrowserVerificationFlow", "Start a verification flow for a browser (disabled)")
        params [("return_to" = Option<String>, Query, description = "Ignored.")]
        answers [(status = 303, description = "To the error page showing the disabled error (browsers that want pages).",
            headers(("Location" = String, description = "The error page."))),];
    fn get_verification_flow(get "/self-service/verification/flows", "getVerificationFlow", "Get a verification flow (disabled)")
        params [("id" = String, Query, description = "The flow id."), CookieHeader]
        answers [];
    fn update_verification_flow(post "/self-service/verification", "updateVerificationFlow", "Submit a verification flow (disabled)")
        params [SubmitQuery, CookieHeader]
        body [(FlowSubmission = "application/json"), (FlowSubmission = "application/x-www-form-urlencoded")]
        answers [(status = 303, description = "To the error page showing the disabled error (browsers that want pages).",
            headers(("Location" = String, description = "The error page."))),];
}
