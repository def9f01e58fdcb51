//! Bounded growth: removes what expired (flows, error records, sessions), in
//! batches with an optional pause between them so a busy database keeps serving.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{CleanupStore, Expired, StoreError};

/// How a cleanup runs.
#[derive(Debug, Clone, Copy)]
pub struct CleanupPlan {
    /// Rows that expired less than this long ago are kept (Kratos's `--keep-last`).
    pub keep_last: Duration,
    /// Rows deleted per statement (`--batch-size`).
    pub batch_size: u32,
    /// Pause between batches (`--sleep`).
    pub sleep: Duration,
}

/// How many rows of each kind a cleanup deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// `(kind, rows deleted)` in the order they ran.
    pub deleted: Vec<(Expired, u64)>,
}

/// Deletes everything that expired before `now - keep_last`, batch by batch,
/// until a batch comes back short.
pub async fn run(
    store: &dyn CleanupStore,
    now: DateTime<Utc>,
    plan: CleanupPlan,
) -> Result<CleanupReport, StoreError> {
    let keep = chrono::Duration::from_std(plan.keep_last).unwrap_or(chrono::Duration::MAX);
    let before = now
        .checked_sub_signed(keep)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let batch = plan.batch_size.max(1);
    let mut report = CleanupReport::default();
    for kind in Expired::ALL {
        let mut total = 0;
        loop {
            let deleted = store.delete_expired(kind, before, batch).await?;
            total += deleted;
            if deleted < u64::from(batch) {
                break;
            }
            if !plan.sleep.is_zero() {
                tokio::time::sleep(plan.sleep).await;
            }
        }
        report.deleted.push((kind, total));
    }
    Ok(report)
}

/// The background janitor of `bia serve --cleanup-every`: once the database
/// is ready, runs a cleanup (nothing kept past its expiry, batches of
/// [`JANITOR_BATCH`] with no pause) every `every`, until `stop`. Failures
/// are logged and the next round tries again; several replicas may run it
/// at once (each statement deletes a bounded batch).
pub async fn janitor(
    store: std::sync::Arc<dyn CleanupStore>,
    clock: std::sync::Arc<dyn crate::time::Clock>,
    every: Duration,
    ready: impl Fn() -> bool,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let plan = CleanupPlan {
        keep_last: Duration::ZERO,
        batch_size: JANITOR_BATCH,
        sleep: Duration::ZERO,
    };
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            () = tokio::time::sleep(every) => {}
        }
        if !ready() {
            continue;
        }
        match run(store.as_ref(), clock.now(), plan).await {
            Ok(report) => {
                for (kind, deleted) in report.deleted.iter().filter(|(_, n)| *n > 0) {
                    tracing::info!(
                        kind = kind.as_str(),
                        deleted,
                        "janitor removed expired rows"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "janitor round failed; trying again later"),
        }
    }
}

/// Rows the janitor deletes per statement.
pub const JANITOR_BATCH: u32 = 1000;
