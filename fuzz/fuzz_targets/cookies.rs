//! Opening what browsers send back: the session and anti-CSRF cookies (any
//! `Cookie` header), logout tokens, and masked anti-CSRF form values; and
//! what the server seals opens to what it sealed.
//!
//! Input: any bytes; used as a `Cookie` header, as a token to seal, and split
//! at the first space into a cookie token and a submitted anti-CSRF value.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use bia_config::Config;
use bia_server::flow::csrf;
use bia_server::http::CookieCodec;
use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

static CODEC: LazyLock<CookieCodec> = LazyLock::new(|| {
    let secrets = [
        "a-current-cookie-secret-32-bytes".to_owned(),
        "an-older-cookie-secret".to_owned(),
    ];
    CookieCodec::new(&secrets, true, &Config::default())
});

/// A request carrying the name and value of a `Set-Cookie` header.
fn sent_back(set_cookie: &HeaderValue) -> HeaderMap {
    let pair = set_cookie.to_str().expect("Set-Cookie is text");
    let pair = pair.split(';').next().expect("a name and a value");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::COOKIE,
        HeaderValue::from_str(pair).expect("a cookie header"),
    );
    headers
}

fuzz_target!(|data: &[u8]| {
    let codec = &*CODEC;
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, value.clone());
        headers.append(header::COOKIE, value);
        let _ = codec.session_token(&headers);
        let _ = codec.csrf_token(&headers);
    }
    let text = String::from_utf8_lossy(data);
    let _ = codec.logout_session(&text);
    if let Some(set) = codec.session_cookie(&text, Duration::from_secs(3600)) {
        assert_eq!(
            codec.session_token(&sent_back(&set)).as_deref(),
            Some(&*text)
        );
    }
    if let Some(set) = codec.csrf_cookie(&text) {
        assert_eq!(codec.csrf_token(&sent_back(&set)).as_deref(), Some(&*text));
    }
    if let Some(id) = data.get(..16).and_then(|b| Uuid::from_slice(b).ok()) {
        let token = codec.logout_token(id).expect("a logout token");
        assert_eq!(codec.logout_session(&token), Some(id));
    }
    let (cookie_token, submitted) = text.split_once(' ').unwrap_or((&text, ""));
    let _ = csrf::matches(cookie_token, submitted);
});
