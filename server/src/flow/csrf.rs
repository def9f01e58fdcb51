//! Anti-CSRF tokens for browser flows.
//!
//! A browser holds one random token in an encrypted cookie. Each browser flow
//! carries the token masked with a fresh one-time pad (so the form value differs
//! on every page and cannot be recovered by compression side channels), and a
//! submission must send a masked token that opens to the cookie's token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use subtle::ConstantTimeEq as _;

const TOKEN_BYTES: usize = 32;

/// A fresh token for a browser's anti-CSRF cookie.
pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The token masked with a fresh pad, as the `csrf_token` form value.
pub fn mask(token: &str) -> String {
    let raw = URL_SAFE_NO_PAD.decode(token).unwrap_or_default();
    let mut pad = vec![0u8; raw.len()];
    rand::rng().fill_bytes(&mut pad);
    let mut out = pad.clone();
    out.extend(raw.iter().zip(&pad).map(|(t, p)| t ^ p));
    URL_SAFE_NO_PAD.encode(out)
}

/// Whether a submitted masked token opens to the cookie's token.
pub fn matches(cookie_token: &str, submitted: &str) -> bool {
    let (Ok(raw), Ok(masked)) = (
        URL_SAFE_NO_PAD.decode(cookie_token),
        URL_SAFE_NO_PAD.decode(submitted),
    ) else {
        return false;
    };
    if raw.len() != TOKEN_BYTES || masked.len() != 2 * TOKEN_BYTES {
        return false;
    }
    let (pad, sealed) = masked.split_at(TOKEN_BYTES);
    let opened: Vec<u8> = sealed.iter().zip(pad).map(|(s, p)| s ^ p).collect();
    opened.ct_eq(&raw).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_token_opens_to_its_token_only() {
        let token = new_token();
        let first = mask(&token);
        let second = mask(&token);
        assert_ne!(first, second, "every mask uses a fresh pad");
        assert!(matches(&token, &first));
        assert!(matches(&token, &second));
        assert!(!matches(&new_token(), &first));
        assert!(!matches(&token, &token));
        assert!(!matches(&token, ""));
        assert!(!matches("", &first));
    }
}
