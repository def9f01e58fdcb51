//! The migrations: rendered per backend at build time from one source per
//! schema change (`server/migrations/`, see [`render`] for the format),
//! embedded in the binary, and run through sqlx's migrator.
//!
//! sqlx records the SHA-384 of every applied migration and refuses to run
//! when the embedded SQL of an applied one differs, so a released migration's
//! rendered SQL never changes: the tests below hold every checksum fixed.

use std::borrow::Cow;
use std::sync::LazyLock;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{Backend, Database};
use crate::store::StoreError;

#[cfg(test)]
mod render;

/// One migration rendered for one backend by the build script.
struct Rendered {
    /// The backend it is for, as `Backend` prints it.
    dialect: &'static str,
    version: i64,
    description: &'static str,
    /// True for the forward migration, false for its revert.
    up: bool,
    sql: &'static str,
}

static RENDERED: &[Rendered] = &include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

static SQLITE: LazyLock<Migrator> = LazyLock::new(|| migrator_for(Backend::Sqlite));
static POSTGRES: LazyLock<Migrator> = LazyLock::new(|| migrator_for(Backend::Postgres));
static MYSQL: LazyLock<Migrator> = LazyLock::new(|| migrator_for(Backend::MySql));

fn migrator_for(backend: Backend) -> Migrator {
    let dialect = backend.to_string();
    Migrator::with_migrations(
        RENDERED
            .iter()
            .filter(|rendered| rendered.dialect == dialect)
            .map(|rendered| {
                let kind = if rendered.up {
                    MigrationType::ReversibleUp
                } else {
                    MigrationType::ReversibleDown
                };
                Migration::new(
                    rendered.version,
                    Cow::Borrowed(rendered.description),
                    kind,
                    SqlStr::from_static(rendered.sql),
                    // As `sqlx::migrate!` reads a migration that opts out of its transaction.
                    rendered.sql.starts_with("-- no-transaction"),
                )
            })
            .collect(),
    )
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

/// The embedded migrations of a backend.
fn migrator(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
        Backend::MySql => &MYSQL,
    }
}

impl Database {
    fn migrator(&self) -> &'static Migrator {
        migrator(self.backend)
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
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::render::{DIALECTS, parse_file_name, render};
    use super::*;

    /// The SHA-384 sqlx recorded for each forward migration as released.
    /// Databases migrated by earlier builds hold these; a migration whose
    /// rendered SQL no longer matches would make sqlx refuse them. Add a line
    /// for each new migration; never change one.
    const RELEASED: [(&str, i64, &str); 21] = [
        (
            "sqlite",
            20261128000001,
            "6e381893719f824db38159dd64e1d4e90adbf3db077aef23aea0e768efc0f5407bcf98532c7730420e17fc7f129efe0d",
        ),
        (
            "sqlite",
            20261128000002,
            "82e5207eeb207f63136ae513d1e615215bb359d493e8bf42bd4819c1ca6953754c2ce4752c4531a985eaab4f23b9c0b1",
        ),
        (
            "sqlite",
            20261128000003,
            "0a0e1a56fb8e752fa65ef6d577e3b1baee6899018439c6364733eaa83b3e7df275af15222d4c5c664426615668ee80dd",
        ),
        (
            "sqlite",
            20261203000001,
            "d0382d263b6d4f6098467aeec427e4e70589768e7dd0fc9ec7ec9fc50247a94c5235c684c5a20b37c08d4cb493535c64",
        ),
        (
            "postgres",
            20261128000001,
            "6e381893719f824db38159dd64e1d4e90adbf3db077aef23aea0e768efc0f5407bcf98532c7730420e17fc7f129efe0d",
        ),
        (
            "postgres",
            20261128000002,
            "82e5207eeb207f63136ae513d1e615215bb359d493e8bf42bd4819c1ca6953754c2ce4752c4531a985eaab4f23b9c0b1",
        ),
        (
            "postgres",
            20261128000003,
            "0734e16ac7d117f3f7a1926779a710286eba6af1328fde669e7da873c001266c057b0a4d8b837b5958d9f9db971e87cf",
        ),
        (
            "postgres",
            20261203000001,
            "d0382d263b6d4f6098467aeec427e4e70589768e7dd0fc9ec7ec9fc50247a94c5235c684c5a20b37c08d4cb493535c64",
        ),
        (
            "mysql",
            20261128000001,
            "ef5772375c5f4bfb4363474ec67293cf2883536b76554e852b602a4c91f45972571e2bd50e1e51216be46edfa981236a",
        ),
        (
            "mysql",
            20261128000002,
            "e76c9cee7f5d4698fb9aaf3547b2d1c9b69af196634bf0d20bfc38bcf293b012e0c202c457ef91f2be086e8da34de1cc",
        ),
        (
            "mysql",
            20261128000003,
            "5f761d52fb30f9fc5eb0ab898eeb2c031b7c1fa0c5c99cb8546621c5b3c9f4d4462f04803088eab3cb562d2fa77ef2a1",
        ),
        (
            "mysql",
            20261203000001,
            "61248d76c6168dfdf82751b6ba6c2f8085c4ce379e70c8d6f7c6a7ee4186fdd8a24f408f523cdf27ad2f5217fed0ca89",
        ),
        (
            "sqlite",
            20261203000002,
            "d00e21bacdaaeecf2625ad37163a2d3fb6bf37603c3868ee01f93c2007b73ab36e6055268969565f38e1a9e2baac8b7a",
        ),
        (
            "postgres",
            20261203000002,
            "d00e21bacdaaeecf2625ad37163a2d3fb6bf37603c3868ee01f93c2007b73ab36e6055268969565f38e1a9e2baac8b7a",
        ),
        (
            "mysql",
            20261203000002,
            "384cdfd06cefba0d0d112cc01056273f60d70625a6869c51f10e431cdb55d5f3e07fd3092e2a9e55f7989086ad33d9f0",
        ),
        (
            "sqlite",
            20261203000003,
            "910e4d6c34927c6ccd8a97cc9070beff77961e701a9b8416546f4d9e3012d83922be34c277a909d0d2d7251fadc12911",
        ),
        (
            "postgres",
            20261203000003,
            "910e4d6c34927c6ccd8a97cc9070beff77961e701a9b8416546f4d9e3012d83922be34c277a909d0d2d7251fadc12911",
        ),
        (
            "mysql",
            20261203000003,
            "910e4d6c34927c6ccd8a97cc9070beff77961e701a9b8416546f4d9e3012d83922be34c277a909d0d2d7251fadc12911",
        ),
        (
            "sqlite",
            20261204000001,
            "906f18c27890250e37a024b9c4f3f4f6c133a699c5d63d64f962b087d3fff55b1d32d802fbcd9559422bcfae5dc8aca5",
        ),
        (
            "postgres",
            20261204000001,
            "906f18c27890250e37a024b9c4f3f4f6c133a699c5d63d64f962b087d3fff55b1d32d802fbcd9559422bcfae5dc8aca5",
        ),
        (
            "mysql",
            20261204000001,
            "458de2cc5bf6b3bb6155f98a9d155b2086327fa9abf28a793c71f3c265d810d4580a1e0b16a8b88230b47bb2e14193ce",
        ),
    ];

    const BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    #[test]
    fn every_backend_renders_to_what_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut sources: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "sql"))
            .collect();
        sources.sort();
        assert!(!sources.is_empty());
        for backend in BACKENDS {
            let dialect = DIALECTS
                .into_iter()
                .find(|d| d.name == backend.to_string())
                .unwrap();
            let embedded: Vec<_> = migrator(backend).iter().collect();
            assert_eq!(
                embedded.len(),
                sources.len(),
                "{backend}: rebuild the server"
            );
            for path in &sources {
                let file = path.file_name().unwrap().to_str().unwrap();
                let name = parse_file_name(file).unwrap();
                let sql = render(&std::fs::read_to_string(path).unwrap(), &dialect).unwrap();
                let found = embedded
                    .iter()
                    .find(|m| {
                        m.version == name.version && m.migration_type.is_up_migration() == name.up
                    })
                    .unwrap_or_else(|| panic!("{backend}: {file} is not embedded"));
                assert_eq!(found.sql.as_str(), sql, "{backend}: {file}");
                assert_eq!(found.description, name.description, "{backend}: {file}");
            }
        }
    }

    #[test]
    fn released_migrations_keep_their_checksums() {
        for backend in BACKENDS {
            for migration in migrator(backend).iter() {
                if !migration.migration_type.is_up_migration() {
                    continue;
                }
                let released = RELEASED
                    .iter()
                    .find(|(name, version, _)| {
                        *name == backend.to_string() && *version == migration.version
                    })
                    .unwrap_or_else(|| {
                        panic!(
                            "{backend} {}: add its checksum {} to RELEASED",
                            migration.version,
                            hex::encode(&migration.checksum)
                        )
                    });
                assert_eq!(
                    hex::encode(&migration.checksum),
                    released.2,
                    "{backend} {}: the rendered SQL of a released migration changed; \
                     databases migrated by earlier builds would be refused",
                    migration.version
                );
            }
        }
    }
}
