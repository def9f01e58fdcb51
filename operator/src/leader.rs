//! Leader election with a `coordination.k8s.io/v1` Lease: only the holder reconciles,
//! so two operator replicas are safe. A replica that loses the Lease exits, and its
//! restart waits as a candidate.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, PostParams};

/// Lease settings.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This replica's identity (the pod name).
    pub holder: String,
    /// How long a Lease holds without renewal.
    pub duration: Duration,
    /// How often the holder renews.
    pub renew_every: Duration,
}

/// Outcome of one acquisition attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// This replica holds the Lease.
    Held,
    /// Someone else holds a live Lease.
    Taken,
}

fn lease_spec(cfg: &LeaseConfig, now: Timestamp, transitions: i32) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(cfg.holder.clone()),
        lease_duration_seconds: Some(i32::try_from(cfg.duration.as_secs()).unwrap_or(i32::MAX)),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    }
}

/// Tries once to acquire or renew the Lease. Conflicts (another replica wrote first) count as `Taken`.
pub async fn try_acquire(
    client: &Client,
    cfg: &LeaseConfig,
    now: Timestamp,
) -> Result<Attempt, kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
    let Some(mut lease) = api.get_opt(&cfg.name).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(cfg.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(lease_spec(cfg, now, 0)),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(Attempt::Held),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Taken),
            Err(e) => Err(e),
        };
    };
    let spec = lease.spec.clone().unwrap_or_default();
    let mine = spec.holder_identity.as_deref() == Some(cfg.holder.as_str());
    let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
        (Some(renewed), Some(secs)) => renewed.0 + SignedDuration::from_secs(i64::from(secs)) < now,
        _ => true,
    };
    if !mine && !expired {
        return Ok(Attempt::Taken);
    }
    let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
    let mut next = lease_spec(cfg, now, transitions);
    if mine {
        next.acquire_time = spec.acquire_time;
    }
    lease.spec = Some(next);
    // replace carries the resourceVersion we read: a concurrent writer makes this a 409.
    match api.replace(&cfg.name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(Attempt::Held),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Taken),
        Err(e) => Err(e),
    }
}

/// Waits until this replica holds the Lease.
pub async fn acquire(client: &Client, cfg: &LeaseConfig) {
    loop {
        match try_acquire(client, cfg, Timestamp::now()).await {
            Ok(Attempt::Held) => return,
            Ok(Attempt::Taken) => {}
            Err(e) => tracing::warn!(error = %e, "leader election failed; retrying"),
        }
        tokio::time::sleep(cfg.renew_every).await;
    }
}

/// Renews the Lease until renewal fails for longer than the Lease duration; then returns.
pub async fn keep(client: &Client, cfg: &LeaseConfig) {
    let mut last_ok = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(cfg.renew_every).await;
        match try_acquire(client, cfg, Timestamp::now()).await {
            Ok(Attempt::Held) => last_ok = tokio::time::Instant::now(),
            Ok(Attempt::Taken) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot renew the leader Lease");
                if last_ok.elapsed() >= cfg.duration {
                    return;
                }
            }
        }
    }
}
