//! Data source names as Kratos users write them, turned into what sqlx accepts.
//!
//! Accepted: `memory`, `sqlite://path?...`, `sqlite::memory:`, `postgres://...`
//! (`postgresql://` too) and `mysql://user:pass@tcp(host:port)/db?...` (the Go
//! driver form) or `mysql://user:pass@host:port/db`. Kratos-only query parameters
//! (`_fk`, `parseTime`, `max_conns`, ...) are understood or dropped.

use std::fmt;

/// The three supported database kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (file or memory).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        })
    }
}

/// A DSN that could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DsnError {
    /// The scheme names no supported database.
    #[error("dsn: unsupported scheme in {0:?}; use memory, sqlite://, postgres:// or mysql://")]
    Scheme(String),
    /// The DSN is malformed.
    #[error("dsn: {0}")]
    Malformed(String),
}

/// A parsed data source name.
#[derive(Clone, PartialEq, Eq)]
pub struct Dsn {
    backend: Backend,
    url: String,
    memory: bool,
    max_connections: u32,
    file: Option<std::path::PathBuf>,
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print credentials.
        f.debug_struct("Dsn")
            .field("backend", &self.backend)
            .field("memory", &self.memory)
            .finish()
    }
}

const DROPPED_PARAMS: &[&str] = &[
    "_fk",
    "parseTime",
    "max_idle_conns",
    "max_conn_lifetime",
    "max_idle_conn_time",
    "multiStatements",
    "connect_timeout",
];

impl Dsn {
    /// Parses a DSN as written in the config or the `DSN` variable.
    pub fn parse(text: &str) -> Result<Self, DsnError> {
        let text = text.trim();
        if text == "memory" || text == "sqlite::memory:" || text.starts_with("sqlite://:memory:") {
            return Ok(Self {
                backend: Backend::Sqlite,
                url: "sqlite::memory:".into(),
                memory: true,
                max_connections: 1,
                file: None,
            });
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| DsnError::Scheme(redact(text)))?;
        let backend = match scheme {
            "sqlite" | "sqlite3" | "file" => Backend::Sqlite,
            "postgres" | "postgresql" | "cockroach" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::MySql,
            _ => return Err(DsnError::Scheme(redact(text))),
        };
        let (location, query) = match rest.split_once('?') {
            Some((l, q)) => (l, q),
            None => (rest, ""),
        };
        if location.is_empty() {
            return Err(DsnError::Malformed("no database location given".into()));
        }
        let mut max_connections = default_connections(backend);
        let mut kept = Vec::new();
        let mut memory = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if key == "max_conns" {
                max_connections = value.parse().map_err(|_| {
                    DsnError::Malformed(format!("max_conns must be a number, got {value:?}"))
                })?;
            } else if key == "mode" && value == "memory" {
                memory = true;
                kept.push(pair);
            } else if !DROPPED_PARAMS.contains(&key) {
                kept.push(pair);
            }
        }
        let location = match backend {
            Backend::MySql => unwrap_go_tcp(location),
            _ => location.to_owned(),
        };
        let scheme = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        };
        if backend == Backend::Sqlite && !memory && !kept.iter().any(|p| p.starts_with("mode=")) {
            kept.push("mode=rwc");
        }
        let mut url = format!("{scheme}://{location}");
        if !kept.is_empty() {
            url.push('?');
            url.push_str(&kept.join("&"));
        }
        if memory {
            max_connections = 1;
        }
        let file =
            (backend == Backend::Sqlite && !memory).then(|| std::path::PathBuf::from(&location));
        Ok(Self {
            backend,
            url,
            memory,
            max_connections,
            file,
        })
    }

    /// The database kind.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL handed to sqlx.
    pub fn sqlx_url(&self) -> String {
        self.url.clone()
    }

    /// True for an in-process database that vanishes with the process.
    pub fn is_memory(&self) -> bool {
        self.memory
    }

    /// The database file of a file-backed SQLite DSN.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    /// Upper bound of the pool.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }
}

fn default_connections(backend: Backend) -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    match backend {
        Backend::Sqlite => cores.max(2) * 2,
        _ => cores.max(2) * 4,
    }
}

/// `user:pass@tcp(host:3306)/db` becomes `user:pass@host:3306/db`.
fn unwrap_go_tcp(location: &str) -> String {
    if let Some(start) = location.find("@tcp(")
        && let Some(end) = location[start..].find(')')
    {
        let host = &location[start + 5..start + end];
        return format!(
            "{}@{}{}",
            &location[..start],
            host,
            &location[start + end + 1..]
        );
    }
    if let Some(stripped) = location.strip_prefix("tcp(")
        && let Some(end) = stripped.find(')')
    {
        return format!("{}{}", &stripped[..end], &stripped[end + 1..]);
    }
    location.to_owned()
}

/// The DSN with any password replaced, for error messages.
pub fn redact(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &text[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &text[..scheme_end], user, &text[at + 1..])
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_one_sqlite_connection() {
        let dsn = Dsn::parse("memory").unwrap();
        assert!(dsn.is_memory());
        assert_eq!(dsn.backend(), Backend::Sqlite);
        assert_eq!(dsn.max_connections(), 1);
    }

    #[test]
    fn kratos_sqlite_dsn_drops_go_parameters() {
        let dsn = Dsn::parse("sqlite:///var/lib/sqlite/db.sqlite?_fk=true&mode=rwc").unwrap();
        assert_eq!(
            dsn.sqlx_url(),
            "sqlite:///var/lib/sqlite/db.sqlite?mode=rwc"
        );
        let dsn = Dsn::parse("sqlite://./bia.db?_fk=true").unwrap();
        assert_eq!(dsn.sqlx_url(), "sqlite://./bia.db?mode=rwc");
    }

    #[test]
    fn go_mysql_dsn_is_rewritten() {
        let dsn =
            Dsn::parse("mysql://root:secret@tcp(mysqld:3306)/kratos?parseTime=true&max_conns=7")
                .unwrap();
        assert_eq!(dsn.backend(), Backend::MySql);
        assert_eq!(dsn.sqlx_url(), "mysql://root:secret@mysqld:3306/kratos");
        assert_eq!(dsn.max_connections(), 7);
    }

    #[test]
    fn postgres_keeps_sslmode() {
        let dsn = Dsn::parse("postgres://u:p@localhost:5432/db?sslmode=disable").unwrap();
        assert_eq!(
            dsn.sqlx_url(),
            "postgres://u:p@localhost:5432/db?sslmode=disable"
        );
    }

    #[test]
    fn bad_dsns_are_refused_without_leaking_passwords() {
        let err = Dsn::parse("oracle://scott:tiger@db/x").unwrap_err();
        assert!(!err.to_string().contains("tiger"), "{err}");
        assert!(matches!(Dsn::parse("nonsense"), Err(DsnError::Scheme(_))));
        assert!(matches!(
            Dsn::parse("postgres://u@h/db?max_conns=x"),
            Err(DsnError::Malformed(_))
        ));
    }
}
