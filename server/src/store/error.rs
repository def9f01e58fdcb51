//! The one error type of the store traits. It names no database driver: the
//! SQL implementation turns its driver's errors into these variants, and the
//! HTTP edge picks a status from the variant alone.

/// A boxed error kept as the cause of a [`StoreError`], for the logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (an identifier or address is taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row that was to be changed does not exist.
    #[error("not found")]
    NotFound,
    /// A stored value could not be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database could not be reached: no connection became free in time,
    /// the pool is closed, or the connection failed. Worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The write lost to a concurrent one (a deadlock or serialization
    /// failure) and was rolled back; trying it again may succeed.
    #[error("lost to a concurrent write: {0}")]
    Contention(#[source] BoxError),
    /// Migrations could not be read, applied or reverted.
    #[error("migration failed: {0}")]
    Migration(#[source] BoxError),
    /// Any other failure of the database.
    #[error("database error: {0}")]
    Internal(#[source] BoxError),
}
