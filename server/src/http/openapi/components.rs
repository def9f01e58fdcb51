//! Schemas that exist only in the document: shapes the handlers build as
//! JSON values (error envelope, small results) or that live in domain types
//! (the UI container), and reusable parameter groups.

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::openapi::schema::AnyOfBuilder;
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;

use super::super::flow_json::FlowJson;
use super::super::session_json::SessionJson;
use super::super::wire::IdentityJson;

/// Every error answer: Kratos's envelope. Some flow errors add fields next to
/// `error` (`use_flow_id`, `expired_at`, `since`, `redirect_browser_to`).
#[derive(ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: GenericError,
}

/// The inner error object.
#[derive(ToSchema)]
pub struct GenericError {
    /// A machine-readable id, e.g. `session_inactive`, when the error has one.
    pub id: Option<String>,
    /// The HTTP status code.
    pub code: i64,
    /// The HTTP status text.
    pub status: String,
    /// Why it failed, for developers.
    pub reason: Option<String>,
    /// Structured details (for example `violations` of the identity schema).
    pub details: Option<BTreeMap<String, Value>>,
    /// A generic message for the status.
    pub message: String,
}

/// The form of a flow: where and how to submit it, its fields and messages.
#[derive(ToSchema)]
pub struct UiContainer {
    /// Where the form is submitted.
    pub action: String,
    /// The HTTP method of the submission.
    pub method: String,
    /// The form elements.
    pub nodes: Vec<UiNode>,
    /// Messages about the whole form (absent when there are none).
    #[schema(required = false)]
    pub messages: Vec<UiText>,
}

/// One form element.
#[derive(ToSchema)]
pub struct UiNode {
    /// The node type, `input`.
    #[schema(rename = "type")]
    pub node_type: String,
    /// The method group the node belongs to: `default`, `password`, `profile`, ...
    pub group: String,
    /// The input's attributes.
    pub attributes: UiNodeInputAttributes,
    /// Messages about this field.
    pub messages: Vec<UiText>,
    /// The field's label.
    pub meta: UiNodeMeta,
}

/// The attributes of a node: an input's (most nodes), an anchor's (`a`), an
/// image's (`img`: a TOTP QR code), a text's (`text`: a TOTP secret) or a
/// script's (`script`: the WebAuthn script).
#[derive(ToSchema)]
pub struct UiNodeInputAttributes {
    /// Inputs: the form field name, e.g. `traits.email`.
    #[schema(required = false)]
    pub name: String,
    /// Inputs: the HTML input type.
    #[schema(rename = "type", required = false)]
    pub input_type: String,
    /// The current value (any JSON value).
    pub value: Option<Value>,
    /// Whether the field is required.
    pub required: Option<bool>,
    /// The HTML autocomplete hint.
    pub autocomplete: Option<String>,
    /// Inputs: whether the field is disabled.
    #[schema(required = false)]
    pub disabled: bool,
    /// Anchors, images and texts: the element id, e.g. `totp_qr`.
    pub id: Option<String>,
    /// Images: the image as a `data:` URI.
    pub src: Option<String>,
    /// Images: the width in pixels.
    pub width: Option<u32>,
    /// Images: the height in pixels.
    pub height: Option<u32>,
    /// Texts: the text to show (e.g. a TOTP secret in `context.secret`).
    #[schema(required = false)]
    pub text: UiText,
    /// Buttons: the script to run when clicked.
    pub onclick: Option<String>,
    /// Buttons: the name of the WebAuthn script's function to call when clicked.
    #[schema(rename = "onclickTrigger")]
    pub onclick_trigger: Option<String>,
    /// Inputs: the script to run once the form is shown.
    pub onload: Option<String>,
    /// Inputs: the name of the function to call once the form is shown.
    #[schema(rename = "onloadTrigger")]
    pub onload_trigger: Option<String>,
    /// Scripts: load without blocking the page.
    #[schema(rename = "async")]
    pub is_async: Option<bool>,
    /// Scripts: the referrer policy of the script's request.
    pub referrerpolicy: Option<String>,
    /// Scripts: the CORS mode of the script's request.
    pub crossorigin: Option<String>,
    /// Scripts: the subresource integrity digest.
    pub integrity: Option<String>,
    /// Scripts: the content security policy nonce.
    pub nonce: Option<String>,
    /// The node type again: `input`, `a`, `img`, `text` or `script`.
    pub node_type: String,
}

/// A node's meta information.
#[derive(ToSchema)]
pub struct UiNodeMeta {
    /// The field's label.
    pub label: Option<UiText>,
}

/// A message for the user, with Kratos's numeric id (e.g. 4000006).
#[derive(ToSchema)]
pub struct UiText {
    /// The message id.
    pub id: i64,
    /// The English text.
    pub text: String,
    /// `info`, `error` or `success`.
    #[schema(rename = "type")]
    pub kind: String,
    /// Values the text was built from.
    pub context: Option<BTreeMap<String, Value>>,
}

/// The answer to a successful native login (and the JSON answer of a
/// browser login that asked for JSON).
#[derive(ToSchema)]
pub struct SuccessfulLogin {
    /// The new or refreshed session.
    pub session: SessionJson,
    /// The session token; native flows only.
    pub session_token: Option<String>,
    /// What the client may do next: for a browser flow answered as JSON,
    /// `{"action": "redirect_browser_to", "redirect_browser_to": <url>}`.
    pub continue_with: Vec<Value>,
}

/// The answer to a redeemed session token exchange (Kratos's
/// `successfulNativeLogin`).
#[derive(ToSchema)]
pub struct ExchangedSession {
    /// The session the native app's sign-in in a browser created.
    pub session: SessionJson,
    /// A token for it, issued by this answer.
    pub session_token: String,
}

/// The answer to a successful registration.
#[derive(ToSchema)]
pub struct SuccessfulRegistration {
    /// The new identity.
    pub identity: IdentityJson,
    /// The session, when the `session` hook signs the identity in.
    pub session: Option<SessionJson>,
    /// The session token; native flows that sign in only.
    pub session_token: Option<String>,
    /// What the client may do next: for a browser flow answered as JSON,
    /// `{"action": "redirect_browser_to", "redirect_browser_to": <url>}`.
    pub continue_with: Vec<Value>,
}

/// A refused submission returns the flow with messages; a malformed request
/// returns the error envelope.
pub struct FlowOrError;

impl PartialSchema for FlowOrError {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(FlowJson::name()))
            .item(Ref::from_schema_name(ErrorEnvelope::name()))
            .into()
    }
}

impl ToSchema for FlowOrError {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((FlowJson::name().into_owned(), FlowJson::schema()));
        FlowJson::schemas(schemas);
        schemas.push((ErrorEnvelope::name().into_owned(), ErrorEnvelope::schema()));
        ErrorEnvelope::schemas(schemas);
    }
}

/// A stored error a browser was sent to the error page for.
#[derive(ToSchema)]
pub struct FlowErrorJson {
    /// Its id.
    pub id: Uuid,
    /// The error, as in the envelope.
    pub error: BTreeMap<String, Value>,
    /// When it was stored.
    pub created_at: String,
    /// Same as `created_at`.
    pub updated_at: String,
}

/// The body of `PATCH /admin/identities`.
#[derive(ToSchema)]
pub struct BatchPatchIdentitiesBody {
    /// At most 2,000 entries; each creates one identity.
    pub identities: Vec<BatchPatchEntry>,
}

/// One entry of a batch.
#[derive(ToSchema)]
pub struct BatchPatchEntry {
    /// The identity to create.
    pub create: Option<super::super::wire::CreateIdentityBody>,
    /// A client-chosen id, echoed in the result.
    pub patch_id: Option<Uuid>,
}

/// The answer of `PATCH /admin/identities`: one result per entry, in order.
#[derive(ToSchema)]
pub struct BatchPatchIdentitiesResponse {
    /// The results.
    pub identities: Vec<BatchPatchResult>,
}

/// The result of one batch entry.
#[derive(ToSchema)]
pub struct BatchPatchResult {
    /// `create` or `error`.
    pub action: String,
    /// The new identity's id, when created.
    pub identity: Option<Uuid>,
    /// The entry's `patch_id`, when it had one.
    pub patch_id: Option<Uuid>,
    /// Why the entry failed.
    pub error: Option<GenericError>,
}

/// The body of `POST /admin/sessions`: exactly one of `identities` or
/// `sessions`, not empty.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManageSessionsBody {
    /// `disable` or `delete`.
    pub action: String,
    /// Identity ids whose sessions are affected, at most 500; `["*"]` for all.
    pub identities: Option<Vec<String>>,
    /// Session ids, at most 500.
    pub sessions: Option<Vec<String>>,
}

/// The answer of `POST /admin/sessions`.
#[derive(ToSchema)]
pub struct ManageSessionsResponse {
    /// How many sessions were changed.
    pub processed: i64,
    /// Whether more remain: call again.
    pub more: bool,
}

/// The answer of `DELETE /sessions`.
#[derive(ToSchema)]
pub struct DeleteMySessionsCount {
    /// How many sessions were revoked.
    pub count: i64,
}

/// The body of `DELETE /self-service/logout/api`.
#[derive(ToSchema)]
pub struct PerformNativeLogoutBody {
    /// The session token to revoke (required; an empty one is refused).
    pub session_token: Option<String>,
}

/// The answer of `GET /self-service/logout/browser`.
#[derive(ToSchema)]
pub struct LogoutFlow {
    /// The URL that ends the session.
    pub logout_url: String,
    /// The token of that URL.
    pub logout_token: String,
}

/// A submission of a self-service flow: the chosen `method` and its fields
/// (JSON, or an HTML form whose dotted names become nested objects).
#[derive(ToSchema)]
pub struct FlowSubmission {
    /// The method, e.g. `password` or `profile`.
    pub method: Option<String>,
    /// The anti-CSRF token of browser flows.
    pub csrf_token: Option<String>,
    /// Profile-first registration: `previous` goes back to the traits,
    /// `credential-selection` to the ways to sign up.
    pub screen: Option<String>,
}

/// One JSON Patch operation (RFC 6902).
#[derive(ToSchema)]
pub struct JsonPatchOperation {
    /// `add`, `remove`, `replace`, `move`, `copy` or `test`.
    pub op: String,
    /// The JSON Pointer the operation applies to.
    pub path: String,
    /// The value for `add`, `replace` and `test`.
    pub value: Option<Value>,
    /// The source pointer for `move` and `copy`.
    pub from: Option<String>,
}

/// The answer of both health checks when healthy.
#[derive(ToSchema)]
pub struct HealthStatus {
    /// Always `ok`.
    pub status: String,
}

/// The answer of `/health/ready` when not ready.
#[derive(ToSchema)]
pub struct HealthNotReady {
    /// What is wrong, by component.
    pub errors: BTreeMap<String, String>,
}

/// The answer of `/version`.
#[derive(ToSchema)]
pub struct Version {
    /// The server's version.
    pub version: String,
}

/// One configured identity schema.
#[derive(ToSchema)]
pub struct IdentitySchemaContainer {
    /// The schema id.
    pub id: String,
    /// The JSON Schema document.
    pub schema: BTreeMap<String, Value>,
}

/// The session credentials of a self-service request.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct SessionHeaders {
    /// A session token (also accepted as `Authorization: Bearer <token>`).
    #[param(rename = "X-Session-Token")]
    pub x_session_token: Option<String>,
    /// The browser's cookies, holding the session cookie `ory_kratos_session`.
    #[param(rename = "Cookie")]
    pub cookie: Option<String>,
}

/// The browser's cookies.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct CookieHeader {
    /// The browser's cookies: the session and anti-CSRF cookies.
    #[param(rename = "Cookie")]
    pub cookie: Option<String>,
}

/// The flow a recovery or verification submission is for.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmittedFlow {
    /// The flow id.
    pub flow: String,
    /// Accepted and ignored: links are followed with GET.
    pub token: Option<String>,
}

/// What the link in a recovery or verification message carries.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageLink {
    /// The flow id.
    pub flow: String,
    /// The link's token.
    pub token: Option<String>,
    /// A code, as a code message's link carries it.
    pub code: Option<String>,
}

/// Where a flow sends the client when it is done.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnTo {
    /// Where to go afterwards; must be an allowed return URL.
    pub return_to: Option<String>,
}

/// A login that asks for re-authentication.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginRefresh {
    /// Sign in again although a session exists (re-authentication).
    pub refresh: Option<bool>,
    /// `aal2` steps the caller's session up with a second factor.
    pub aal: Option<String>,
}

/// Paging, as a page token or (legacy) as page numbers.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Legacy page size (used with `page`).
    pub per_page: Option<u64>,
    /// Legacy page number, from 1.
    pub page: Option<u64>,
    /// Items per page: 1 to 1000, 250 by default.
    pub page_size: Option<u64>,
    /// The token of the next page, from the `Link` header.
    pub page_token: Option<String>,
}

/// Which credentials an identity is shown with.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncludeCredential {
    /// Credential types whose configuration is shown, e.g. `password`.
    pub include_credential: Option<Vec<String>>,
}

/// An identity in the path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdentityId {
    /// The identity id.
    pub id: String,
}

/// A session in the path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionId {
    /// The session id.
    pub id: String,
}
