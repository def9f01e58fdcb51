//! The built-in account UI (`/ui/...`): server-rendered pages for any flow,
//! used when a flow has no `ui_url` of its own (always the case with a bare
//! `--dev` config), so sign-up works in a browser at once.
//!
//! The pages are clients of the same flow machine the API serves; they add
//! no behaviour of their own.

mod render;

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use super::browser::see_other;
use super::extract::{Caller, FlowRequest, QueryPairs};
use super::state::AppState;
use crate::flow::{FlowError, FlowKind, FlowService};
use render::{escape, flow_forms, page};

/// What the pages may load and who may frame them: their own inline style and
/// the server's own WebAuthn script (no inline script: its buttons are wired up
/// by the script), and nobody. Forms may post anywhere, since a completed flow
/// redirects to the configured return URL.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     script-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page with the security headers every built-in page carries.
fn html(document: String) -> Response {
    let headers = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    (headers, Html(document)).into_response()
}

fn start(state: &AppState, kind: FlowKind) -> Response {
    see_other(
        &format!(
            "{}self-service/{}/browser",
            state.public_base_url,
            kind.as_str()
        ),
        Vec::new(),
    )
}

fn links(state: &AppState, signed_in: bool) -> String {
    let base = &state.public_base_url;
    if signed_in {
        format!(
            "<nav><a href=\"{base}ui/welcome\">Home</a><a href=\"{base}ui/settings\">Settings</a></nav>\n"
        )
    } else {
        let recovery = if state.flows.offers(FlowKind::Recovery) {
            format!("<a href=\"{base}ui/recovery\">Forgot your password?</a>")
        } else {
            String::new()
        };
        format!(
            "<nav><a href=\"{base}ui/login\">Sign in</a><a href=\"{base}ui/registration\">Sign up</a>{recovery}</nav>\n"
        )
    }
}

/// `GET /ui/{login,registration,settings,recovery,verification}?flow=`: the
/// route names the kind.
pub async fn flow_page(request: FlowRequest) -> Response {
    let (state, kind, query, caller) = request.into_parts();
    let Some(id) = query
        .first("flow")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
    else {
        return start(&state, kind);
    };
    let flow = match state.flows.get(kind, id).await {
        Ok(flow) => flow,
        Err(FlowError::Expired { new_flow, .. }) => {
            return see_other(&state.browser.flow_page(kind, new_flow.id), Vec::new());
        }
        Err(_) => return start(&state, kind),
    };
    if !FlowService::csrf_cookie_matches(&flow, caller.csrf.cookie_token.as_deref()) {
        return start(&state, kind);
    }
    let title = match kind {
        FlowKind::Login if flow.refresh => "Confirm it is you",
        FlowKind::Login => "Sign in",
        FlowKind::Registration => "Create an account",
        FlowKind::Settings => "Account settings",
        FlowKind::Recovery => "Recover your account",
        FlowKind::Verification => "Verify your email address",
    };
    let mut body = links(&state, kind == FlowKind::Settings);
    body.push_str(&flow_forms(&flow.ui, kind == FlowKind::Settings));
    html(page(title, &body))
}

/// `GET /ui/error?id=`
pub async fn error(State(state): State<AppState>, query: QueryPairs) -> Response {
    let stored = match query
        .first("id")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
    {
        Some(id) => state.flows.get_error(id).await.ok(),
        None => None,
    };
    let body = match stored {
        Some(stored) => {
            let field = |name: &str| {
                stored.error[name]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_default()
            };
            format!(
                "<p class=\"error\" data-error-id=\"{}\">{}</p><p>{}</p>",
                escape(&field("id")),
                escape(&field("message")),
                escape(&field("reason"))
            )
        }
        None => "<p class=\"error\">This error is unknown or no longer available.</p>".to_owned(),
    };
    html(page(
        "Something went wrong",
        &format!("{}{body}", links(&state, false)),
    ))
}

/// The session's assurance level, or a link to step it up when its
/// identity has a second factor whoami would ask for.
fn assurance_level(state: &AppState, session: &crate::session::Session) -> String {
    match state.sessions.check_whoami_aal(session) {
        Ok(()) => format!(
            "<p id=\"aal\">Assurance level: {}</p>",
            escape(&session.aal)
        ),
        Err(_) => format!(
            "<p id=\"aal\">Your account has a second factor: <a id=\"step-up\" href=\"{}\">confirm it</a>.</p>",
            escape(&state.browser.step_up_login())
        ),
    }
}

/// `GET /ui/welcome`: who is signed in, with links to settings and logout.
pub async fn welcome(State(state): State<AppState>, caller: Caller) -> Response {
    let session = match caller.credentials.cookie_token.as_deref() {
        Some(token) => state.sessions.whoami(token).await.ok(),
        None => None,
    };
    let Some(session) = session else {
        let body = format!("{}<p>You are not signed in.</p>", links(&state, false));
        return html(page("Welcome", &body));
    };
    let traits = session
        .identity
        .as_ref()
        .map(|i| serde_json::to_string_pretty(&i.traits).unwrap_or_default())
        .unwrap_or_default();
    let logout = state
        .cookies
        .logout_token(session.id)
        .map(|token| {
            format!(
                "<a id=\"logout\" href=\"{}self-service/logout?token={}\">Sign out</a>",
                state.public_base_url,
                escape(&token)
            )
        })
        .unwrap_or_default();
    let level = assurance_level(&state, &session);
    let body = format!(
        "{}<p>You are signed in.</p>{level}<pre id=\"traits\">{}</pre><p>{logout}</p>",
        links(&state, true),
        escape(&traits)
    );
    html(page("Welcome", &body))
}
