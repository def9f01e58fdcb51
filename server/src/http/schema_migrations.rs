//! `POST /admin/bia/schema-migrations`: one batch of a schema migration
//! (`identity::migration`), Bia's own endpoint. The wire shapes live here.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::JsonBody;
use super::state::AppState;
use crate::identity::migration::{
    DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, MigrationReport, MigrationRequest,
};

/// A migration batch as clients ask for it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = schemaMigrationBody)]
pub struct MigrationBody {
    /// The schema the identities are on.
    pub from_schema_id: String,
    /// The schema they move to.
    pub to_schema_id: String,
    /// Jsonnet `function(ctx)` giving `{traits, metadata_public?, metadata_admin?}` from
    /// `ctx.identity` (at most 64 KiB); without it the traits are kept.
    #[serde(default)]
    pub transform: Option<String>,
    /// Evaluate and validate only; write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Identities examined by this call: 1 to 1000, 500 by default.
    #[serde(default)]
    pub batch_size: Option<i64>,
    /// The cursor a previous call answered as `next`; absent to start a pass.
    #[serde(default)]
    pub after: Option<String>,
}

/// One identity that stays on the source schema.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = schemaMigrationFailure)]
pub struct FailureJson {
    /// The identity.
    pub identity_id: Uuid,
    /// Why it was not migrated.
    pub reason: String,
}

/// What one batch did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = schemaMigrationResult)]
pub struct MigrationJson {
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    /// Identities read.
    pub examined: u64,
    /// Identities moved (on a dry run: that would move).
    pub migrated: u64,
    /// Identities changed concurrently since they were read; the next pass takes them.
    pub skipped: u64,
    /// Identities that failed, all counted.
    pub failed_count: u64,
    /// The first 100 failures.
    pub failed: Vec<FailureJson>,
    /// Identities on the source schema after `next`, not yet examined.
    pub remaining: u64,
    /// The cursor of the next batch; null when this pass is done.
    pub next: Option<Uuid>,
}

/// `POST /admin/bia/schema-migrations`
pub async fn run(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<MigrationBody>,
) -> Result<Json<MigrationJson>, ApiError> {
    let request = to_request(body)?;
    let report = state.migrations.run(&request).await?;
    Ok(Json(to_json(report, request.dry_run)))
}

fn to_request(body: MigrationBody) -> Result<MigrationRequest, ApiError> {
    let batch_size = match body.batch_size {
        None => DEFAULT_BATCH_SIZE,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_BATCH_SIZE).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "batch_size: {n} is out of range (1 to {MAX_BATCH_SIZE})"
                ))
            })?,
    };
    let after = match body.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(cursor) => Some(Uuid::parse_str(cursor).map_err(|_| {
            ApiError::bad_request(format!(
                "after: {cursor:?} is not a cursor (an identity id from `next`)"
            ))
        })?),
    };
    Ok(MigrationRequest {
        from: body.from_schema_id,
        to: body.to_schema_id,
        transform: body.transform,
        dry_run: body.dry_run,
        batch_size,
        after,
    })
}

fn to_json(report: MigrationReport, dry_run: bool) -> MigrationJson {
    MigrationJson {
        dry_run,
        examined: report.examined,
        migrated: report.migrated,
        skipped: report.skipped,
        failed_count: report.failed_count,
        failed: report
            .failed
            .into_iter()
            .map(|f| FailureJson {
                identity_id: f.identity_id,
                reason: f.reason,
            })
            .collect(),
        remaining: report.remaining,
        next: report.next,
    }
}
