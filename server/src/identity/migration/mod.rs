//! Schema migrations: moving the identities of one schema to another, one
//! batch per call, with an optional Jsonnet transform of their traits.
//!
//! A call is stateless: it reads up to `batch_size` identities still on the
//! source schema after a cursor (an identity id), transforms them in one
//! evaluator run, validates each against the target schema as any update
//! does (identifiers, addresses and credentials derived from the new
//! traits), and stores each one on its own with a conditional write
//! ([`IdentityStore::update_if_unchanged`]): an identity changed since it
//! was read, or migrated by another run, is skipped and left for the next
//! pass, so nothing is migrated twice or half. Identities whose transform
//! or validation fails stay on the source schema, untouched, and are
//! reported. The answer names the cursor of the next batch; calling again
//! with it continues, and a pass from no cursor starts over (idempotent:
//! migrated identities are no longer on the source schema).

mod transform;

pub use transform::{Changes, MAX_TRANSFORM_BYTES, TIME_LIMIT};

use futures::StreamExt;
use serde_json::Value;
use uuid::Uuid;

use super::{Identity, IdentityDraft, IdentityError, IdentityService};
use crate::flow::Renderer;
use crate::store::{AddressKind, IdentityQuery, StoreError};

/// Most identities one call examines.
pub const MAX_BATCH_SIZE: u32 = 1000;

/// Identities examined per call unless the caller says otherwise.
pub const DEFAULT_BATCH_SIZE: u32 = 500;

/// Most failures listed in one answer (all are counted).
pub const MAX_LISTED_FAILURES: usize = 100;

/// Identities written at once within a batch.
const WRITE_CONCURRENCY: usize = 4;

/// Tries of one identity's write that lost a deadlock.
const WRITE_ATTEMPTS: u32 = 4;

/// One batch of a migration, as the caller asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationRequest {
    /// The schema the identities are on.
    pub from: String,
    /// The schema they move to.
    pub to: String,
    /// Jsonnet giving each identity's new traits; `None` keeps them.
    pub transform: Option<String>,
    /// Evaluate and validate only, write nothing.
    pub dry_run: bool,
    /// At most this many identities (1 to [`MAX_BATCH_SIZE`]).
    pub batch_size: u32,
    /// Only identities whose id sorts after this one.
    pub after: Option<Uuid>,
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MigrationReport {
    /// Identities read.
    pub examined: u64,
    /// Identities moved to the target schema (on a dry run: that would be).
    pub migrated: u64,
    /// Identities changed by someone else since they were read, left for
    /// the next pass.
    pub skipped: u64,
    /// Identities that stay on the source schema, all counted.
    pub failed_count: u64,
    /// The first [`MAX_LISTED_FAILURES`] of them, with the reason.
    pub failed: Vec<MigrationFailure>,
    /// Identities on the source schema after `next`, not yet examined.
    pub remaining: u64,
    /// The cursor of the next batch; `None` when this pass is done.
    pub next: Option<Uuid>,
}

/// An identity that could not be migrated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFailure {
    /// Its id.
    pub identity_id: Uuid,
    /// Why.
    pub reason: String,
}

/// Why a batch could not run at all (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// A schema id names no configured schema (for the source: nor any
    /// identity).
    #[error("no identity schema with id {0:?} is configured")]
    UnknownSchema(String),
    /// The request cannot be carried out as given.
    #[error("{0}")]
    BadRequest(String),
    /// The transform is too large or does not compile.
    #[error("transform: {0}")]
    InvalidTransform(String),
    /// Every evaluator place is taken; try again shortly.
    #[error("too many Jsonnet programs are running")]
    Busy,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to one identity.
enum Outcome {
    Migrated,
    Skipped,
    Failed(String),
}

/// Runs migration batches.
#[derive(Clone)]
pub struct SchemaMigrator {
    identities: IdentityService,
    renderer: Renderer,
}

impl SchemaMigrator {
    /// A migrator over the identity service; `renderer` shows identities to
    /// transforms in the API's JSON, as web hooks see them.
    pub fn new(identities: IdentityService, renderer: Renderer) -> Self {
        Self {
            identities,
            renderer,
        }
    }

    /// Runs one batch.
    pub async fn run(&self, request: &MigrationRequest) -> Result<MigrationReport, MigrationError> {
        let transform = self.check(request).await?;
        let store = self.identities.store();
        let page = store
            .list(&IdentityQuery {
                page_size: request.batch_size,
                after: request.after,
                schema_id: Some(request.from.clone()),
                ..IdentityQuery::default()
            })
            .await?;
        let changes = match transform {
            Some(source) => transform::apply(source, &page.identities, &self.renderer).await?,
            None => page
                .identities
                .iter()
                .map(|i| Ok(Changes::keep(i)))
                .collect(),
        };
        let last = page.identities.last().map(|i| i.id);
        let examined = page.identities.len() as u64;
        let outcomes: Vec<(Uuid, Result<Outcome, StoreError>)> =
            futures::stream::iter(page.identities.into_iter().zip(changes))
                .map(|(identity, changes)| async move {
                    (
                        identity.id,
                        self.migrate_one(identity, changes, request).await,
                    )
                })
                .buffered(WRITE_CONCURRENCY)
                .collect()
                .await;
        let mut report = MigrationReport {
            examined,
            next: last.filter(|_| page.has_more),
            ..MigrationReport::default()
        };
        for (id, outcome) in outcomes {
            report.record(id, outcome?);
        }
        if let Some(next) = report.next {
            report.remaining = store.count_on_schema(&request.from, Some(next)).await?;
        }
        Ok(report)
    }

    /// Refuses a request that cannot run; the checked transform.
    async fn check(
        &self,
        request: &MigrationRequest,
    ) -> Result<Option<std::sync::Arc<str>>, MigrationError> {
        if !(1..=MAX_BATCH_SIZE).contains(&request.batch_size) {
            return Err(MigrationError::BadRequest(format!(
                "batch_size: {} is out of range (1 to {MAX_BATCH_SIZE})",
                request.batch_size
            )));
        }
        if request.from == request.to {
            return Err(MigrationError::BadRequest(
                "from_schema_id and to_schema_id are the same schema".into(),
            ));
        }
        let registry = self.identities.schemas().current();
        let target = registry
            .get(&request.to)
            .ok_or_else(|| MigrationError::UnknownSchema(request.to.clone()))?;
        if !target.document()["properties"]["traits"].is_object() {
            return Err(MigrationError::BadRequest(format!(
                "the target schema {:?} describes no traits (properties.traits); \
                 identities cannot be validated against it",
                request.to
            )));
        }
        if registry.get(&request.from).is_none()
            && self
                .identities
                .store()
                .count_on_schema(&request.from, None)
                .await?
                == 0
        {
            return Err(MigrationError::UnknownSchema(request.from.clone()));
        }
        request
            .transform
            .as_deref()
            .map(transform::check)
            .transpose()
    }

    /// Validates one identity's changes against the target schema and, unless
    /// on a dry run, stores it if nobody changed it since it was read.
    async fn migrate_one(
        &self,
        current: Identity,
        changes: Result<Changes, String>,
        request: &MigrationRequest,
    ) -> Result<Outcome, StoreError> {
        let changes = match changes {
            Ok(changes) => changes,
            Err(reason) => return Ok(Outcome::Failed(reason)),
        };
        let draft = draft_for(&current, changes, &request.to);
        let migrated = match self.identities.rebuild(current.clone(), draft).await {
            Ok(migrated) => migrated,
            Err(IdentityError::Store(error)) => return Err(error),
            Err(error) => return Ok(Outcome::Failed(describe(&error))),
        };
        if request.dry_run {
            return self
                .would_conflict(&migrated)
                .await
                .map(|taken| match taken {
                    Some(reason) => Outcome::Failed(reason),
                    None => Outcome::Migrated,
                });
        }
        self.write(&current, &migrated).await
    }

    /// Stores the migrated identity if nobody changed it since it was read.
    /// A write that lost a deadlock (MySQL's gap locks make neighbouring
    /// writes collide) was rolled back whole and is tried again.
    async fn write(&self, current: &Identity, migrated: &Identity) -> Result<Outcome, StoreError> {
        let store = self.identities.store();
        // The new schema may mark other code addresses: the level follows.
        let migrated = &self.identities.stamped(migrated);
        for attempt in 1..=WRITE_ATTEMPTS {
            match store.update_if_unchanged(current, migrated).await {
                Ok(true) => return Ok(Outcome::Migrated),
                Ok(false) => return Ok(Outcome::Skipped),
                Err(StoreError::Conflict(_)) => return Ok(Outcome::Failed(TAKEN.into())),
                Err(StoreError::Contention(_)) if attempt < WRITE_ATTEMPTS => {
                    tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt)))
                        .await;
                }
                Err(StoreError::Contention(_)) => return Ok(Outcome::Skipped),
                Err(error) => return Err(error),
            }
        }
        Ok(Outcome::Skipped)
    }

    /// On a dry run, whether an identifier or address of the migrated
    /// identity belongs to another identity (the write would be refused).
    async fn would_conflict(&self, migrated: &Identity) -> Result<Option<String>, StoreError> {
        let store = self.identities.store();
        for credential in migrated.credentials.values() {
            for identifier in &credential.identifiers {
                let owner = store
                    .find_by_identifier(credential.kind, identifier)
                    .await?;
                if owner.is_some_and(|o| o.id != migrated.id) {
                    return Ok(Some(TAKEN.into()));
                }
            }
        }
        for address in &migrated.verifiable_addresses {
            let owner = store
                .find_by_address(AddressKind::Verifiable, &address.via, &address.value)
                .await?;
            if owner.is_some_and(|o| o.id != migrated.id) {
                return Ok(Some(TAKEN.into()));
            }
        }
        Ok(None)
    }
}

/// Why a write that collides with another identity fails.
const TAKEN: &str = "an identifier or address of the new traits belongs to another identity";

/// The update that moves `current` to `schema_id` with `changes`:
/// everything else (state, metadata not set by the transform, external id,
/// organization, credentials, address states) kept.
fn draft_for(current: &Identity, changes: Changes, schema_id: &str) -> IdentityDraft {
    let keep_or = |set: Option<Value>, kept: &Option<Value>| match set {
        Some(value) => Some(value),
        None => kept.clone(),
    };
    IdentityDraft {
        schema_id: Some(schema_id.to_owned()),
        traits: changes.traits,
        state: Some(current.state),
        metadata_public: keep_or(changes.metadata_public, &current.metadata_public),
        metadata_admin: keep_or(changes.metadata_admin, &current.metadata_admin),
        external_id: current.external_id.clone(),
        organization_id: current.organization_id,
        ..IdentityDraft::default()
    }
}

/// A validation failure in words, every violated trait named.
fn describe(error: &IdentityError) -> String {
    match error {
        IdentityError::InvalidTraits(violations) => {
            let listed: Vec<String> = violations
                .iter()
                .map(|v| format!("{}: {}", v.path, v.message))
                .collect();
            format!(
                "the traits do not match the target schema: {}",
                listed.join("; ")
            )
        }
        IdentityError::Conflict => TAKEN.into(),
        other => other.to_string(),
    }
}

impl MigrationReport {
    fn record(&mut self, identity_id: Uuid, outcome: Outcome) {
        match outcome {
            Outcome::Migrated => self.migrated += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed(reason) => {
                self.failed_count += 1;
                if self.failed.len() < MAX_LISTED_FAILURES {
                    self.failed.push(MigrationFailure {
                        identity_id,
                        reason,
                    });
                }
            }
        }
    }
}
