//! `GET /.well-known/ory/webauthn.js`: the WebAuthn script the trigger
//! attributes of WebAuthn and passkey nodes name.

use axum::http::header;
use axum::response::IntoResponse;

use crate::method::webauthn_script;

/// The script, cacheable for an hour (its integrity digest pins a version).
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        webauthn_script::SOURCE,
    )
}
