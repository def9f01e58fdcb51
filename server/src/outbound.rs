//! What every outbound HTTP call of the server shares: a client with time
//! limits that follows no redirect, and answers read only up to a size.
//!
//! Outbound calls are web hooks (`hook`), identity schema fetches (`schema`) and
//! the breached-password lookup (`policy`). None may hang a request, fill memory
//! or carry credentials to a host the configuration did not name.

use std::time::Duration;

/// Time to establish a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an outbound call failed, worded without the URL (it may hold credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OutboundError(pub String);

impl From<reqwest::Error> for OutboundError {
    fn from(error: reqwest::Error) -> Self {
        OutboundError(error.without_url().to_string())
    }
}

/// A client whose whole request may take `timeout`, that follows no redirect
/// (a 3xx is an answer like any other), with Bia's user agent.
pub fn client(timeout: Duration) -> Result<reqwest::Client, OutboundError> {
    Ok(reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(concat!("bia/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Reads an answer's body, refusing it once it exceeds `max` bytes.
pub async fn read_bounded(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, OutboundError> {
    if response
        .content_length()
        .is_some_and(|length| length > max as u64)
    {
        return Err(OutboundError(format!(
            "the answer is larger than {max} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            return Err(OutboundError(format!(
                "the answer is larger than {max} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The method and headers of a configured outbound request (a web hook, a
/// courier delivery): `method` defaults to `POST`. A refusal names the part
/// of the section that is wrong (`method`, `headers` or `headers.<name>`)
/// and why.
pub fn request_parts(
    method: Option<&str>,
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<(reqwest::Method, reqwest::header::HeaderMap), (String, String)> {
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    let method = method.unwrap_or("POST").to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|e| ("method".to_owned(), e.to_string()))?;
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| ("headers".to_owned(), e.to_string()))?;
        let value =
            HeaderValue::from_str(value).map_err(|e| (format!("headers.{name}"), e.to_string()))?;
        map.append(header, value);
    }
    Ok((method, map))
}

/// `request` with a configured authentication (`api_key` in a header or
/// a cookie, or `basic_auth`) applied.
pub fn with_auth(
    request: reqwest::RequestBuilder,
    auth: Option<&bia_config::WebHookAuth>,
) -> reqwest::RequestBuilder {
    use bia_config::{ApiKeyLocation, WebHookAuth};
    match auth {
        Some(WebHookAuth::ApiKey(key)) => match key.location {
            ApiKeyLocation::Header => request.header(&key.name, &key.value),
            ApiKeyLocation::Cookie => request.header(
                reqwest::header::COOKIE,
                format!("{}={}", key.name, key.value),
            ),
        },
        Some(WebHookAuth::BasicAuth(basic)) => {
            request.basic_auth(&basic.user, Some(&basic.password))
        }
        None => request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-shot HTTP server on loopback answering every request with `answer`
    /// (or never answering when it is `None`); returns its base URL.
    async fn serve(answer: Option<Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    match answer {
                        Some(bytes) => {
                            let _ = stream.write_all(&bytes).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(30)).await,
                    }
                });
            }
        });
        url
    }

    fn answer(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let target = serve(Some(answer("200 OK", "", b"secret"))).await;
        let redirect = format!("location: {target}/\r\n");
        let base = serve(Some(answer("307 Temporary Redirect", &redirect, b""))).await;
        let client = client(Duration::from_secs(5)).unwrap();
        let response = client
            .get(&base)
            .basic_auth("hook", Some("password"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 307);
    }

    #[tokio::test]
    async fn answers_are_read_up_to_a_bound() {
        let small = serve(Some(answer("200 OK", "", b"{}"))).await;
        let response = client(Duration::from_secs(5))
            .unwrap()
            .get(&small)
            .send()
            .await;
        assert_eq!(read_bounded(response.unwrap(), 16).await.unwrap(), b"{}");
        let large = serve(Some(answer("200 OK", "", &vec![b'x'; 64 * 1024]))).await;
        let response = client(Duration::from_secs(5))
            .unwrap()
            .get(&large)
            .send()
            .await;
        let error = read_bounded(response.unwrap(), 1024).await.unwrap_err();
        assert!(error.0.contains("larger than 1024 bytes"), "{error}");
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let silent = serve(None).await;
        let started = std::time::Instant::now();
        let result = client(Duration::from_millis(300))
            .unwrap()
            .get(&silent)
            .send()
            .await;
        assert!(result.is_err());
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
