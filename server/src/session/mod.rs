//! Sessions: what a successful login or registration yields, looked up by an
//! opaque token that is stored only as its SHA-256 digest.
//!
//! Invariant: a clear-text token exists only in the response that issued it.

mod exchange;
mod model;
mod service;
mod token;

pub use exchange::{EXCHANGE_CODE_LENGTH, ExchangeError, TokenExchanges};
pub use model::{AuthMethod, Device, Session};
pub use service::{
    BULK_LIMIT, BulkOutcome, BulkTarget, SessionError, SessionService, SessionSettings,
};
pub use token::{generate_token, hash_token, random_alphanumeric};
