//! The SQL implementation of the store traits, for SQLite, PostgreSQL and
//! MySQL/MariaDB alike; the only module that talks to sqlx.
//!
//! Every table stores portable values only (text, 64-bit integers), so one set of
//! statements runs on all three backends through sqlx's `Any` driver. The only
//! dialect difference the statements see is the placeholder style, which
//! [`Database::sql`] rewrites. Rows are decoded in [`decode`] alone; sqlx's
//! errors become [`StoreError`]s in [`error`]. Migrations are rendered per
//! backend from one source per schema change ([`migrations`]).

mod address_copy;
mod cleanup;
mod conditional_update;
mod courier;
mod decode;
mod dsn;
mod error;
mod flows;
mod identities;
mod migrations;
mod one_time_codes;
mod page;
mod rows;
mod sessions;
mod sqlite_direct;
mod token_exchanges;
mod whoami;

pub use cleanup::SqlCleanupStore;
pub use courier::SqlCourierStore;
pub use dsn::{Backend, Dsn, DsnError};
pub use flows::SqlFlowStore;
pub use identities::SqlIdentityStore;
pub use migrations::MigrationStatus;
pub use one_time_codes::SqlOneTimeCodeStore;
pub use sessions::SqlSessionStore;
pub use token_exchanges::SqlTokenExchangeStore;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor};

use crate::store::StoreError;

/// The log filter directive that keeps the driver's per-statement logs out
/// of the server's log unless they are warnings.
pub const DRIVER_LOG_FILTER: &str = "sqlx=warn";

/// How long a statement waits for a connection before the store answers
/// [`StoreError::Unavailable`]. While the database refuses connections the
/// pool keeps retrying within this time (backing off up to a fifth of it), so
/// a restart shorter than this goes unnoticed by clients, and a longer
/// outage answers 503 before a client's own timeout would fire.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A connection pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    direct: Option<std::sync::Arc<sqlite_direct::DirectReads>>,
}

impl Database {
    /// Opens a pool for a parsed DSN and checks that the database answers.
    /// Does not run migrations.
    pub async fn connect(dsn: &Dsn) -> Result<Self, StoreError> {
        let db = Self::connect_lazy(dsn)?;
        db.ping().await?;
        Ok(db)
    }

    /// Prepares a pool without touching the database; connections are made
    /// when first needed, so a server can start while its database is down.
    pub fn connect_lazy(dsn: &Dsn) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = dsn.backend();
        // No liveness round trip before every statement: a broken connection
        // fails its statement and is dropped, and the next one is opened fresh.
        let mut options = AnyPoolOptions::new()
            .max_connections(dsn.max_connections())
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT);
        if dsn.is_memory() {
            // One connection that never closes: the database lives as long as it does.
            options = options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                         PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect_lazy(&dsn.sqlx_url())?;
        let direct = dsn
            .sqlite_file()
            .map(|file| std::sync::Arc::new(sqlite_direct::DirectReads::new(file.to_owned())));
        Ok(Self {
            pool,
            backend,
            direct,
        })
    }

    /// The backend behind this pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the store implementations.
    fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Reads on the calling thread, for a file-backed SQLite database.
    fn direct(&self) -> Option<&sqlite_direct::DirectReads> {
        self.direct.as_deref()
    }

    /// Connections the pool holds open, and how many of them are idle.
    pub fn connections(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// Answers when the database answers a trivial statement.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Rewrites `?` placeholders into the backend's style (`$1`, `$2`, ... on PostgreSQL).
    pub fn sql(&self, statement: &str) -> String {
        rewrite_placeholders(statement, self.backend)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Rewrites `?` placeholders for a backend; quoted text is left alone.
fn rewrite_placeholders(statement: &str, backend: Backend) -> String {
    if backend != Backend::Postgres {
        return statement.to_owned();
    }
    let mut out = String::with_capacity(statement.len() + 16);
    let mut index = 0;
    let mut in_quote = false;
    for ch in statement.chars() {
        match ch {
            '\'' => {
                in_quote = !in_quote;
                out.push(ch);
            }
            '?' if !in_quote => {
                index += 1;
                out.push('$');
                out.push_str(&index.to_string());
            }
            _ => out.push(ch),
        }
    }
    out
}

/// Marks a statement built by this module as safe to send: every statement is
/// assembled from constant text and placeholders, never from input values.
fn safe(sql: &str) -> sqlx::AssertSqlSafe<&str> {
    sqlx::AssertSqlSafe(sql)
}

/// Runs an insert in `tx` with the row's creation and update times bound
/// as its last two parameters.
async fn run_stamped<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    (created_at, updated_at): (DateTime<Utc>, DateTime<Utc>),
    tx: &mut sqlx::Transaction<'static, Any>,
) -> Result<(), StoreError> {
    query
        .bind(crate::time::format(created_at))
        .bind(crate::time::format(updated_at))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// `Ok` when a statement changed a row, [`StoreError::NotFound`] when it
/// changed none.
fn changed_a_row(result: &sqlx::any::AnyQueryResult) -> Result<(), StoreError> {
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// `INSERT INTO table (a, b, ...) VALUES (?, ?, ...)` for these columns.
fn insert_statement(table: &str, columns: &[&str]) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        columns.join(", "),
        placeholders(columns.len())
    )
}

/// `?, ?, ?` for an `IN (...)` list of `count` values.
fn placeholders(count: usize) -> String {
    vec!["?"; count].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let sql = "SELECT a FROM t WHERE b = ? AND c = '?' AND d IN (?, ?)";
        assert_eq!(
            rewrite_placeholders(sql, Backend::Postgres),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND d IN ($2, $3)"
        );
        assert_eq!(rewrite_placeholders(sql, Backend::MySql), sql);
        assert_eq!(placeholders(3), "?, ?, ?");
        assert_eq!(
            insert_statement("t", &["a", "b"]),
            "INSERT INTO t (a, b) VALUES (?, ?)"
        );
    }
}
