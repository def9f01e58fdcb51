//! The one way the oidc method reads JSON from a provider (discovery, keys,
//! userinfo, the user APIs of OAuth 2.0 kinds): a request of the shared
//! outbound client, with its time limit, an answer read only up to a bound,
//! and errors that name the endpoint without its query (which may carry a
//! proof or token).

use serde::de::DeserializeOwned;

use super::provider::ProviderError;
use crate::outbound::{self, OutboundError};

/// The largest answer read from a provider (discovery, keys, tokens, claims).
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Sends `request` (a GET with `Accept: application/json` added) and reads
/// its JSON answer: a status other than 2xx, a body over the bound or a
/// timeout makes the provider unavailable; a body that is not the expected
/// JSON is an invalid answer.
pub async fn json<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<T, ProviderError> {
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(OutboundError::from)?;
    let status = response.status();
    if !status.is_success() {
        return Err(ProviderError::Unavailable(format!(
            "{} answered {status}",
            shown(url)
        )));
    }
    let body = outbound::read_bounded(response, MAX_ANSWER_BYTES).await?;
    serde_json::from_slice(&body)
        .map_err(|e| ProviderError::Invalid(format!("{}: {e}", shown(url))))
}

/// A URL as logged and shown: scheme, host and path only.
pub fn shown(url: &str) -> String {
    url::Url::parse(url).map_or_else(
        |_| "the provider".to_owned(),
        |u| {
            format!(
                "{}://{}{}",
                u.scheme(),
                u.host_str().unwrap_or(""),
                u.path()
            )
        },
    )
}
