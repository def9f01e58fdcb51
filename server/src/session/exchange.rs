//! Session token exchanges: how a native app gets the session a sign-in in
//! a browser created. Creating an API flow with
//! `return_session_token_exchange_code=true` starts an exchange and hands
//! the app its init code; when the flow completes in the browser, the
//! exchange is bound to the new session and the browser is sent to the
//! flow's `return_to` with the return-to code. The app redeems both codes
//! once for the session and a token. Only digests of the codes are stored.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::token::{hash_token, random_alphanumeric};
use crate::store::{StoreError, TokenExchange, TokenExchangeStore};
use crate::time::Clock;

/// The length of both codes (alphanumerics).
pub const EXCHANGE_CODE_LENGTH: usize = 64;

/// Why a redemption failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// No exchange matches both codes: unknown, malformed, already
    /// redeemed, expired, not completed yet, or the codes do not belong together.
    #[error("no session for these codes")]
    Unknown,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The exchanges of native apps' browser sign-ins.
#[derive(Clone)]
pub struct TokenExchanges {
    store: Arc<dyn TokenExchangeStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TokenExchanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchanges").finish_non_exhaustive()
    }
}

/// Whether a submitted code has the shape of one this server hands out.
fn well_formed(code: &str) -> bool {
    code.len() == EXCHANGE_CODE_LENGTH && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl TokenExchanges {
    /// The exchanges kept in `store`.
    pub fn new(store: Arc<dyn TokenExchangeStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Starts the exchange of an API flow that lasts until `expires_at`;
    /// returns the init code, which only this answer shows.
    pub async fn start(
        &self,
        flow_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let code = random_alphanumeric(EXCHANGE_CODE_LENGTH);
        self.store
            .create(&TokenExchange {
                id: Uuid::new_v4(),
                flow_id,
                init_code_digest: hash_token(&code),
                return_to_code_digest: None,
                session_id: None,
                expires_at,
                created_at: self.clock.now(),
            })
            .await?;
        Ok(code)
    }

    /// Whether the flow has an exchange waiting for its session.
    pub async fn pending(&self, flow_id: Uuid) -> Result<bool, StoreError> {
        self.store.pending_for_flow(flow_id).await
    }

    /// Binds the flow's exchange to the session it created; returns the
    /// return-to code for the browser, none when the flow has no exchange
    /// waiting.
    pub async fn complete(
        &self,
        flow_id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<String>, StoreError> {
        let code = random_alphanumeric(EXCHANGE_CODE_LENGTH);
        let bound = self
            .store
            .bind(flow_id, session_id, &hash_token(&code))
            .await?;
        Ok(bound.then_some(code))
    }

    /// Redeems both codes, once: the session id they stand for.
    pub async fn redeem(
        &self,
        init_code: &str,
        return_to_code: &str,
    ) -> Result<Uuid, ExchangeError> {
        if !well_formed(init_code) || !well_formed(return_to_code) {
            return Err(ExchangeError::Unknown);
        }
        self.store
            .redeem(
                &hash_token(init_code),
                &hash_token(return_to_code),
                self.clock.now(),
            )
            .await?
            .ok_or(ExchangeError::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_codes_of_the_handed_out_shape_are_well_formed() {
        assert!(well_formed(&random_alphanumeric(EXCHANGE_CODE_LENGTH)));
        assert!(!well_formed(""));
        assert!(!well_formed(&"a".repeat(EXCHANGE_CODE_LENGTH + 1)));
        assert!(!well_formed(&format!(
            "{}é",
            "a".repeat(EXCHANGE_CODE_LENGTH - 2)
        )));
        assert!(!well_formed(&"a-".repeat(EXCHANGE_CODE_LENGTH / 2)));
    }
}
