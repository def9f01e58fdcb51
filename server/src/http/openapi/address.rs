//! `/self-service/{recovery,verification}...` and `/admin/recovery/...`:
//! flows that send a code or link to an address, and recovery codes and
//! links made by an administrator.

use utoipa::OpenApi;

use super::components::{CookieHeader, FlowSubmission, MessageLink, ReturnTo, SubmittedFlow};
use crate::http::flow_json::FlowJson;
use crate::http::recovery::RecoveryForIdentityBody;

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(
    create_native_recovery_flow,
    create_browser_recovery_flow,
    get_recovery_flow,
    update_recovery_flow,
    follow_recovery_link,
    create_native_verification_flow,
    create_browser_verification_flow,
    get_verification_flow,
    update_verification_flow,
    follow_verification_link,
    create_recovery_code_for_identity,
    create_recovery_link_for_identity,
    get_well_known_change_password,
))]
pub struct Api;

operations! {
    tag = "frontend";

    fn create_native_recovery_flow(get "/self-service/recovery/api", "createNativeRecoveryFlow")
        "Start a recovery flow for a native app"
        answers((status = 200, description = "The new flow.", body = FlowJson))
        errors[400 "Recovery is disabled.", "default" "Error."];
    fn create_browser_recovery_flow(get "/self-service/recovery/browser", "createBrowserRecoveryFlow")
        "Start a recovery flow for a browser"
        params(ReturnTo, ("skip_settings" = Option<bool>, Query, description = "Accepted and ignored."))
        answers((status = 200, description = "The new flow (`Accept: application/json`).", body = FlowJson))
        redirect("To the flow's page, or onwards when signed in already.", "The next page.")
        errors[400 "Recovery is disabled, or `return_to` is not allowed.", "default" "Error."];
    fn get_recovery_flow(get "/self-service/recovery/flows", "getRecoveryFlow")
        "Get a recovery flow"
        params(("id" = String, Query, description = "The flow id."), CookieHeader)
        answers((status = 200, description = "The flow.", body = FlowJson))
        errors[
            400 "Recovery is disabled, or the id is missing.",
            403 "The anti-CSRF cookie does not belong to the flow.",
            404 "No such flow.",
            410 "The flow expired; `use_flow_id` names its replacement.",
            "default" "Error.",
        ];
    fn update_recovery_flow(post "/self-service/recovery", "updateRecoveryFlow")
        "Submit a recovery flow"
        description "`{method, email}` sends a code or link to the address (the answer is the same \
            whether or not an account has it); `{method: code, code}` checks the code. A right code \
            signs the person in: native apps get `continue_with` with the session token and the \
            settings flow; browsers get the session cookie and go to the settings flow (303, or 422 \
            with `redirect_browser_to` when they asked for JSON)."
        params(SubmittedFlow, CookieHeader)
        form_body(FlowSubmission)
        submission("The flow after the submission (a message was sent), or after a recovery of a native flow.", FlowJson)
        redirect("Browser flows: back to the flow's page, or on to the settings flow.", "The next page.")
        errors[422 "Recovered: the browser must go to the settings flow (`redirect_browser_to`).", "default" "Error."];
    fn create_native_verification_flow(get "/self-service/verification/api", "createNativeVerificationFlow")
        "Start a verification flow for a native app"
        params(ReturnTo)
        answers((status = 200, description = "The new flow.", body = FlowJson))
        errors[400 "Verification is disabled, or `return_to` is not allowed.", "default" "Error."];
    fn create_browser_verification_flow(get "/self-service/verification/browser", "createBrowserVerificationFlow")
        "Start a verification flow for a browser"
        params(ReturnTo)
        answers((status = 200, description = "The new flow (`Accept: application/json`).", body = FlowJson))
        redirect("To the flow's page.", "The flow's page.")
        errors[400 "Verification is disabled, or `return_to` is not allowed.", "default" "Error."];
    fn get_verification_flow(get "/self-service/verification/flows", "getVerificationFlow")
        "Get a verification flow"
        params(("id" = String, Query, description = "The flow id."), ("cookie" = Option<String>, Header, description = "The browser's cookies (anti-CSRF)."))
        answers((status = 200, description = "The flow.", body = FlowJson))
        errors[
            400 "Verification is disabled, or the id is missing.",
            403 "The anti-CSRF cookie does not belong to the flow.",
            404 "No such flow.",
            410 "The flow expired; `use_flow_id` names its replacement.",
            "default" "Error.",
        ];
    fn update_verification_flow(post "/self-service/verification", "updateVerificationFlow")
        "Submit a verification flow"
        description "`{method, email}` sends a code or link to the address; `{method: code, code}` \
            checks the code and, when right, marks the address verified (state `passed_challenge`)."
        params(SubmittedFlow, CookieHeader)
        form_body(FlowSubmission)
        submission("The flow after the submission.", FlowJson)
        redirect("Browser flows: back to the flow's page.", "The flow's page.")
        errors["default" "Error."];
    fn get_well_known_change_password(get "/.well-known/change-password", "getWellKnownChangePassword")
        "Where password managers send people to change a password"
        redirect("To the settings page.", "The settings page.")
        errors["default" "Error."];
}

operations! {
    tag = "bia";

    fn follow_recovery_link(get "/self-service/recovery", "followRecoveryLink")
        "Follow a recovery link"
        description "The link a recovery message carries. A right token signs the person in and \
            sends the browser to the settings flow with the session cookie; a wrong one sends it \
            back to the flow, which shows why. Without a token, the browser goes to the flow."
        params(MessageLink)
        redirect("To the settings flow, or back to the recovery flow.", "The next page.")
        errors[400 "Recovery is disabled, or the flow id is missing.", "default" "Error."];
    fn follow_verification_link(get "/self-service/verification", "followVerificationLink")
        "Follow a verification link"
        description "The link a verification message carries (`token`, or `code` in a code \
            message). When right, the address is verified and the browser goes to the flow's \
            `return_to` or the flow's page, which shows the result."
        params(MessageLink)
        redirect("To `return_to` or the flow's page.", "The next page.")
        errors[400 "Verification is disabled, or the flow id is missing.", "default" "Error."];
}

operations! {
    tag = "identity";

    fn create_recovery_code_for_identity(post "/admin/recovery/code", "createRecoveryCodeForIdentity")
        "Create a recovery code for an identity"
        description "A browser recovery flow waiting for the returned code; send the person the \
            link (it opens the flow) and the code by a channel of your choice."
        body = RecoveryForIdentityBody
        answers((status = 201, description = "The code, the link to its flow, and when it expires.", body = Object))
        errors[400 "Malformed body or `expires_in`, or recovery is disabled.", 404 "No such identity.", "default" "Error."];
    fn create_recovery_link_for_identity(post "/admin/recovery/link", "createRecoveryLinkForIdentity")
        "Create a recovery link for an identity"
        params(ReturnTo)
        body = RecoveryForIdentityBody
        answers((status = 200, description = "The link and when it expires.", body = Object))
        errors[400 "Malformed body or `expires_in`, or recovery is disabled.", 404 "No such identity.", "default" "Error."];
}
