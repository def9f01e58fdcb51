//! Persistence for SQLite, PostgreSQL and MySQL/MariaDB behind one implementation.
//!
//! Every table stores portable values only (text, 64-bit integers), so one set of
//! statements runs on all three backends through sqlx's `Any` driver. The only
//! dialect difference the statements see is the placeholder style, which
//! [`Database::sql`] rewrites. Migrations are kept per backend.

mod address_copy;
mod dsn;
mod flows;
mod identities;
mod sessions;
mod sqlite_direct;
mod whoami;

pub use dsn::{Backend, Dsn, DsnError};
pub use flows::{FlowStore, SqlFlowStore};
pub use identities::{IdentityPage, IdentityQuery, IdentityStore, SqlIdentityStore};
pub use sessions::{SessionPage, SessionQuery, SessionStore, SqlSessionStore};

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

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
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Maps a driver error, turning unique violations into [`StoreError::Conflict`].
    pub fn from_write(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            _ => StoreError::Database(error),
        }
    }
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/mysql");

/// A connection pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    direct: Option<std::sync::Arc<sqlite_direct::DirectReads>>,
}

/// One applied or pending migration, for `migrate sql status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration's version number.
    pub version: i64,
    /// Its description.
    pub description: String,
    /// Whether it has been applied.
    pub applied: bool,
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
            .acquire_timeout(Duration::from_secs(10));
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
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Reads on the calling thread, for a file-backed SQLite database.
    fn direct(&self) -> Option<&sqlite_direct::DirectReads> {
        self.direct.as_deref()
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
            Backend::MySql => &MYSQL_MIGRATIONS,
        }
    }

    /// Applies every pending migration.
    pub async fn migrate_up(&self) -> Result<(), StoreError> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Reverts the most recent migration (all of them when `all`).
    pub async fn migrate_down(&self, all: bool) -> Result<(), StoreError> {
        let migrator = self.migrator();
        let target = if all {
            0
        } else {
            let applied = self.applied_versions().await?;
            let mut versions: Vec<i64> = applied.into_iter().collect();
            versions.sort_unstable();
            versions.iter().rev().nth(1).copied().unwrap_or(0)
        };
        migrator.undo(&self.pool, target).await?;
        Ok(())
    }

    async fn applied_versions(&self) -> Result<Vec<i64>, StoreError> {
        // Before the first migration the bookkeeping table does not exist yet.
        let versions = sqlx::query_scalar::<_, i64>(
            "SELECT version FROM _sqlx_migrations WHERE success = TRUE",
        )
        .fetch_all(&self.pool)
        .await;
        match versions {
            Ok(versions) => Ok(versions),
            Err(sqlx::Error::Database(_)) => Ok(Vec::new()),
            Err(other) => Err(other.into()),
        }
    }

    /// Lists every migration the binary knows with whether it is applied.
    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>, StoreError> {
        let applied = self.applied_versions().await?;
        Ok(self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| MigrationStatus {
                version: m.version,
                description: m.description.to_string(),
                applied: applied.contains(&m.version),
            })
            .collect())
    }

    /// True when every known migration has been applied.
    pub async fn is_migrated(&self) -> Result<bool, StoreError> {
        Ok(self.migration_status().await?.iter().all(|m| m.applied))
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
pub fn rewrite_placeholders(statement: &str, backend: Backend) -> String {
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
pub(crate) fn safe(sql: &str) -> sqlx::AssertSqlSafe<&str> {
    sqlx::AssertSqlSafe(sql)
}

/// `?, ?, ?` for an `IN (...)` list of `count` values.
pub fn placeholders(count: usize) -> String {
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
    }
}
