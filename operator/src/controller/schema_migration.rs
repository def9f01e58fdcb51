//! Driving a schema migration from an `IdentitySchema` that supersedes another: once both
//! schemas are served, batches go to the server's admin API
//! (`POST /admin/bia/schema-migrations`) and `status.migration` is written after each one;
//! the pure steps are in [`crate::migration`]. When a pass ends, the superseded schema gets
//! the condition `Superseded=True` (it is never deleted by the operator).
//!
//! Invariants: the cursor is written after every batch, so a restarted operator resumes
//! there (a batch run twice moves nothing twice); a pass runs batches for at most
//! [`Pacing::pass_budget`], then requeues; events at the start, the end of the dry run and
//! the end.

use std::time::{Duration, Instant};

use bia_crds::common::{find_condition, merge_keeping_others};
use bia_crds::{
    Condition, ConditionStatus, IdentitySchema, IdentityServer, MigrationPhase,
    SchemaMigrationStatus,
};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use serde_json::json;

use super::server::patch_attached_status;
use super::util::publish;
use super::{Context, Error};
use crate::admin_api::{AdminApi, AdminError};
use crate::migration::{self, BatchAnswer, Milestone};

/// How soon a migration waiting for its server is looked at again.
pub const WAIT: Duration = Duration::from_secs(10);

/// The condition type the superseded schema gets.
pub const SUPERSEDED: &str = "Superseded";

/// How fast a migration goes.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Identities per batch (1 to 1000).
    pub batch_size: u32,
    /// Most batches in one reconcile pass.
    pub batches_per_pass: u32,
    /// Longest a reconcile pass keeps sending batches.
    pub pass_budget: Duration,
    /// Pause before the next pass while identities remain.
    pub pause: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            batch_size: 500,
            batches_per_pass: 1000,
            pass_budget: Duration::from_secs(20),
            pause: Duration::from_secs(1),
        }
    }
}

/// Runs the migration of `schema` a little further; `None` when it has nothing to do
/// (no `supersedes`, not accepted yet, or ended).
pub async fn drive(
    schema: &IdentitySchema,
    server: &IdentityServer,
    ctx: &Context,
) -> Result<Option<Action>, Error> {
    let Some(old) = schema.spec.supersedes.as_deref() else {
        return Ok(None);
    };
    if !accepted(schema) {
        return Ok(None);
    }
    if let Some(done) = migration::current(schema).filter(|_| migration::ended(schema)) {
        if migration::retires_superseded(done) {
            retire(schema, server, done, ctx).await?;
        }
        return Ok(None);
    }
    let admin = AdminApi::new(ctx.client.clone(), server);
    if !served(&admin, &[old, &schema.spec.schema_id]).await? {
        return Ok(Some(Action::requeue(WAIT)));
    }
    let status = match migration::current(schema) {
        Some(m) => m.clone(),
        None => {
            let note = format!("moving the identities of schema {old:?} here; dry run first");
            publish(ctx, schema, false, "MigrationStarted", note).await;
            migration::start(schema.metadata.generation)
        }
    };
    run_batches(schema, server, ctx, &admin, status).await
}

/// Accepted by the server controller for the current generation.
fn accepted(schema: &IdentitySchema) -> bool {
    let conditions = schema.status.as_ref().map(|s| s.conditions.as_slice());
    find_condition(conditions.unwrap_or_default(), "Accepted").is_some_and(|c| {
        c.status == ConditionStatus::True && c.observed_generation == schema.metadata.generation
    })
}

/// Whether the server serves every one of `ids` (its pods may not have loaded the new
/// config yet); an unreachable server is a wait too.
async fn served(admin: &AdminApi, ids: &[&str]) -> Result<bool, Error> {
    for id in ids {
        match admin.schema(id).await {
            Ok(Some(_)) => {}
            Ok(None) | Err(AdminError::Unavailable(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// Sends batches until the pass budget is spent or the migration ends.
async fn run_batches(
    schema: &IdentitySchema,
    server: &IdentityServer,
    ctx: &Context,
    admin: &AdminApi,
    mut status: SchemaMigrationStatus,
) -> Result<Option<Action>, Error> {
    let pacing = ctx.migration;
    let started = Instant::now();
    for _ in 0..pacing.batches_per_pass.max(1) {
        let body = migration::request(schema, &status, pacing.batch_size);
        let answer = match admin.migrate_schema(&body).await {
            Ok(v) => serde_json::from_value::<BatchAnswer>(v)?,
            Err(AdminError::Refused { message, .. }) => {
                let failed = migration::refused(&status, &message);
                write(schema, ctx, &failed).await?;
                let note = format!("the server refused the migration: {message}");
                publish(ctx, schema, true, "MigrationFailed", note).await;
                return Ok(Some(Action::requeue(ctx.resync)));
            }
            Err(e) => return Err(e.into()),
        };
        let (next, milestone) = migration::advance(&status, &answer);
        status = next;
        write(schema, ctx, &status).await?;
        if let Some(m) = milestone {
            announce(schema, ctx, &status, &m).await;
            if m == Milestone::Ended {
                retire(schema, server, &status, ctx).await?;
                return Ok(Some(Action::requeue(ctx.resync)));
            }
        }
        if started.elapsed() >= pacing.pass_budget {
            break;
        }
    }
    Ok(Some(Action::requeue(pacing.pause)))
}

/// Writes `status.migration`, and the `Reconciling` condition when it changes.
async fn write(
    schema: &IdentitySchema,
    ctx: &Context,
    status: &SchemaMigrationStatus,
) -> Result<(), Error> {
    let previous = schema.status.clone().unwrap_or_default();
    let running = matches!(
        status.phase,
        MigrationPhase::DryRun | MigrationPhase::Migrating
    );
    let mut reconciling = Condition::new(
        "Reconciling",
        if running {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        &format!("Migration{:?}", status.phase),
        status.message.clone(),
    );
    reconciling.observed_generation = schema.metadata.generation;
    let mut patch = json!({"migration": migration::patch(status)});
    let before = find_condition(&previous.conditions, "Reconciling");
    if before.is_none_or(|c| (c.status, &c.reason) != (reconciling.status, &reconciling.reason)) {
        patch["conditions"] = serde_json::to_value(merge_keeping_others(
            &previous.conditions,
            vec![reconciling],
            &ctx.now(),
        ))?;
    }
    patch_attached_status(ctx, schema, &patch).await
}

/// The event of a milestone.
async fn announce(
    schema: &IdentitySchema,
    ctx: &Context,
    status: &SchemaMigrationStatus,
    milestone: &Milestone,
) {
    let (warning, reason) = match (milestone, status.phase) {
        (Milestone::DryRunDone, _) => (false, "MigrationDryRunDone"),
        (Milestone::NewPass, _) => (false, "MigrationNewPass"),
        (Milestone::Ended, MigrationPhase::Completed) => (false, "MigrationCompleted"),
        (Milestone::Ended, _) => (true, "MigrationFailed"),
    };
    publish(ctx, schema, warning, reason, status.message.clone()).await;
}

/// Sets `Superseded=True` on the superseded IdentitySchema of the same server.
async fn retire(
    schema: &IdentitySchema,
    server: &IdentityServer,
    status: &SchemaMigrationStatus,
    ctx: &Context,
) -> Result<(), Error> {
    let Some(old) = superseded(schema, server, ctx).await? else {
        return Ok(());
    };
    let (reason, stays) = if status.failed == 0 {
        ("AllMigrated", String::new())
    } else {
        (
            "FailedIdentitiesRemain",
            format!(
                "; {} failed identities stay on it (listed in the status of IdentitySchema {})",
                status.failed,
                schema.name_any()
            ),
        )
    };
    let message = format!(
        "superseded by schema {:?} (IdentitySchema {}/{}): its identities moved there{stays}; \
         it stays served until it is deleted",
        schema.spec.schema_id,
        schema.namespace().unwrap_or_default(),
        schema.name_any()
    );
    let mut fresh = Condition::new(SUPERSEDED, ConditionStatus::True, reason, message.clone());
    fresh.observed_generation = old.metadata.generation;
    let previous = old.status.clone().unwrap_or_default().conditions;
    let conditions = merge_keeping_others(&previous, vec![fresh], &ctx.now());
    if conditions != previous {
        publish(ctx, &old, false, "Superseded", message).await;
        patch_attached_status(ctx, &old, &json!({"conditions": conditions})).await?;
    }
    Ok(())
}

/// The IdentitySchema of the same server whose schema id `schema` supersedes.
async fn superseded(
    schema: &IdentitySchema,
    server: &IdentityServer,
    ctx: &Context,
) -> Result<Option<IdentitySchema>, Error> {
    let old = schema.spec.supersedes.clone().unwrap_or_default();
    let api: Api<IdentitySchema> = if ctx.cluster_wide {
        Api::all(ctx.client.clone())
    } else {
        Api::namespaced(ctx.client.clone(), &schema.namespace().unwrap_or_default())
    };
    let list = api.list(&Default::default()).await?;
    Ok(list.items.into_iter().find(|s| {
        s.spec.schema_id == old
            && s.metadata.deletion_timestamp.is_none()
            && crate::validate::refers_to(s, &s.spec.server_ref, server)
    }))
}
