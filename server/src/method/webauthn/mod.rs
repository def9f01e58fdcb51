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
mod keys;
mod nodes;
mod passkey;
mod relying_party;
pub mod script;
mod security_key;

pub use passkey::{PasskeyMethod, PasskeySettings};
pub use relying_party::{RelyingParty, RelyingPartyError};
pub use security_key::{WebauthnMethod, WebauthnSettings};
