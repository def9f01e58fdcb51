//! Batches of identities to create (`PATCH /admin/identities`): every entry
//! succeeds or fails on its own, and each gets a result.

use uuid::Uuid;

use super::{IdentityDraft, IdentityError, IdentityService};

/// Most entries one batch may hold.
pub const MAX_BATCH: usize = 2000;

/// One entry of a batch.
#[derive(Debug)]
pub struct BatchEntry {
    /// The caller's name for the entry, repeated in its result.
    pub patch_id: Option<Uuid>,
    /// The identity to create: `None` when the entry names none, an error
    /// when the caller's description of it could not be read.
    pub create: Option<Result<IdentityDraft, IdentityError>>,
}

/// What became of one entry of a batch.
#[derive(Debug)]
pub struct BatchResult {
    /// The entry's `patch_id`.
    pub patch_id: Option<Uuid>,
    /// The id of the identity created, or why the entry failed.
    pub outcome: Result<Uuid, IdentityError>,
}

impl IdentityService {
    /// Creates the identities of a batch one after the other; a failed entry
    /// does not stop the others. Only a batch over [`MAX_BATCH`] fails whole.
    pub async fn create_batch(
        &self,
        entries: Vec<BatchEntry>,
    ) -> Result<Vec<BatchResult>, IdentityError> {
        if entries.len() > MAX_BATCH {
            return Err(IdentityError::BadRequest(format!(
                "A batch may hold at most {MAX_BATCH} identities, got {}.",
                entries.len()
            )));
        }
        let mut results = Vec::with_capacity(entries.len());
        for entry in entries {
            let outcome = match entry.create {
                Some(Ok(draft)) => self.create(draft).await.map(|identity| identity.id),
                Some(Err(error)) => Err(error),
                None => Err(IdentityError::BadRequest(
                    "Each patch needs a create body.".to_owned(),
                )),
            };
            results.push(BatchResult {
                patch_id: entry.patch_id,
                outcome,
            });
        }
        Ok(results)
    }
}
