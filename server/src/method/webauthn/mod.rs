//! WebAuthn: security keys as a second factor ([`WebauthnMethod`], method
//! `webauthn`) and passkeys, discoverable credentials that sign up and sign
//! in alone ([`PasskeyMethod`], method `passkey`), on `webauthn-rs`.
//!
//! Both keep a ceremony's state in the flow (server-side; the form carries
//! only the options), store an identity's keys in one credential of their
//! type, in Kratos's config shape ([`keys`]), and let browsers run the
//! ceremonies with the script served at `/.well-known/ory/webauthn.js`
//! ([`script`]).

mod assertion;
mod ceremony;
pub(super) mod import;
mod keys;
mod nodes;
mod passkey;
mod relying_party;
pub mod script;
mod security_key;

pub use passkey::PasskeyMethod;
pub use relying_party::{RelyingParty, RelyingPartyError};
pub use security_key::WebauthnMethod;

use std::sync::Arc;

use crate::throttle::Throttle;
use crate::time::Clock;

/// What the security key and passkey methods need besides the identities:
/// each has its own relying party (`selfservice.methods.{webauthn,passkey}.config.rp`).
#[derive(Clone)]
pub struct KeySettings {
    /// The relying party.
    pub relying_party: Arc<RelyingParty>,
    /// The brute-force throttle shared with the other credential checks.
    pub throttle: Arc<Throttle>,
    /// The clock of `added_at`.
    pub clock: Arc<dyn Clock>,
}
