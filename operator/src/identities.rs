//! Counting the identities that use a schema, through the server's admin API
//! (`GET /admin/identities`, paginated with `Link: <...>; rel="next"`), reached via the
//! API server's Service proxy so that no extra network path or credentials are needed.

use bia_crds::IdentityServer;
use kube::{Client, ResourceExt};

use crate::render::names;

/// Page size asked of the admin API.
pub const PAGE_SIZE: u32 = 500;
/// Upper bound on pages, so a misbehaving server cannot keep the operator busy.
pub const MAX_PAGES: usize = 10_000;

/// Why the count failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentitiesError {
    /// Request or transport failure.
    #[error("admin API request failed: {0}")]
    Request(String),
    /// The answer was not a JSON array of identities.
    #[error("admin API answered with something other than a list of identities: {0}")]
    Decode(String),
}

/// The `page_token` of the `rel="next"` link in a `Link` header, if any.
pub fn next_page_token(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        if !params
            .split(';')
            .any(|p| p.trim().trim_start_matches("rel=").trim_matches('"') == "next")
        {
            return None;
        }
        let url = target.trim().trim_start_matches('<').trim_end_matches('>');
        let query = url.split_once('?')?.1;
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix("page_token="))
            .map(str::to_owned)
    })
}

/// Counts identities whose `schema_id` is `schema_id` on `server`.
pub async fn count_using(
    client: &Client,
    server: &IdentityServer,
    schema_id: &str,
) -> Result<i64, IdentitiesError> {
    let ns = server.namespace().unwrap_or_default();
    let service = names(server).map(|n| n.admin_service).unwrap_or_default();
    let base = format!("/api/v1/namespaces/{ns}/services/{service}:admin/proxy/admin/identities");
    let mut token: Option<String> = None;
    let mut count = 0i64;
    for _ in 0..MAX_PAGES {
        let mut uri = format!("{base}?page_size={PAGE_SIZE}");
        if let Some(t) = &token {
            uri.push_str("&page_token=");
            uri.push_str(t);
        }
        let request = http::Request::get(uri)
            .body(Vec::new())
            .map_err(|e| IdentitiesError::Request(e.to_string()))?;
        let response = client
            .send(request.map(kube::client::Body::from))
            .await
            .map_err(|e| IdentitiesError::Request(e.to_string()))?;
        if !response.status().is_success() {
            return Err(IdentitiesError::Request(format!(
                "status {}",
                response.status()
            )));
        }
        let link = response
            .headers()
            .get(http::header::LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| IdentitiesError::Request(e.to_string()))?;
        let page: Vec<serde_json::Value> =
            serde_json::from_slice(&body).map_err(|e| IdentitiesError::Decode(e.to_string()))?;
        count += page
            .iter()
            .filter(|i| i.get("schema_id").and_then(|s| s.as_str()) == Some(schema_id))
            .count() as i64;
        token = link.as_deref().and_then(next_page_token);
        if token.is_none() || page.is_empty() {
            return Ok(count);
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::next_page_token;

    #[test]
    fn finds_the_next_token() {
        let link = r#"</admin/identities?page_size=2&page_token=abc>; rel="first",</admin/identities?page_size=2&page_token=def>; rel="next""#;
        assert_eq!(next_page_token(link).as_deref(), Some("def"));
        assert_eq!(
            next_page_token(r#"</admin/identities?page_token=a>; rel="first""#),
            None
        );
    }
}
