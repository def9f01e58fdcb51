//! The worker: pulls due messages from the store under a lease, delivers
//! them, and records each attempt.
//!
//! Every `courier.worker.pull_wait` (1 s by default) it claims up to
//! `courier.worker.pull_count` (10) messages and delivers them, eight at a
//! time; after a full batch it pulls again at once, so a backlog drains at
//! the delivery's pace. Two such loops run side by side, so one claims and
//! records while the other's batch is on the wire. Each attempt adds a dispatch to the message's log. A
//! failed message is queued again after an exponential backoff (1 s, 2 s,
//! 4 s, ... up to 5 min), and after `courier.message_retries` retries (5)
//! it is `abandoned`, its last error in the log. A failure of the message
//! itself (an address the server cannot parse) abandons it at once.
//!
//! Several workers, in one process or many, may share a database: the store
//! gives each message to one lease at a time. A worker that dies mid-send
//! leaves its messages `processing` until the lease ends; another worker
//! then claims them again (the message may then be sent twice: the only case
//! in which it is). A lease lasts as long as a whole batch may take: each
//! attempt is given 30 s at most (then it counts as failed), eight run at a
//! time.

use std::sync::Arc;
use std::time::Duration;

use bia_config::CourierConfig;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::delivery::{Deliver, DeliveryError};
use super::message::{Attempt, Lease, Message};
use crate::store::{AttemptRecord, CourierStore, StoreError};
use crate::time::Clock;

/// How long one delivery attempt may take, connecting included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts of one batch under way at once (as many as the SMTP pool's
/// connections).
pub const CONCURRENT_ATTEMPTS: usize = 8;

/// How the worker paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Messages claimed per pull.
    pub pull_count: u32,
    /// Pause after a pull that did not fill a batch.
    pub pull_wait: Duration,
    /// Retries after the first attempt before a message is abandoned.
    pub message_retries: u32,
    /// How long one attempt may take before it counts as failed.
    pub attempt_timeout: Duration,
    /// How long a claim holds its messages: longer than a whole batch can
    /// take (see [`WorkerSettings::lease_for`]).
    pub lease: Duration,
    /// The wait after the first failure; it doubles with every further one.
    pub backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            pull_count: 10,
            pull_wait: Duration::from_secs(1),
            message_retries: 5,
            attempt_timeout: ATTEMPT_TIMEOUT,
            lease: Self::lease_for(10, ATTEMPT_TIMEOUT),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
        }
    }
}

impl WorkerSettings {
    /// The settings of the `courier` section.
    pub fn from_config(config: &CourierConfig) -> Self {
        let defaults = Self::default();
        Self {
            pull_count: config
                .worker
                .pull_count
                .unwrap_or(defaults.pull_count)
                .max(1),
            pull_wait: config
                .worker
                .pull_wait
                .as_ref()
                .map(|d| d.0)
                .unwrap_or(defaults.pull_wait),
            message_retries: config.message_retries(),
            ..defaults
        }
    }

    /// A lease long enough for a batch of `pull_count` attempts of at most
    /// `attempt_timeout` each, [`CONCURRENT_ATTEMPTS`] at a time, and one
    /// attempt's time to spare for recording the outcomes.
    pub fn lease_for(pull_count: u32, attempt_timeout: Duration) -> Duration {
        let rounds = pull_count.div_ceil(CONCURRENT_ATTEMPTS as u32) + 1;
        attempt_timeout.saturating_mul(rounds)
    }

    /// The wait before the attempt after `failures` failed ones.
    pub fn backoff_after(&self, failures: u32) -> Duration {
        let factor = 2_u32.saturating_pow(failures.saturating_sub(1));
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Delivers queued messages.
pub struct Worker {
    store: Arc<dyn CourierStore>,
    delivery: Arc<dyn Deliver>,
    clock: Arc<dyn Clock>,
    settings: WorkerSettings,
}

impl Worker {
    /// A worker on this store and delivery, on the system clock.
    pub fn new(
        store: Arc<dyn CourierStore>,
        delivery: Arc<dyn Deliver>,
        settings: WorkerSettings,
    ) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(crate::time::SystemClock);
        Self {
            store,
            delivery,
            clock,
            settings,
        }
    }

    /// The same worker reading time from `clock`.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    /// Pulls and delivers until `stop` turns true; a batch being delivered
    /// is finished first. Store failures are logged and retried after the
    /// pull wait.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(
            pull_count = self.settings.pull_count,
            pull_wait_ms = self.settings.pull_wait.as_millis() as u64,
            "courier worker started"
        );
        // Two pull loops, so one claims and records while the other's batch
        // is on the wire.
        tokio::join!(self.pull_loop(stop.clone()), self.pull_loop(stop));
        tracing::info!("courier worker stopped");
    }

    /// Pulls and delivers batches until `stop`.
    async fn pull_loop(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        while !*stop.borrow() {
            let full = match self.pull_once().await {
                Ok(count) => count >= self.settings.pull_count as usize,
                Err(error) => {
                    tracing::warn!(%error, "courier: cannot pull messages");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break,
                () = tokio::time::sleep(self.settings.pull_wait) => {}
            }
        }
    }

    /// Claims one batch and delivers it; returns how many were claimed.
    pub async fn pull_once(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let lease = Lease {
            owner: Uuid::new_v4(),
            until: later(now, self.settings.lease),
        };
        let messages = self
            .store
            .claim(self.settings.pull_count, &lease, now)
            .await?;
        let permits = tokio::sync::Semaphore::new(CONCURRENT_ATTEMPTS);
        let attempts = messages.iter().map(|message| async {
            let result = {
                // Never closed: a permit is always granted in turn.
                let _permit = permits.acquire().await.ok();
                self.deliver(message).await
            };
            self.record(message, &lease, result).await
        });
        let attempts = futures::future::join_all(attempts).await;
        for result in attempts {
            result?;
        }
        Ok(messages.len())
    }

    /// One attempt to deliver a message, within the attempt's time.
    async fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        let limit = self.settings.attempt_timeout;
        match tokio::time::timeout(limit, self.delivery.deliver(message)).await {
            Ok(result) => result,
            Err(_) => Err(DeliveryError::new(format!(
                "no answer within {} s",
                limit.as_secs()
            ))),
        }
    }

    /// Records how an attempt went.
    async fn record(
        &self,
        message: &Message,
        lease: &Lease,
        result: Result<(), DeliveryError>,
    ) -> Result<(), StoreError> {
        let attempt = self.outcome(message, result);
        let event = match &attempt {
            Attempt::Sent => "sent",
            Attempt::Retry { error, .. } => {
                tracing::warn!(id = %message.id, error = %error, "courier: delivery failed; will retry");
                "failed"
            }
            Attempt::Abandon { error } => {
                tracing::error!(id = %message.id, error = %error, "courier: delivery failed; message abandoned");
                "abandoned"
            }
        };
        let channel = message.channel.id();
        if event == "abandoned" {
            metrics::counter!(crate::metrics::COURIER_MESSAGES, "channel" => channel, "event" => "failed")
                .increment(1);
        }
        metrics::counter!(crate::metrics::COURIER_MESSAGES, "channel" => channel, "event" => event)
            .increment(1);
        let record = AttemptRecord {
            id: message.id,
            lease,
            attempt: &attempt,
            now: self.clock.now(),
        };
        if !self.store.record(&record).await? {
            tracing::warn!(id = %message.id, "courier: the lease ended before the attempt was recorded");
        }
        Ok(())
    }

    /// What an attempt's result means for the message.
    fn outcome(&self, message: &Message, result: Result<(), DeliveryError>) -> Attempt {
        let error = match result {
            Ok(()) => return Attempt::Sent,
            Err(error) => error,
        };
        let failures = message.send_count + 1;
        if error.permanent || failures > self.settings.message_retries {
            return Attempt::Abandon {
                error: error.to_json(),
            };
        }
        Attempt::Retry {
            error: error.to_json(),
            at: later(self.clock.now(), self.settings.backoff_after(failures)),
        }
    }
}

/// `now` plus `wait`, saturating far in the future.
fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(wait)
        .ok()
        .and_then(|wait| now.checked_add_signed(wait))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_limit() {
        let settings = WorkerSettings::default();
        let waits: Vec<u64> = (1..=10)
            .map(|n| settings.backoff_after(n).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(settings.backoff_after(u32::MAX).as_secs(), 300);
        // Two rounds of eight attempts and one to spare.
        assert_eq!(settings.lease.as_secs(), 90);
        assert_eq!(
            WorkerSettings::lease_for(50, ATTEMPT_TIMEOUT).as_secs(),
            240
        );
    }
}
