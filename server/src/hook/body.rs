//! Where a web hook's Jsonnet body comes from: `file://`, `base64://`,
//! `http(s)://`, or a bare file path (deprecated in Kratos, still accepted).

use std::time::Duration;

/// A parsed body location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodySource {
    /// A local file.
    File(String),
    /// The program itself, base64-encoded.
    Inline(String),
    /// A remote document.
    Remote(url::Url),
}

impl BodySource {
    /// Reads the location; the error says why it is not a usable one.
    pub(crate) fn parse(location: &str) -> Result<Self, String> {
        if let Some(encoded) = location.strip_prefix("base64://") {
            crate::inline::decode_text(encoded, "body").map(BodySource::Inline)
        } else if let Some(path) = location.strip_prefix("file://") {
            Ok(BodySource::File(path.to_owned()))
        } else if location.starts_with("http://") || location.starts_with("https://") {
            let url = url::Url::parse(location).map_err(|e| format!("invalid URL: {e}"))?;
            Ok(BodySource::Remote(url))
        } else if location.contains("://") {
            Err("unsupported URL scheme; use file://, base64://, http:// or https://".into())
        } else if location.is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(BodySource::File(location.to_owned()))
        }
    }

    /// The program text for local sources; `None` for a remote one.
    pub(crate) fn read_local(&self) -> Result<Option<String>, String> {
        match self {
            BodySource::Inline(text) => Ok(Some(text.clone())),
            BodySource::File(path) => std::fs::read_to_string(path)
                .map(Some)
                .map_err(|e| format!("cannot read {path}: {e}")),
            BodySource::Remote(_) => Ok(None),
        }
    }

    /// The program text, fetching a remote one with `client`.
    pub(crate) async fn load(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
    ) -> Result<String, String> {
        let BodySource::Remote(url) = self else {
            return self
                .read_local()
                .and_then(|text| text.ok_or_else(|| "no text".to_owned()));
        };
        let shown = super::web_hook::redacted_url(url);
        let response = client
            .get(url.clone())
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("cannot load {shown}: {}", super::web_hook::describe(&e)))?;
        if !response.status().is_success() {
            return Err(format!(
                "cannot load {shown}: HTTP status {}",
                response.status()
            ));
        }
        response
            .text()
            .await
            .map_err(|e| format!("cannot load {shown}: {}", super::web_hook::describe(&e)))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn parses_every_location_kind() {
        let encoded = STANDARD.encode("function(ctx) {}");
        assert_eq!(
            BodySource::parse(&format!("base64://{encoded}")).unwrap(),
            BodySource::Inline("function(ctx) {}".into())
        );
        assert_eq!(
            BodySource::parse("file:///etc/body.jsonnet").unwrap(),
            BodySource::File("/etc/body.jsonnet".into())
        );
        assert_eq!(
            BodySource::parse("./body.jsonnet").unwrap(),
            BodySource::File("./body.jsonnet".into())
        );
        assert!(matches!(
            BodySource::parse("https://example.org/b.jsonnet").unwrap(),
            BodySource::Remote(u) if u.host_str() == Some("example.org")
        ));
        assert!(
            BodySource::parse("ftp://x/y")
                .unwrap_err()
                .contains("scheme")
        );
        assert!(
            BodySource::parse("base64://!!!")
                .unwrap_err()
                .contains("base64")
        );
    }

    #[test]
    fn a_missing_file_says_which() {
        let err = BodySource::parse("file:///nonexistent/b.jsonnet")
            .unwrap()
            .read_local()
            .unwrap_err();
        assert!(err.contains("/nonexistent/b.jsonnet"), "{err}");
    }
}
