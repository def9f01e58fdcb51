//! Identities: the model, what admins hand in, and the operations on them
//! (create, update, delete, credential removal, batches, schema
//! migrations), independent of HTTP.

mod batch;
mod import;
mod input;
pub mod migration;
mod model;
mod service;

pub use batch::{BatchEntry, BatchResult, MAX_BATCH};
pub use import::{CredentialConverter, ImportedCredential};
pub use input::{AddressImport, CredentialsImport, IdentityDraft, PasswordImport, ProviderLink};
pub use model::{Credential, CredentialType, Identity, RecoveryAddress, State, VerifiableAddress};
pub use service::{HashFailure, IdentityError, IdentityService, PasswordHasher};
