//! sqlx's errors turned into [`StoreError`]s: the only place that looks inside them.

use sqlx::migrate::MigrateError;

use crate::store::StoreError;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            error if is_unavailable(&error) => StoreError::Unavailable(error.into()),
            error => StoreError::Internal(error.into()),
        }
    }
}

impl From<MigrateError> for StoreError {
    fn from(error: MigrateError) -> Self {
        match error {
            // The database could not be reached to run or record a migration.
            MigrateError::Execute(inner) if is_unavailable(&inner) => {
                StoreError::Unavailable(inner.into())
            }
            other => StoreError::Migration(other.into()),
        }
    }
}

/// No connection could be had: the pool waited in vain or is closed, or the
/// connection itself failed.
fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_databases_are_unavailable_and_the_rest_internal() {
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::Io(
                std::io::ErrorKind::ConnectionRefused.into()
            )),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Internal(_)
        ));
        assert!(matches!(
            StoreError::from(MigrateError::Execute(sqlx::Error::PoolClosed)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(MigrateError::VersionMissing(1)),
            StoreError::Migration(_)
        ));
    }
}
