//! Persistence: one store trait per aggregate, the query types they take and
//! [`StoreError`], which is all the rest of the server sees of storage.
//!
//! The traits know no database. Their one implementation, for SQLite,
//! PostgreSQL and MySQL/MariaDB alike, lives in [`sql`], the only module that
//! talks to the database driver; the types it exports for building the stores
//! (a [`Database`], a parsed [`Dsn`]) are re-exported here.

pub mod cleanup;
mod courier;
mod error;
mod flows;
mod identities;
mod one_time_codes;
mod sessions;
pub mod sql;
mod token_exchanges;

pub use cleanup::{CleanupStore, Expired};
pub use courier::{AttemptRecord, CourierStore, MessagePage, MessageQuery};
pub use error::{BoxError, StoreError};
pub use flows::FlowStore;
pub use identities::{AddressKind, ConfigSwap, IdentityPage, IdentityQuery, IdentityStore};
pub use one_time_codes::OneTimeCodeStore;
pub use sessions::{BulkChange, SessionPage, SessionQuery, SessionStore};
pub use sql::{
    Backend, DRIVER_LOG_FILTER, Database, Dsn, DsnError, MigrationStatus, SqlCleanupStore,
    SqlCourierStore, SqlFlowStore, SqlIdentityStore, SqlOneTimeCodeStore, SqlSessionStore,
    SqlTokenExchangeStore,
};
pub use token_exchanges::{TokenExchange, TokenExchangeStore};
