//! The cookies of the public API: the session cookie (`ory_kratos_session`,
//! holding the session token) and the anti-CSRF cookie. Both are encrypted and
//! authenticated with `secrets.cookie`: the first secret seals, every secret
//! opens, so secrets rotate without signing anybody out. Logout tokens are
//! MACs of the session id under the same secrets.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, CookieJar, Key, SameSite};
use hmac::{KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use bia_config::Config;

const LOGOUT_PREFIX: &str = "ory_lo_";
const MAC_BYTES: usize = 16;

/// Where and how one cookie is set.
#[derive(Debug, Clone)]
struct Placement {
    name: String,
    domain: Option<String>,
    path: String,
    same_site: SameSite,
}

fn same_site(value: Option<&str>) -> SameSite {
    match value {
        Some("Strict") => SameSite::Strict,
        Some("None") => SameSite::None,
        _ => SameSite::Lax,
    }
}

/// Seals and opens the public API's cookies.
#[derive(Clone)]
pub struct CookieCodec {
    keys: Vec<Key>,
    secrets: Vec<Vec<u8>>,
    secure: bool,
    persistent: bool,
    session: Placement,
    csrf: Placement,
}

impl std::fmt::Debug for CookieCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieCodec")
            .field("keys", &self.keys.len())
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl CookieCodec {
    /// A codec over the cookie secrets (first seals, all open). `secure`
    /// marks cookies HTTPS-only; only `--dev` turns it off.
    pub fn new(secrets: &[String], secure: bool, config: &Config) -> Self {
        let secrets: Vec<Vec<u8>> = secrets.iter().map(|s| s.as_bytes().to_vec()).collect();
        let keys = secrets
            .iter()
            .map(|s| Key::derive_from(&Sha256::digest(s)))
            .collect();
        let session = &config.session.cookie;
        let base = config.public_base_url();
        let suffix: String = Sha256::digest(base.as_bytes())
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            keys,
            secrets,
            secure,
            persistent: session.persistent.unwrap_or(true),
            session: Placement {
                name: session
                    .name
                    .clone()
                    .unwrap_or_else(|| "ory_kratos_session".into()),
                domain: session.domain.clone(),
                path: session.path.clone().unwrap_or_else(|| "/".into()),
                same_site: same_site(session.same_site.as_deref()),
            },
            csrf: Placement {
                name: format!("csrf_token_{suffix}"),
                domain: config.cookies.domain.clone(),
                path: config.cookies.path.clone().unwrap_or_else(|| "/".into()),
                same_site: same_site(config.cookies.same_site.as_deref()),
            },
        }
    }

    fn build(&self, placement: &Placement, value: String) -> Cookie<'static> {
        let mut cookie = Cookie::new(placement.name.clone(), value);
        cookie.set_path(placement.path.clone());
        if let Some(domain) = &placement.domain {
            cookie.set_domain(domain.clone());
        }
        cookie.set_http_only(true);
        cookie.set_secure(self.secure || placement.same_site == SameSite::None);
        cookie.set_same_site(placement.same_site);
        cookie
    }

    fn seal(&self, cookie: Cookie<'static>) -> Option<HeaderValue> {
        let key = self.keys.first()?;
        let name = cookie.name().to_owned();
        let mut jar = CookieJar::new();
        jar.private_mut(key).add(cookie);
        let sealed = jar.get(&name)?;
        HeaderValue::from_str(&sealed.to_string()).ok()
    }

    fn open(&self, headers: &HeaderMap, name: &str) -> Option<String> {
        let candidates = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
            .filter(|c| c.name() == name);
        for candidate in candidates {
            for key in &self.keys {
                let mut jar = CookieJar::new();
                jar.add_original(candidate.clone());
                if let Some(opened) = jar.private(key).get(name) {
                    return Some(opened.value().to_owned());
                }
            }
        }
        None
    }

    /// `Set-Cookie` for a session token that lasts `lifespan`.
    pub fn session_cookie(&self, token: &str, lifespan: Duration) -> Option<HeaderValue> {
        let mut cookie = self.build(&self.session, token.to_owned());
        if self.persistent {
            let seconds = i64::try_from(lifespan.as_secs()).unwrap_or(i64::MAX);
            cookie.set_max_age(cookie::time::Duration::seconds(seconds));
        }
        self.seal(cookie)
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear_session_cookie(&self) -> Option<HeaderValue> {
        let mut cookie = self.build(&self.session, String::new());
        cookie.make_removal();
        HeaderValue::from_str(&cookie.to_string()).ok()
    }

    /// The session token in the request's session cookie, if it opens.
    pub fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        self.open(headers, &self.session.name)
    }

    /// `Set-Cookie` for a browser's anti-CSRF token.
    pub fn csrf_cookie(&self, token: &str) -> Option<HeaderValue> {
        let mut cookie = self.build(&self.csrf, token.to_owned());
        cookie.set_max_age(cookie::time::Duration::days(365));
        self.seal(cookie)
    }

    /// The anti-CSRF token in the request's cookie, if it opens.
    pub fn csrf_token(&self, headers: &HeaderMap) -> Option<String> {
        self.open(headers, &self.csrf.name)
    }

    fn mac(secret: &[u8], session: Uuid) -> Option<[u8; MAC_BYTES]> {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret).ok()?;
        mac.update(b"logout:");
        mac.update(session.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(full.get(..MAC_BYTES)?);
        Some(out)
    }

    /// The logout token of a session (`ory_lo_...`).
    pub fn logout_token(&self, session: Uuid) -> Option<String> {
        let mac = Self::mac(self.secrets.first()?, session)?;
        let mut bytes = session.as_bytes().to_vec();
        bytes.extend_from_slice(&mac);
        Some(format!("{LOGOUT_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The session a logout token was made for, if any secret made it.
    pub fn logout_session(&self, token: &str) -> Option<Uuid> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.strip_prefix(LOGOUT_PREFIX)?)
            .ok()?;
        if bytes.len() != 16 + MAC_BYTES {
            return None;
        }
        let (id, mac) = bytes.split_at(16);
        let session = Uuid::from_slice(id).ok()?;
        self.secrets
            .iter()
            .filter_map(|secret| Self::mac(secret, session))
            .any(|expected| bool::from(expected.ct_eq(mac)))
            .then_some(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(secrets: &[&str]) -> CookieCodec {
        let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        CookieCodec::new(&secrets, true, &Config::default())
    }

    fn request_with(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    #[test]
    fn session_cookies_open_under_any_secret_and_refuse_tampering() {
        let old = codec(&["an-old-cookie-secret"]);
        let set = old
            .session_cookie("ory_st_abc", Duration::from_secs(60))
            .unwrap();
        let text = set.to_str().unwrap();
        assert!(text.starts_with("ory_kratos_session="));
        assert!(text.contains("HttpOnly") && text.contains("Secure"));
        assert!(text.contains("SameSite=Lax") && text.contains("Max-Age=60"));
        assert!(!text.contains("ory_st_abc"), "the token is encrypted");
        let headers = request_with(&set);
        let rotated = codec(&["a-new-cookie-secret!", "an-old-cookie-secret"]);
        assert_eq!(
            rotated.session_token(&headers).as_deref(),
            Some("ory_st_abc")
        );
        assert_eq!(
            codec(&["another-secret-entirely"]).session_token(&headers),
            None
        );
        let tampered = text.replacen("ory_kratos_session=", "ory_kratos_session=A", 1);
        let headers = request_with(&HeaderValue::from_str(&tampered).unwrap());
        assert_eq!(rotated.session_token(&headers), None);
    }

    #[test]
    fn logout_tokens_verify_under_any_secret() {
        let id = Uuid::new_v4();
        let token = codec(&["an-old-cookie-secret"]).logout_token(id).unwrap();
        assert!(token.starts_with("ory_lo_"));
        let rotated = codec(&["a-new-cookie-secret!", "an-old-cookie-secret"]);
        assert_eq!(rotated.logout_session(&token), Some(id));
        assert_eq!(
            codec(&["another-secret-entirely"]).logout_session(&token),
            None
        );
        assert_eq!(rotated.logout_session("ory_lo_garbage"), None);
    }
}
