//! One-time secrets sent to an address: six-digit codes typed into a flow and
//! link tokens clicked in a message (recovery, verification, sign-in and
//! sign-up by code).
//!
//! A secret exists in clear text only in the message that carries it; the
//! store keeps an HMAC-SHA-256 digest under the server's secret (the first of
//! `secrets.default`, every one of them accepted, so secrets rotate), bound
//! to its flow. A secret is used at most once, expires with its flow, and a
//! flow's secrets are all voided after a number of wrong guesses
//! (`selfservice.methods.code.config.max_submissions`, 5 by default).

mod secret;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use secret::{Digester, new_code, new_link_token};

use crate::store::{OneTimeCodeStore, StoreError};
use crate::time::Clock;

/// What a secret is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Regaining access to an account.
    Recovery,
    /// Proving an address belongs to its holder.
    Verification,
    /// Signing in with a code sent to the account's address.
    Login,
    /// Signing up with a code sent to the new account's address.
    Registration,
}

impl Purpose {
    /// The storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Recovery => "recovery",
            Purpose::Verification => "verification",
            Purpose::Login => "login",
            Purpose::Registration => "registration",
        }
    }

    /// Parses a storage name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "recovery" => Some(Purpose::Recovery),
            "verification" => Some(Purpose::Verification),
            "login" => Some(Purpose::Login),
            "registration" => Some(Purpose::Registration),
            _ => None,
        }
    }
}

/// How a secret reaches the person: typed (`code`) or clicked (`link`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A six-digit code.
    Code,
    /// A token in a URL.
    Link,
}

impl Delivery {
    /// The method name, as in submissions and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Code => "code",
            Delivery::Link => "link",
        }
    }

    /// Parses a method name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "code" => Some(Delivery::Code),
            "link" => Some(Delivery::Link),
            _ => None,
        }
    }
}

/// A stored one-time secret (its digest, never the secret).
#[derive(Debug, Clone, PartialEq)]
pub struct OneTimeCode {
    /// Its id.
    pub id: Uuid,
    /// The flow it belongs to.
    pub flow_id: Uuid,
    /// What it is for.
    pub purpose: Purpose,
    /// Code or link.
    pub delivery: Delivery,
    /// The HMAC digest of the secret, hex.
    pub digest: String,
    /// `email` or `sms`.
    pub address_via: String,
    /// The address it was sent to.
    pub address: String,
    /// The identity that owns the address (none for an unknown address).
    pub identity_id: Option<Uuid>,
    /// Wrong guesses so far on its flow.
    pub attempts: u32,
    /// When it was used.
    pub used_at: Option<DateTime<Utc>>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// Where a secret is sent, and whose it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// `email` or `sms`.
    pub via: String,
    /// The address.
    pub address: String,
    /// The identity owning it; none for an address no identity has (its
    /// secret is stored so that both cases cost the same, and never redeems;
    /// sign-up codes, for an identity not made yet, have none and redeem).
    pub identity_id: Option<Uuid>,
}

/// Why a secret was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// Wrong, used, expired, or the flow has had too many wrong guesses.
    #[error("the code is invalid or has already been used")]
    Invalid,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues and redeems one-time secrets.
#[derive(Clone)]
pub struct OneTimeCodes {
    store: Arc<dyn OneTimeCodeStore>,
    digester: Digester,
    max_attempts: u32,
    clock: Arc<dyn Clock>,
}

impl OneTimeCodes {
    /// Secrets kept in `store`, digested under `secrets` (the first digests,
    /// all are accepted), voided after `max_attempts` wrong guesses.
    pub fn new(
        store: Arc<dyn OneTimeCodeStore>,
        secrets: &[String],
        max_attempts: u32,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            digester: Digester::new(secrets),
            max_attempts,
            clock,
        }
    }

    /// Makes a secret for `recipient` on a flow, valid until `expires_at`,
    /// and returns it in clear text (for the message only).
    pub async fn issue(
        &self,
        flow_id: Uuid,
        purpose: Purpose,
        delivery: Delivery,
        recipient: &Recipient,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let secret = match delivery {
            Delivery::Code => new_code(),
            Delivery::Link => new_link_token(),
        };
        let code = OneTimeCode {
            id: Uuid::new_v4(),
            flow_id,
            purpose,
            delivery,
            digest: self.digester.digest(flow_id, &secret),
            address_via: recipient.via.clone(),
            address: recipient.address.clone(),
            identity_id: recipient.identity_id,
            attempts: 0,
            used_at: None,
            expires_at,
            created_at: self.clock.now(),
        };
        self.store.create(&code).await?;
        Ok(secret)
    }

    /// Redeems a secret submitted to a flow: the matching live secret is
    /// marked used (once only, even under concurrent submissions) and
    /// returned. A wrong guess counts against the flow; after the limit of
    /// them its secrets are voided.
    pub async fn redeem(
        &self,
        flow_id: Uuid,
        purpose: Purpose,
        submitted: &str,
    ) -> Result<OneTimeCode, CodeError> {
        let now = self.clock.now();
        let live = self.store.live_for_flow(flow_id, purpose, now).await?;
        // A sign-up code belongs to no identity yet; any other secret sent
        // to an address no identity has never redeems.
        let found = live.iter().find(|code| {
            (code.identity_id.is_some() || code.purpose == Purpose::Registration)
                && code.attempts < self.max_attempts
                && self.digester.matches(flow_id, submitted, &code.digest)
        });
        match found {
            Some(code) if self.store.mark_used(code.id, now).await? => {
                self.store.void_flow(flow_id, now).await?;
                Ok(code.clone())
            }
            Some(_) => Err(CodeError::Invalid),
            None => {
                if !live.is_empty() {
                    let attempts = self.store.count_failure(flow_id).await?;
                    if attempts >= self.max_attempts {
                        self.store.void_flow(flow_id, now).await?;
                    }
                }
                Err(CodeError::Invalid)
            }
        }
    }

    /// Voids every live secret of a flow (a new one is about to be sent).
    pub async fn void(&self, flow_id: Uuid) -> Result<(), StoreError> {
        self.store.void_flow(flow_id, self.clock.now()).await
    }
}
