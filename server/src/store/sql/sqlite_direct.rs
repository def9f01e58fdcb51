//! The session lookup on the calling thread, for a file-backed SQLite database.
//!
//! sqlx runs each SQLite statement on its connection's own worker thread and
//! hands every row back over a channel. For a lookup that takes SQLite a few
//! microseconds, those thread switches cost several times the lookup itself,
//! and `whoami` is the hottest read there is. So for SQLite files the lookup
//! runs here instead, on plain connections to the same file, used by one
//! thread at a time. These connections never write (`query_only`) and never
//! wait for a lock: a busy or unreadable database gives an error, and the
//! caller then asks the sqlx pool, which is always right.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::rows::{Cell, OwnedRow};

/// Most idle connections kept; more are closed after use.
const MAX_IDLE: usize = 16;

/// How much of the file is read through a memory map (address space, not
/// memory: pages are shared with the operating system's file cache).
const MMAP_BYTES: i64 = 1 << 30;

/// Connections to one SQLite file for reads on the calling thread.
#[derive(Debug)]
pub(super) struct DirectReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl DirectReads {
    /// Reads from the database file at `path`; nothing is opened yet.
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs a statement with one text parameter that answers at most one row,
    /// whose cells are named by `columns` (the statement's select list).
    pub(super) fn query_row(
        &self,
        sql: &str,
        parameter: &str,
        columns: &'static [&'static str],
    ) -> Result<Option<OwnedRow>, rusqlite::Error> {
        self.with_connection(|conn| {
            conn.prepare_cached(sql)?
                .query_row([parameter], |row| {
                    let cells = (0..columns.len())
                        .map(|n| cell(row.get_ref(n)?, n))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(OwnedRow::new(columns, cells))
                })
                .optional()
        })
    }

    fn with_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, rusqlite::Error> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
        result
    }

    fn open(&self) -> Result<Connection, rusqlite::Error> {
        // Read-write without create: the file must exist (the pool made it),
        // and a WAL database needs its shared-memory index writable.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::ZERO)?;
        conn.pragma_update(None, "query_only", true)?;
        // Pages are read straight from the mapped file instead of being copied
        // into each connection's cache by a system call.
        conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        Ok(conn)
    }
}

/// A cell of the tables' portable types: text, integers and NULL.
fn cell(value: ValueRef<'_>, column: usize) -> Result<Cell, rusqlite::Error> {
    match value {
        ValueRef::Null => Ok(Cell::Null),
        ValueRef::Integer(value) => Ok(Cell::Int(value)),
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map(|text| Cell::Text(text.to_owned()))
            .map_err(|e| rusqlite::Error::Utf8Error(column, e)),
        other => Err(rusqlite::Error::InvalidColumnType(
            column,
            String::new(),
            other.data_type(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use uuid::Uuid;

    use super::DirectReads;
    use crate::identity::{Identity, RecoveryAddress};
    use crate::session::Session;
    use crate::store::{
        Database, Dsn, IdentityStore, SessionStore, SqlIdentityStore, SqlSessionStore,
    };
    use crate::time::{Clock, SystemClock};

    #[tokio::test]
    async fn direct_reads_match_the_pool_and_fall_back_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let dsn = Dsn::parse(&format!("sqlite://{}/direct.db", dir.path().display())).unwrap();
        let db = Database::connect(&dsn).await.unwrap();
        db.migrate_up().await.unwrap();
        assert!(db.direct().is_some(), "a SQLite file gets direct reads");
        let now = SystemClock.now();
        let mut identity = Identity::new(
            "default".into(),
            json!({"email": "direct@example.org"}),
            now,
        );
        identity.recovery_addresses.push(RecoveryAddress {
            id: Uuid::new_v4(),
            value: "direct@example.org".into(),
            via: "email".into(),
            created_at: now,
            updated_at: now,
        });
        SqlIdentityStore::new(db.clone())
            .create(&identity)
            .await
            .unwrap();
        let session = Session {
            id: Uuid::new_v4(),
            identity_id: identity.id,
            token_hash: "d".repeat(64),
            active: true,
            aal: "aal1".into(),
            methods: Vec::new(),
            devices: Vec::new(),
            issued_at: now,
            authenticated_at: now,
            expires_at: now + chrono::Duration::hours(1),
            identity: None,
        };
        let direct = SqlSessionStore::new(db.clone());
        direct.create(&session).await.unwrap();

        let pool_only = SqlSessionStore::new(Database {
            direct: None,
            ..db.clone()
        });
        let broken = SqlSessionStore::new(Database {
            direct: Some(Arc::new(DirectReads::new(dir.path().join("missing.db")))),
            ..db.clone()
        });
        let expected = Some(Session {
            identity: Some(identity),
            ..session
        });
        for store in [&direct, &pool_only, &broken] {
            assert_eq!(
                store.find_by_token(&"d".repeat(64)).await.unwrap(),
                expected
            );
            assert_eq!(store.find_by_token(&"e".repeat(64)).await.unwrap(), None);
        }
        let unreadable = DirectReads::new(dir.path().join("missing.db"));
        assert!(
            unreadable
                .query_row("SELECT 1 AS one", "x", &["one"])
                .is_err()
        );
    }
}
