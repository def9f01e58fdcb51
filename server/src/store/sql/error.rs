//! sqlx's errors turned into [`StoreError`]s: the only place that looks inside them.

use sqlx::migrate::MigrateError;
use sqlx::sqlite::SqliteError;

use crate::store::StoreError;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            error if is_unavailable(&error) => StoreError::Unavailable(error.into()),
            error if is_contention(&error) => StoreError::Contention(error.into()),
            error => StoreError::Internal(error.into()),
        }
    }
}

/// A deadlock or serialization failure: SQLSTATE `40001` (PostgreSQL's
/// serialization failure, MySQL's and MariaDB's deadlock) or `40P01`
/// (PostgreSQL's deadlock). SQLite serializes writers and never answers so.
fn is_contention(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.try_downcast_ref::<SqliteError>().is_none()
                && db
                    .code()
                    .is_some_and(|code| matches!(&*code, "40001" | "40P01"))
        }
        _ => false,
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

/// The database cannot serve now, though it may soon: no connection could be
/// had (the pool waited in vain or is closed, the connection failed), or the
/// database said so itself.
fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db.try_downcast_ref::<SqliteError>().is_some() {
                sqlite_unavailable(&code)
            } else {
                sqlstate_unavailable(&code)
            }
        }
        _ => false,
    }
}

/// SQLSTATEs (PostgreSQL, MySQL/MariaDB) that mean "not now" rather than
/// "never": class `08` (connection exception, also MySQL's "server shutdown
/// in progress"), class `53` (insufficient resources: disk full, too many
/// connections), `57P01` to `57P03` (shut down by an administrator or a
/// crash, cannot connect now) and `70100` (MariaDB's connection or query
/// killed, as at shutdown).
fn sqlstate_unavailable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03" | "70100")
}

/// SQLite's extended result codes (their low byte is the primary code) that
/// mean "not now": `SQLITE_BUSY` (still locked after the busy timeout),
/// `SQLITE_IOERR` and `SQLITE_FULL` (the disk is full).
fn sqlite_unavailable(code: &str) -> bool {
    const SQLITE_BUSY: i64 = 5;
    const SQLITE_IOERR: i64 = 10;
    const SQLITE_FULL: i64 = 13;
    code.parse::<i64>()
        .is_ok_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_IOERR | SQLITE_FULL))
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

    #[test]
    fn codes_of_a_database_that_cannot_serve_now_are_unavailable() {
        // PostgreSQL: admin shutdown, crash shutdown, starting up, disk full,
        // too many connections, connection failure.
        for code in ["57P01", "57P02", "57P03", "53100", "53300", "08006"] {
            assert!(sqlstate_unavailable(code), "{code}");
        }
        // MySQL/MariaDB: server shutdown, too many connections, connection killed.
        for code in ["08S01", "08004", "70100"] {
            assert!(sqlstate_unavailable(code), "{code}");
        }
        // Constraint violations, syntax errors, a missing table: the request's
        // or the program's fault, not the database's state.
        for code in ["23505", "42601", "42P01", "HY000", "23000"] {
            assert!(!sqlstate_unavailable(code), "{code}");
        }
        // SQLite: busy, disk I/O error (and an extended one), disk full; not
        // a generic error, a constraint or a unique violation.
        for code in ["5", "10", "778", "13"] {
            assert!(sqlite_unavailable(code), "{code}");
        }
        for code in ["1", "19", "2067"] {
            assert!(!sqlite_unavailable(code), "{code}");
        }
    }
}
