//! Schema migrations driven from `IdentitySchema.spec.supersedes`, pure: the admin API
//! request of the next batch, and how a batch's answer advances `status.migration`.
//! The controller (`controller::schema_migration`) does the I/O around it.
//!
//! A migration runs for one generation of the new schema: a dry run over every identity
//! of the superseded schema (counting failures, keeping ten examples), then passes that
//! move them batch by batch. The cursor in status makes it resumable, and repeating a
//! batch is harmless: the server only reads identities still on the superseded schema.
//! A pass that met identities changed concurrently (`skipped`) is followed by another;
//! identities that fail stay where they are and are listed.

use bia_crds::{
    DryRunStatus, FailedIdentity, IdentitySchema, MigrationPhase, SchemaMigrationStatus,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// Failures kept as examples of the dry run.
pub const DRY_RUN_EXAMPLES: usize = 10;
/// Failures listed in `status.migration.failedIdentities`.
pub const LISTED_FAILURES: usize = 50;
/// Longest reason kept in status, in characters.
const MAX_REASON_CHARS: usize = 300;

/// One failure as the server reports it.
#[derive(Clone, Debug, Deserialize)]
pub struct Failure {
    /// The identity.
    pub identity_id: String,
    /// Why it stays.
    pub reason: String,
}

/// The server's answer to one batch (`POST /admin/bia/schema-migrations`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct BatchAnswer {
    /// Identities moved (on a dry run: that would move).
    #[serde(default)]
    pub migrated: i64,
    /// Identities changed concurrently, left for the next pass.
    #[serde(default)]
    pub skipped: i64,
    /// Identities that failed, all counted.
    #[serde(default)]
    pub failed_count: i64,
    /// The first failures.
    #[serde(default)]
    pub failed: Vec<Failure>,
    /// Identities on the source schema after `next`.
    #[serde(default)]
    pub remaining: i64,
    /// Cursor of the next batch; `None` at the end of a pass.
    #[serde(default)]
    pub next: Option<String>,
}

/// A change worth an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Milestone {
    /// The dry run ended and the identities start moving.
    DryRunDone,
    /// A pass ended with identities changed during it: another pass follows.
    NewPass,
    /// Nothing is left on the superseded schema but the failed identities (if any).
    Ended,
}

/// Whether the migration of this schema's current generation has ended (completed, or
/// failed with its failures listed).
pub fn ended(schema: &IdentitySchema) -> bool {
    current(schema)
        .is_some_and(|m| matches!(m.phase, MigrationPhase::Completed | MigrationPhase::Failed))
}

/// Whether the superseded schema is retired: a pass went through every identity and only
/// the failed ones (if any) stay on it.
pub fn retires_superseded(status: &SchemaMigrationStatus) -> bool {
    match status.phase {
        MigrationPhase::Completed => true,
        MigrationPhase::Failed => status.server_refusal.is_none(),
        _ => false,
    }
}

/// The migration status of the schema's current generation, if one began.
pub fn current(schema: &IdentitySchema) -> Option<&SchemaMigrationStatus> {
    schema
        .status
        .as_ref()
        .and_then(|s| s.migration.as_ref())
        .filter(|m| m.observed_generation == schema.metadata.generation)
}

/// A migration that begins (with its dry run) for `generation`.
pub fn start(generation: Option<i64>) -> SchemaMigrationStatus {
    SchemaMigrationStatus {
        phase: MigrationPhase::DryRun,
        observed_generation: generation,
        migrated: 0,
        failed: 0,
        remaining: 0,
        cursor: None,
        skipped: 0,
        dry_run: None,
        failed_identities: Vec::new(),
        server_refusal: None,
        message: "dry run: transforming and validating every identity without writing".into(),
    }
}

/// The admin API body of the next batch.
pub fn request(schema: &IdentitySchema, status: &SchemaMigrationStatus, batch_size: u32) -> Value {
    json!({
        "from_schema_id": schema.spec.supersedes,
        "to_schema_id": schema.spec.schema_id,
        "transform": schema.spec.transform,
        "dry_run": status.phase == MigrationPhase::DryRun,
        "batch_size": batch_size,
        "after": status.cursor,
    })
}

/// The status once a batch answered, and the milestone it reached, if any.
pub fn advance(
    status: &SchemaMigrationStatus,
    answer: &BatchAnswer,
) -> (SchemaMigrationStatus, Option<Milestone>) {
    let mut next = status.clone();
    next.cursor.clone_from(&answer.next);
    next.remaining = answer.remaining;
    if status.phase == MigrationPhase::DryRun {
        let dry = next.dry_run.get_or_insert_with(DryRunStatus::default);
        dry.would_migrate += answer.migrated;
        dry.would_fail += answer.failed_count;
        add_failures(&mut dry.examples, &answer.failed, DRY_RUN_EXAMPLES);
        if answer.next.is_some() {
            return (next, None);
        }
        let (would_migrate, would_fail) = (dry.would_migrate, dry.would_fail);
        next.phase = MigrationPhase::Migrating;
        next.remaining = would_migrate + would_fail;
        next.message = format!(
            "dry run: {would_migrate} identities would move, {would_fail} would fail; moving them"
        );
        return (next, Some(Milestone::DryRunDone));
    }
    next.migrated += answer.migrated;
    next.failed += answer.failed_count;
    next.skipped += answer.skipped;
    add_failures(&mut next.failed_identities, &answer.failed, LISTED_FAILURES);
    next.message = format!(
        "moved {} identities, {} failed, {} to examine",
        next.migrated, next.failed, next.remaining
    );
    if answer.next.is_some() {
        return (next, None);
    }
    if next.skipped > 0 {
        next.message = format!(
            "{} identities changed during the pass; another pass takes them",
            next.skipped
        );
        (next.failed, next.skipped) = (0, 0);
        next.failed_identities.clear();
        return (next, Some(Milestone::NewPass));
    }
    (finish(next), Some(Milestone::Ended))
}

fn finish(mut status: SchemaMigrationStatus) -> SchemaMigrationStatus {
    status.remaining = 0;
    if status.failed == 0 {
        status.phase = MigrationPhase::Completed;
        status.message = format!("all {} identities moved to this schema", status.migrated);
    } else {
        status.phase = MigrationPhase::Failed;
        status.message = format!(
            "{} identities moved; {} failed and stay on the superseded schema (listed): \
             fix them, or change spec.transform to run another pass",
            status.migrated, status.failed
        );
    }
    status
}

/// The status after the server refused the migration outright (nothing moved by the
/// refused call).
pub fn refused(status: &SchemaMigrationStatus, message: &str) -> SchemaMigrationStatus {
    SchemaMigrationStatus {
        phase: MigrationPhase::Failed,
        server_refusal: Some(message.chars().take(MAX_REASON_CHARS).collect()),
        message: "the server refused the migration; change spec.transform to try again".into(),
        ..status.clone()
    }
}

fn add_failures(list: &mut Vec<FailedIdentity>, failures: &[Failure], bound: usize) {
    for f in failures {
        if list.len() >= bound {
            return;
        }
        if list.iter().any(|l| l.id == f.identity_id) {
            continue;
        }
        list.push(FailedIdentity {
            id: f.identity_id.clone(),
            reason: f.reason.chars().take(MAX_REASON_CHARS).collect(),
        });
    }
}

/// `status.migration` as a merge patch: fields that became empty are sent as `null`, so the
/// API server removes them instead of keeping the old value.
pub fn patch(status: &SchemaMigrationStatus) -> Value {
    let mut value = serde_json::to_value(status).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        for key in [
            "observedGeneration",
            "cursor",
            "skipped",
            "dryRun",
            "failedIdentities",
            "serverRefusal",
            "message",
        ] {
            map.entry(key).or_insert(Value::Null);
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(migrated: i64, failed: &[&str], next: Option<&str>, remaining: i64) -> BatchAnswer {
        BatchAnswer {
            migrated,
            skipped: 0,
            failed_count: failed.len() as i64,
            failed: failed
                .iter()
                .map(|id| Failure {
                    identity_id: (*id).into(),
                    reason: "no email".into(),
                })
                .collect(),
            remaining,
            next: next.map(str::to_owned),
        }
    }

    #[test]
    fn a_dry_run_counts_then_passes_move_and_list_failures() {
        let s = start(Some(1));
        let (s, m) = advance(&s, &answer(2, &["a"], Some("c"), 3));
        assert_eq!(
            (s.phase, m, s.cursor.as_deref()),
            (MigrationPhase::DryRun, None, Some("c"))
        );
        let (s, m) = advance(&s, &answer(3, &[], None, 0));
        assert_eq!(
            (s.phase, m),
            (MigrationPhase::Migrating, Some(Milestone::DryRunDone))
        );
        let dry = s.dry_run.clone().unwrap();
        assert_eq!(
            (dry.would_migrate, dry.would_fail, dry.examples.len()),
            (5, 1, 1)
        );
        assert_eq!((s.cursor.as_deref(), s.remaining), (None, 6));
        let (s, _) = advance(&s, &answer(2, &["a"], Some("c"), 3));
        // The same batch again (an operator restarted before writing status) lists once.
        let (s2, _) = advance(&s, &answer(0, &["a"], Some("c"), 3));
        assert_eq!(s2.failed_identities.len(), 1);
        let (s, m) = advance(&s, &answer(3, &[], None, 0));
        assert_eq!(
            (s.phase, m),
            (MigrationPhase::Failed, Some(Milestone::Ended))
        );
        assert_eq!((s.migrated, s.failed, s.remaining), (5, 1, 0));
    }

    #[test]
    fn skipped_identities_start_another_pass_and_a_clean_pass_completes() {
        let mut s = start(Some(2));
        s.phase = MigrationPhase::Migrating;
        let mut a = answer(4, &["x"], None, 0);
        a.skipped = 1;
        let (s, m) = advance(&s, &a);
        assert_eq!(
            (s.phase, m),
            (MigrationPhase::Migrating, Some(Milestone::NewPass))
        );
        assert_eq!((s.failed, s.skipped, s.failed_identities.len()), (0, 0, 0));
        let (s, m) = advance(&s, &answer(1, &[], None, 0));
        assert_eq!(
            (s.phase, m),
            (MigrationPhase::Completed, Some(Milestone::Ended))
        );
        assert_eq!(s.migrated, 5);
        assert_eq!(patch(&s)["cursor"], Value::Null);
    }
}
