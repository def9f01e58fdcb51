//! Sign-in and sign-up of native apps with an ID token they got from the
//! provider's own SDK (Sign in with Google, Sign in with Apple): the
//! submission carries `id_token` (and `id_token_nonce`) instead of going
//! through the provider's pages. Only kinds listed in
//! [`bia_config::oidc::ID_TOKEN_KINDS`] accept it.
//!
//! The token must be signed by a key of the provider's JWKS, name the
//! provider's issuer, be issued for the provider's `client_id` or one of its
//! `additional_id_token_audiences`, and not be expired. The nonce is checked
//! as Kratos does: a token carrying a `nonce` claim needs `id_token_nonce`
//! equal to it (compared as submitted, not hashed: apps that give the
//! provider a hashed nonce submit that hash); a token without one passes,
//! since not every SDK of these providers sends a nonce.

use bia_config::oidc::accepts_id_tokens;
use serde_json::{Map, Value};

use super::provider::Tokens;
use super::tokens::SealedTokens;
use super::{Configured, OidcMethod, Verified, messages};
use crate::flow::{MethodError, Problem, Refusal};

/// The longest ID token accepted; real ones are a few kilobytes.
const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;
/// The longest nonce accepted.
const MAX_NONCE_BYTES: usize = 1024;
/// The longest subject accepted.
const MAX_SUBJECT_BYTES: usize = 255;

/// Kratos's reason for a token whose signature, issuer, audience or
/// expiry is refused.
const NOT_VERIFIED: &str = "Could not verify id_token";

/// The ID token of a submission, when it carries one (an empty one counts
/// as none, as in Kratos).
pub(super) fn submitted(body: &Value) -> Option<&Value> {
    body.get("id_token")
        .filter(|token| token.as_str().is_none_or(|t| !t.is_empty()))
}

/// A refusal answered as a generic error with `status`.
fn refused(status: u16, reason: &str, cause: impl Into<String>) -> MethodError {
    let cause = cause.into();
    tracing::info!(%cause, "a submitted ID token was refused");
    MethodError::Refused(Refusal {
        status,
        reason: reason.to_owned(),
        cause,
    })
}

fn not_verified(cause: impl Into<String>) -> MethodError {
    refused(403, NOT_VERIFIED, cause)
}

impl OidcMethod {
    /// The verified claims of the ID token `token` submitted for the
    /// provider the body names.
    pub(super) async fn id_token_claims(
        &self,
        body: &Value,
        token: &Value,
    ) -> Result<(&Configured, Verified), MethodError> {
        let id = body.get("provider").and_then(Value::as_str).unwrap_or("");
        let Some(configured) = self.provider(id) else {
            let problem = Problem::field("provider", messages::unknown_provider(id));
            return Err(MethodError::Invalid(vec![problem]));
        };
        let provider = &configured.provider;
        if !accepts_id_tokens(&provider.config.provider) {
            return Err(refused(
                400,
                &format!(
                    "The provider {} does not support id_token verification",
                    provider.config.provider
                ),
                "sign in through the provider's pages instead",
            ));
        }
        let Some(token) = token.as_str() else {
            return Err(not_verified("id_token must be a string"));
        };
        if token.len() > MAX_ID_TOKEN_BYTES {
            return Err(not_verified(format!(
                "the id_token is longer than {MAX_ID_TOKEN_BYTES} bytes"
            )));
        }
        let nonce = match body.get("id_token_nonce") {
            None | Some(Value::Null) => "",
            Some(Value::String(nonce)) if nonce.len() <= MAX_NONCE_BYTES => nonce.as_str(),
            Some(_) => {
                return Err(refused(
                    400,
                    "The id_token_nonce is invalid",
                    format!("id_token_nonce must be a string of at most {MAX_NONCE_BYTES} bytes"),
                ));
            }
        };
        let endpoints = provider.endpoints().await.map_err(|e| super::refusal(&e))?;
        let mut audiences = vec![provider.config.client_id.as_str()];
        audiences.extend(
            provider
                .config
                .additional_id_token_audiences
                .iter()
                .map(String::as_str),
        );
        let claims = provider
            .verify_signed(&endpoints, token, &audiences)
            .await
            .map_err(|e| not_verified(e.to_string()))?;
        check_subject(&claims)?;
        check_nonce(&claims, nonce)?;
        let tokens = Tokens {
            id_token: Some(token.to_owned()),
            ..Tokens::default()
        };
        let verified = Verified {
            claims,
            tokens: SealedTokens::seal(&self.cipher, &tokens),
        };
        Ok((configured, verified))
    }
}

/// The subject must be there and of a sane length.
fn check_subject(claims: &Map<String, Value>) -> Result<(), MethodError> {
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() && sub.len() <= MAX_SUBJECT_BYTES => Ok(()),
        _ => Err(refused(
            403,
            "The id_token claims were invalid",
            "the subject (sub) is missing or too long",
        )),
    }
}

/// Kratos's nonce rule: a token with a nonce needs the same nonce
/// submitted; one without passes.
fn check_nonce(claims: &Map<String, Value>, submitted: &str) -> Result<(), MethodError> {
    let in_token = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
    if in_token.is_empty() {
        return Ok(());
    }
    if submitted.is_empty() {
        return Err(refused(
            400,
            "No nonce was provided but is required by the provider",
            "the id_token carries a nonce; submit it as id_token_nonce",
        ));
    }
    if !crate::hash::ct_eq(in_token.as_bytes(), submitted.as_bytes()) {
        return Err(refused(
            400,
            "The supplied nonce does not match the nonce from the id_token",
            "id_token_nonce differs from the token's nonce claim",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn status(result: Result<(), MethodError>) -> Option<u16> {
        match result {
            Err(MethodError::Refused(refusal)) => Some(refusal.status),
            _ => None,
        }
    }

    #[test]
    fn nonce_rule_follows_kratos() {
        let with = claims(json!({"sub": "a", "nonce": "n-1"}));
        assert!(check_nonce(&with, "n-1").is_ok());
        assert_eq!(status(check_nonce(&with, "")), Some(400));
        assert_eq!(status(check_nonce(&with, "n-2")), Some(400));
        let without = claims(json!({"sub": "a"}));
        assert!(check_nonce(&without, "").is_ok());
        assert!(check_nonce(&without, "anything").is_ok());
    }

    #[test]
    fn subject_must_be_present_and_short() {
        assert!(check_subject(&claims(json!({"sub": "a"}))).is_ok());
        assert_eq!(status(check_subject(&claims(json!({})))), Some(403));
        let long = "x".repeat(MAX_SUBJECT_BYTES + 1);
        assert_eq!(
            status(check_subject(&claims(json!({ "sub": long })))),
            Some(403)
        );
    }

    #[test]
    fn empty_id_token_is_no_submission() {
        assert!(submitted(&json!({"id_token": ""})).is_none());
        assert!(submitted(&json!({})).is_none());
        assert!(submitted(&json!({"id_token": "a.b.c"})).is_some());
        assert!(submitted(&json!({"id_token": 5})).is_some());
    }
}
