//! The one-time values of an authorization request: the state that brings
//! the provider's answer back to its flow, the nonce the ID token must
//! carry, and the PKCE verifier. The state names the flow in clear
//! (`<kind>.<flow id>.<secret>`); only the secret's digest is kept with the
//! flow, which is used once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::flow::FlowKind;

/// The longest state accepted from a callback (a flow kind, a UUID and a
/// 43-character secret fit well within).
pub const MAX_STATE_BYTES: usize = 128;

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_value() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 PKCE challenge of a verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The digest under which a state secret is kept.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The state sent to the provider for a flow.
pub fn state_for(kind: FlowKind, flow_id: Uuid, secret: &str) -> String {
    format!("{}.{flow_id}.{secret}", kind.as_str())
}

/// The flow a returned state names, and its secret; `None` when it is not
/// one this server made (wrong shape, unknown kind, too long).
pub fn parse_state(state: &str) -> Option<(FlowKind, Uuid, &str)> {
    if state.len() > MAX_STATE_BYTES {
        return None;
    }
    let mut parts = state.splitn(3, '.');
    let kind = FlowKind::parse(parts.next()?).filter(|k| {
        matches!(
            k,
            FlowKind::Login | FlowKind::Registration | FlowKind::Settings
        )
    })?;
    let id = Uuid::parse_str(parts.next()?).ok()?;
    let secret = parts.next().filter(|s| !s.is_empty())?;
    Some((kind, id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_hostile_ones_are_refused() {
        let id = Uuid::new_v4();
        let secret = random_value();
        assert_eq!(secret.len(), 43);
        let state = state_for(FlowKind::Registration, id, &secret);
        assert_eq!(
            parse_state(&state),
            Some((FlowKind::Registration, id, secret.as_str()))
        );
        for bad in [
            "",
            "login",
            "recovery.00000000-0000-0000-0000-000000000000.x",
            "login.not-a-uuid.x",
            &format!("login.{id}."),
            &format!("login.{id}.{}", "x".repeat(200)),
        ] {
            assert_eq!(parse_state(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
