//! Prometheus metrics, kept in atomics and written in the text exposition format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters for one reconciled kind.
#[derive(Debug, Default)]
pub struct KindMetrics {
    reconciles: AtomicU64,
    failures: AtomicU64,
    duration_micros: AtomicU64,
}

/// Operator metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// IdentityServer reconciliations.
    pub servers: KindMetrics,
    /// Attached-resource reconciliations.
    pub attached: KindMetrics,
    /// Identity reconciliations.
    pub identities: KindMetrics,
    /// Config rollouts (the restart hash changed).
    pub rollouts: AtomicU64,
    /// Attached resources refused.
    pub refusals: AtomicU64,
    /// 1 while this replica leads.
    pub leader: AtomicU64,
}

impl KindMetrics {
    /// Records one reconciliation and how long it took.
    pub fn observe(&self, micros: u64, failed: bool) {
        self.reconciles.fetch_add(1, Ordering::Relaxed);
        self.duration_micros.fetch_add(micros, Ordering::Relaxed);
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Metrics {
    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP bia_operator_reconciliations_total Reconciliations by kind."
        );
        let _ = writeln!(out, "# TYPE bia_operator_reconciliations_total counter");
        for (kind, m) in [
            ("IdentityServer", &self.servers),
            ("attached", &self.attached),
            ("Identity", &self.identities),
        ] {
            let _ = writeln!(
                out,
                "bia_operator_reconciliations_total{{kind=\"{kind}\"}} {}",
                m.reconciles.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP bia_operator_reconcile_failures_total Failed reconciliations by kind."
        );
        let _ = writeln!(out, "# TYPE bia_operator_reconcile_failures_total counter");
        for (kind, m) in [
            ("IdentityServer", &self.servers),
            ("attached", &self.attached),
            ("Identity", &self.identities),
        ] {
            let _ = writeln!(
                out,
                "bia_operator_reconcile_failures_total{{kind=\"{kind}\"}} {}",
                m.failures.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP bia_operator_reconcile_seconds_total Time spent reconciling by kind."
        );
        let _ = writeln!(out, "# TYPE bia_operator_reconcile_seconds_total counter");
        for (kind, m) in [
            ("IdentityServer", &self.servers),
            ("attached", &self.attached),
            ("Identity", &self.identities),
        ] {
            let secs = m.duration_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "bia_operator_reconcile_seconds_total{{kind=\"{kind}\"}} {secs}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP bia_operator_rollouts_total Config changes that rolled the server pods."
        );
        let _ = writeln!(out, "# TYPE bia_operator_rollouts_total counter");
        let _ = writeln!(
            out,
            "bia_operator_rollouts_total {}",
            self.rollouts.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP bia_operator_refusals_total Attached resources refused."
        );
        let _ = writeln!(out, "# TYPE bia_operator_refusals_total counter");
        let _ = writeln!(
            out,
            "bia_operator_refusals_total {}",
            self.refusals.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP bia_operator_leader 1 while this replica holds the leader Lease."
        );
        let _ = writeln!(out, "# TYPE bia_operator_leader gauge");
        let _ = writeln!(
            out,
            "bia_operator_leader {}",
            self.leader.load(Ordering::Relaxed)
        );
        out
    }
}
