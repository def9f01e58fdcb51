//! The SQL identity store: one aggregate (identity, credentials, identifiers,
//! addresses) written and read as a whole, inside one transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::decode::{
    self, CREDENTIAL_COLUMNS, IDENTITY_COLUMNS, IdentityColumns, RECOVERY_ADDRESS_COLUMNS,
    VERIFIABLE_ADDRESS_COLUMNS,
};
use super::page::{Filter, PageSpec};
use super::rows::Row;
use super::{
    Database, address_copy, changed_a_row, insert_statement, placeholders, run_stamped, safe,
};
use crate::identity::{Credential, CredentialType, Identity};
use crate::store::{
    AddressKind, ConfigSwap, IdentityPage, IdentityQuery, IdentityStore, StoreError,
};
use crate::time;

/// The SQL implementation, shared by all three backends.
#[derive(Debug, Clone)]
pub struct SqlIdentityStore {
    pub(super) db: Database,
}

impl SqlIdentityStore {
    /// A store on this database.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

const CHILD_TABLES: [&str; 4] = [
    "identity_credential_identifiers",
    "identity_credentials",
    "identity_verifiable_addresses",
    "identity_recovery_addresses",
];

#[async_trait]
impl IdentityStore for SqlIdentityStore {
    async fn create(&self, identity: &Identity) -> Result<(), StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let row = identity_row(identity)?;
        let columns: Vec<&str> = row.iter().map(|(column, _)| *column).collect();
        let sql = self.db.sql(&insert_statement("identities", &columns));
        let mut statement = sqlx::query(safe(&sql));
        for (_, value) in row {
            statement = statement.bind(value);
        }
        statement.execute(&mut *tx).await?;
        self.insert_children(&mut tx, identity).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update(&self, identity: &Identity) -> Result<(), StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let (sql, values) = row_update(&self.db, identity, "id = ?")?;
        let statement = values
            .into_iter()
            .fold(sqlx::query(safe(&sql)), |q, value| q.bind(value));
        let result = statement
            .bind(identity.id.to_string())
            .execute(&mut *tx)
            .await?;
        changed_a_row(&result)?;
        self.delete_children(&mut tx, identity.id).await?;
        self.insert_children(&mut tx, identity).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<Identity>, StoreError> {
        self.fetch_one_where("id = ?", id.to_string()).await
    }

    async fn count_on_schema(
        &self,
        schema_id: &str,
        after: Option<Uuid>,
    ) -> Result<u64, StoreError> {
        let (condition, after) = match after {
            Some(after) => (" AND id > ?", Some(after.to_string())),
            None => ("", None),
        };
        let sql = self.db.sql(&format!(
            "SELECT COUNT(*) FROM identities WHERE schema_id = ?{condition}"
        ));
        let mut statement = sqlx::query_scalar::<_, i64>(safe(&sql)).bind(schema_id.to_owned());
        if let Some(after) = after {
            statement = statement.bind(after);
        }
        let count = statement.fetch_one(self.db.pool()).await?;
        Ok(count.max(0) as u64)
    }

    async fn update_if_unchanged(
        &self,
        expected: &Identity,
        identity: &Identity,
    ) -> Result<bool, StoreError> {
        self.replace_if_unchanged(expected, identity).await
    }

    async fn swap_credential_config(&self, swap: &ConfigSwap<'_>) -> Result<bool, StoreError> {
        let sql = self.db.sql(
            "UPDATE identity_credentials SET config = ?, updated_at = ? \
             WHERE identity_id = ? AND type = ? AND config = ?",
        );
        let result = sqlx::query(safe(&sql))
            .bind(swap.new.to_string())
            .bind(time::format(swap.now))
            .bind(swap.identity_id.to_string())
            .bind(swap.kind.as_str())
            .bind(swap.expected.to_string())
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn get_by_external_id(&self, external_id: &str) -> Result<Option<Identity>, StoreError> {
        self.fetch_one_where("external_id = ?", external_id.to_owned())
            .await
    }

    async fn find_by_identifier(
        &self,
        kind: CredentialType,
        identifier: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let sql = self.db.sql(
            "SELECT identity_id FROM identity_credential_identifiers WHERE type = ? AND identifier = ?",
        );
        self.fetch_found(&sql, (kind.as_str(), identifier)).await
    }

    async fn find_by_address(
        &self,
        kind: AddressKind,
        via: &str,
        value: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let table = match kind {
            AddressKind::Verifiable => "identity_verifiable_addresses",
            AddressKind::Recovery => "identity_recovery_addresses",
        };
        let sql = self.db.sql(&format!(
            "SELECT identity_id FROM {table} WHERE via = ? AND value = ?"
        ));
        self.fetch_found(&sql, (via, value)).await
    }

    async fn list(&self, query: &IdentityQuery) -> Result<IdentityPage, StoreError> {
        let mut filter = Filter::default();
        if !query.ids.is_empty() {
            filter.and(
                format!("id IN ({})", placeholders(query.ids.len())),
                query.ids.iter().map(Uuid::to_string),
            );
        }
        if let Some(after) = query.after {
            filter.and("id > ?", [after.to_string()]);
        }
        if !query.credentials_identifiers.is_empty() {
            let marks = vec!["?"; query.credentials_identifiers.len()].join(", ");
            filter.and(
                format!(
                    "id IN (SELECT identity_id FROM identity_credential_identifiers \
                     WHERE identifier IN ({marks}))"
                ),
                query.credentials_identifiers.iter().cloned(),
            );
        }
        if let Some(similar) = &query.identifier_similar {
            filter.and(
                "id IN (SELECT identity_id FROM identity_credential_identifiers \
                 WHERE LOWER(identifier) LIKE ?)",
                [format!("%{}%", escape_like(&similar.to_lowercase()))],
            );
        }
        if let Some(organization) = query.organization_id {
            filter.and("organization_id = ?", [organization.to_string()]);
        }
        if let Some(schema_id) = &query.schema_id {
            filter.and("schema_id = ?", [schema_id.clone()]);
        }
        let spec = PageSpec {
            size: query.page_size,
            offset: query.offset,
        };
        let (rows, has_more) = self
            .db
            .page("identities", &IDENTITY_COLUMNS, filter, spec)
            .await?;
        Ok(IdentityPage {
            identities: self.hydrate(&rows).await?,
            has_more,
        })
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        self.delete_children(&mut tx, id).await?;
        let sql = self.db.sql("DELETE FROM sessions WHERE identity_id = ?");
        sqlx::query(safe(&sql))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let sql = self.db.sql("DELETE FROM identities WHERE id = ?");
        let result = sqlx::query(safe(&sql))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(result.rows_affected() > 0)
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM identities")
            .fetch_one(self.db.pool())
            .await?;
        Ok(count.max(0) as u64)
    }
}

impl SqlIdentityStore {
    /// The identity whose id the lookup `sql` (an `identity_id` for two
    /// text parameters) finds.
    async fn fetch_found(
        &self,
        sql: &str,
        params: (&str, &str),
    ) -> Result<Option<Identity>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(safe(sql))
            .bind(params.0.to_owned())
            .bind(params.1.to_owned())
            .fetch_optional(self.db.pool())
            .await?;
        match id {
            Some(id) => self.fetch_one_where("id = ?", id).await,
            None => Ok(None),
        }
    }

    async fn fetch_one_where(
        &self,
        condition: &str,
        value: String,
    ) -> Result<Option<Identity>, StoreError> {
        let sql = self.db.sql(&format!(
            "SELECT {} FROM identities WHERE {condition}",
            IDENTITY_COLUMNS.join(", ")
        ));
        let rows = sqlx::query(safe(&sql))
            .bind(value)
            .fetch_all(self.db.pool())
            .await?;
        Ok(self.hydrate(&rows).await?.into_iter().next())
    }

    pub(super) async fn delete_children(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: Uuid,
    ) -> Result<(), StoreError> {
        for table in CHILD_TABLES {
            let sql = self
                .db
                .sql(&format!("DELETE FROM {table} WHERE identity_id = ?"));
            sqlx::query(safe(&sql))
                .bind(id.to_string())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    async fn insert_children(
        &self,
        tx: &mut Transaction<'static, Any>,
        identity: &Identity,
    ) -> Result<(), StoreError> {
        for credential in identity.credentials.values() {
            self.insert_credential(tx, identity.id, credential).await?;
        }
        self.insert_identifiers(tx, identity).await?;
        self.insert_addresses(tx, identity).await
    }

    /// Inserts one credential row (without its identifiers).
    pub(super) async fn insert_credential(
        &self,
        tx: &mut Transaction<'static, Any>,
        identity_id: Uuid,
        credential: &Credential,
    ) -> Result<(), StoreError> {
        let sql = self.db.sql(
            "INSERT INTO identity_credentials (id, identity_id, type, config, version, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        );
        let query = sqlx::query(safe(&sql))
            .bind(credential.id.to_string())
            .bind(identity_id.to_string())
            .bind(credential.kind.as_str())
            .bind(credential.config.to_string())
            .bind(credential.version);
        run_stamped(query, (credential.created_at, credential.updated_at), tx).await?;
        Ok(())
    }

    /// Inserts the identifier rows of every credential of an identity.
    pub(super) async fn insert_identifiers(
        &self,
        tx: &mut Transaction<'static, Any>,
        identity: &Identity,
    ) -> Result<(), StoreError> {
        let sql = self.db.sql(
            "INSERT INTO identity_credential_identifiers \
             (id, identity_id, credential_id, type, identifier, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        );
        for credential in identity.credentials.values() {
            for identifier in &credential.identifiers {
                let query = sqlx::query(safe(&sql))
                    .bind(Uuid::new_v4().to_string())
                    .bind(identity.id.to_string())
                    .bind(credential.id.to_string())
                    .bind(credential.kind.as_str())
                    .bind(identifier.clone());
                let stamps = (credential.created_at, credential.updated_at);
                run_stamped(query, stamps, tx).await?;
            }
        }
        Ok(())
    }

    /// Inserts the verifiable and recovery address rows of an identity.
    pub(super) async fn insert_addresses(
        &self,
        tx: &mut Transaction<'static, Any>,
        identity: &Identity,
    ) -> Result<(), StoreError> {
        let identity_id = identity.id.to_string();
        let verifiable_sql = self.db.sql(
            "INSERT INTO identity_verifiable_addresses \
             (id, identity_id, via, value, verified, status, verified_at, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        for address in &identity.verifiable_addresses {
            let query = sqlx::query(safe(&verifiable_sql))
                .bind(address.id.to_string())
                .bind(identity_id.clone())
                .bind(address.via.clone())
                .bind(address.value.clone())
                .bind(i64::from(address.verified))
                .bind(address.status.clone())
                .bind(address.verified_at.map(time::format));
            run_stamped(query, (address.created_at, address.updated_at), tx).await?;
        }
        let recovery_sql = self.db.sql(
            "INSERT INTO identity_recovery_addresses \
             (id, identity_id, via, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        );
        for address in &identity.recovery_addresses {
            let query = sqlx::query(safe(&recovery_sql))
                .bind(address.id.to_string())
                .bind(identity_id.clone())
                .bind(address.via.clone())
                .bind(address.value.clone());
            run_stamped(query, (address.created_at, address.updated_at), tx).await?;
        }
        Ok(())
    }

    /// Turns identity rows into full aggregates with four batched reads.
    async fn hydrate(&self, rows: &[AnyRow]) -> Result<Vec<Identity>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut identities = rows
            .iter()
            .map(|row| decode::identity(row, IdentityColumns::Own))
            .collect::<Result<Vec<_>, _>>()?;
        let owners = Owners::new(&identities);

        let mut credentials_by_id: HashMap<Uuid, (usize, Credential)> = HashMap::new();
        let credentials = CREDENTIALS.read(self, &owners, decode::credential);
        for (n, credential) in credentials.await? {
            credentials_by_id.insert(credential.id, (n, credential));
        }
        let identifiers = IDENTIFIERS.read(self, &owners, |row| {
            Ok((row.uuid("credential_id")?, row.text("identifier")?))
        });
        for (_, (credential_id, identifier)) in identifiers.await? {
            if let Some((_, credential)) = credentials_by_id.get_mut(&credential_id) {
                credential.identifiers.push(identifier);
            }
        }
        for (_, (n, credential)) in credentials_by_id {
            identities[n]
                .credentials
                .insert(credential.kind, credential);
        }
        let verifiable = VERIFIABLE_ADDRESSES.read(self, &owners, decode::verifiable_address);
        for (n, address) in verifiable.await? {
            identities[n].verifiable_addresses.push(address);
        }
        let recovery = RECOVERY_ADDRESSES.read(self, &owners, decode::recovery_address);
        for (n, address) in recovery.await? {
            identities[n].recovery_addresses.push(address);
        }
        Ok(identities)
    }
}

/// The `identities` row of an identity: [`IDENTITY_COLUMNS`] and the address
/// copy, each with its value.
/// An `UPDATE identities` of every column but the id and the creation
/// time, for the row that `condition` selects, and the values to bind first
/// (the caller binds the condition's parameters after them).
pub(super) fn row_update(
    db: &Database,
    identity: &Identity,
    condition: &str,
) -> Result<(String, Vec<Option<String>>), StoreError> {
    let (columns, values): (Vec<_>, Vec<_>) = identity_row(identity)?
        .into_iter()
        .filter(|(column, _)| !matches!(*column, "id" | "created_at"))
        .map(|(column, value)| (format!("{column} = ?"), value))
        .unzip();
    let sql = db.sql(&format!(
        "UPDATE identities SET {} WHERE {condition}",
        columns.join(", ")
    ));
    Ok((sql, values))
}

pub(super) fn identity_row(
    identity: &Identity,
) -> Result<Vec<(&'static str, Option<String>)>, StoreError> {
    let json = |value: &Option<Value>| value.as_ref().map(Value::to_string);
    let row = vec![
        ("id", Some(identity.id.to_string())),
        ("schema_id", Some(identity.schema_id.clone())),
        ("traits", Some(identity.traits.to_string())),
        ("state", Some(identity.state.as_str().to_owned())),
        (
            "state_changed_at",
            identity.state_changed_at.map(time::format),
        ),
        ("metadata_public", json(&identity.metadata_public)),
        ("metadata_admin", json(&identity.metadata_admin)),
        ("external_id", identity.external_id.clone()),
        (
            "organization_id",
            identity.organization_id.map(|o| o.to_string()),
        ),
        (
            "available_aal",
            Some(identity.available_aal.as_str().to_owned()),
        ),
        ("created_at", Some(time::format(identity.created_at))),
        ("updated_at", Some(time::format(identity.updated_at))),
        ("addresses", Some(address_copy::to_text(identity)?)),
    ];
    Ok(row)
}

/// The identities being read: their ids, and each one's place in the answer.
struct Owners {
    ids: Vec<String>,
    index: HashMap<Uuid, usize>,
}

impl Owners {
    fn new(identities: &[Identity]) -> Self {
        Self {
            ids: identities.iter().map(|i| i.id.to_string()).collect(),
            index: identities
                .iter()
                .enumerate()
                .map(|(n, i)| (i.id, n))
                .collect(),
        }
    }
}

/// A table of rows that belong to an identity (`identity_id`).
struct ChildTable {
    table: &'static str,
    columns: &'static [&'static str],
    order: &'static str,
}

const CREDENTIALS: ChildTable = ChildTable::new("identity_credentials", &CREDENTIAL_COLUMNS, "id");

const IDENTIFIERS: ChildTable = ChildTable::new(
    "identity_credential_identifiers",
    &["credential_id", "identifier"],
    "identifier",
);

const VERIFIABLE_ADDRESSES: ChildTable = ChildTable::new(
    "identity_verifiable_addresses",
    &VERIFIABLE_ADDRESS_COLUMNS,
    "created_at, value",
);

const RECOVERY_ADDRESSES: ChildTable = ChildTable::new(
    "identity_recovery_addresses",
    &RECOVERY_ADDRESS_COLUMNS,
    "created_at, value",
);

impl ChildTable {
    /// The rows of `table`, read as `columns`, in `order`.
    const fn new(
        table: &'static str,
        columns: &'static [&'static str],
        order: &'static str,
    ) -> Self {
        Self {
            table,
            columns,
            order,
        }
    }

    /// Reads the rows of these owners in one statement, each decoded and
    /// paired with its owner's place in the answer.
    async fn read<T>(
        &self,
        store: &SqlIdentityStore,
        owners: &Owners,
        decode: impl Fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Vec<(usize, T)>, StoreError> {
        let sql = store.db.sql(&format!(
            "SELECT identity_id, {} FROM {} WHERE identity_id IN ({}) ORDER BY {}",
            self.columns.join(", "),
            self.table,
            placeholders(owners.ids.len()),
            self.order
        ));
        let mut statement = sqlx::query(safe(&sql));
        for id in &owners.ids {
            statement = statement.bind(id.clone());
        }
        let mut children = Vec::new();
        for row in statement.fetch_all(store.db.pool()).await? {
            if let Some(&n) = owners.index.get(&row.uuid("identity_id")?) {
                children.push((n, decode(&row)?));
            }
        }
        Ok(children)
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
