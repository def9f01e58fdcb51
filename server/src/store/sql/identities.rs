//! The SQL identity store: one aggregate (identity, credentials, identifiers,
//! addresses) written and read as a whole, inside one transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::decode::{self, IDENTITY_COLUMNS, IdentityColumns};
use super::rows::Row;
use super::{Database, address_copy, placeholders, safe};
use crate::identity::{Credential, CredentialType, Identity};
use crate::store::{IdentityPage, IdentityQuery, IdentityStore, StoreError};
use crate::time;

/// The SQL implementation, shared by all three backends.
#[derive(Debug, Clone)]
pub struct SqlIdentityStore {
    db: Database,
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
        let sql = self.db.sql(&format!(
            "INSERT INTO identities ({}, addresses) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            IDENTITY_COLUMNS.join(", ")
        ));
        sqlx::query(safe(&sql))
            .bind(identity.id.to_string())
            .bind(identity.schema_id.clone())
            .bind(identity.traits.to_string())
            .bind(identity.state.as_str())
            .bind(identity.state_changed_at.map(time::format))
            .bind(identity.metadata_public.as_ref().map(Value::to_string))
            .bind(identity.metadata_admin.as_ref().map(Value::to_string))
            .bind(identity.external_id.clone())
            .bind(identity.organization_id.map(|o| o.to_string()))
            .bind(time::format(identity.created_at))
            .bind(time::format(identity.updated_at))
            .bind(address_copy::to_text(identity)?)
            .execute(&mut *tx)
            .await?;
        self.insert_children(&mut tx, identity).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update(&self, identity: &Identity) -> Result<(), StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let sql = self.db.sql(
            "UPDATE identities SET schema_id = ?, traits = ?, state = ?, state_changed_at = ?, \
             metadata_public = ?, metadata_admin = ?, external_id = ?, organization_id = ?, \
             updated_at = ?, addresses = ? WHERE id = ?",
        );
        let result = sqlx::query(safe(&sql))
            .bind(identity.schema_id.clone())
            .bind(identity.traits.to_string())
            .bind(identity.state.as_str())
            .bind(identity.state_changed_at.map(time::format))
            .bind(identity.metadata_public.as_ref().map(Value::to_string))
            .bind(identity.metadata_admin.as_ref().map(Value::to_string))
            .bind(identity.external_id.clone())
            .bind(identity.organization_id.map(|o| o.to_string()))
            .bind(time::format(identity.updated_at))
            .bind(address_copy::to_text(identity)?)
            .bind(identity.id.to_string())
            .execute(&mut *tx)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.delete_children(&mut tx, identity.id).await?;
        self.insert_children(&mut tx, identity).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<Identity>, StoreError> {
        self.fetch_one_where("id = ?", id.to_string()).await
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
        let id: Option<String> = sqlx::query_scalar(safe(&sql))
            .bind(kind.as_str())
            .bind(identifier.to_owned())
            .fetch_optional(self.db.pool())
            .await?;
        match id {
            Some(id) => self.fetch_one_where("id = ?", id).await,
            None => Ok(None),
        }
    }

    async fn list(&self, query: &IdentityQuery) -> Result<IdentityPage, StoreError> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if !query.ids.is_empty() {
            conditions.push(format!("id IN ({})", placeholders(query.ids.len())));
            binds.extend(query.ids.iter().map(Uuid::to_string));
        }
        if let Some(after) = query.after {
            conditions.push("id > ?".to_owned());
            binds.push(after.to_string());
        }
        if let Some(identifier) = &query.credentials_identifier {
            conditions.push(
                "id IN (SELECT identity_id FROM identity_credential_identifiers WHERE identifier = ?)"
                    .to_owned(),
            );
            binds.push(identifier.clone());
        }
        if let Some(similar) = &query.identifier_similar {
            conditions.push(
                "id IN (SELECT identity_id FROM identity_credential_identifiers \
                 WHERE LOWER(identifier) LIKE ?)"
                    .to_owned(),
            );
            binds.push(format!("%{}%", escape_like(&similar.to_lowercase())));
        }
        if let Some(organization) = query.organization_id {
            conditions.push("organization_id = ?".to_owned());
            binds.push(organization.to_string());
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let limit = u64::from(query.page_size.max(1)) + 1;
        let offset = query
            .offset
            .map(|o| format!(" OFFSET {o}"))
            .unwrap_or_default();
        let sql = self.db.sql(&format!(
            "SELECT {} FROM identities {filter} ORDER BY id LIMIT {limit}{offset}",
            IDENTITY_COLUMNS.join(", ")
        ));
        let mut statement = sqlx::query(safe(&sql));
        for value in binds {
            statement = statement.bind(value);
        }
        let rows = statement.fetch_all(self.db.pool()).await?;
        let has_more = rows.len() as u64 == limit;
        let rows = &rows[..rows.len().min(query.page_size.max(1) as usize)];
        let identities = self.hydrate(rows).await?;
        Ok(IdentityPage {
            identities,
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

    async fn delete_children(
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
        let identity_id = identity.id.to_string();
        let credential_sql = self.db.sql(
            "INSERT INTO identity_credentials (id, identity_id, type, config, version, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        );
        let identifier_sql = self.db.sql(
            "INSERT INTO identity_credential_identifiers \
             (id, identity_id, credential_id, type, identifier, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        );
        for credential in identity.credentials.values() {
            sqlx::query(safe(&credential_sql))
                .bind(credential.id.to_string())
                .bind(identity_id.clone())
                .bind(credential.kind.as_str())
                .bind(credential.config.to_string())
                .bind(credential.version)
                .bind(time::format(credential.created_at))
                .bind(time::format(credential.updated_at))
                .execute(&mut **tx)
                .await?;
            for identifier in &credential.identifiers {
                sqlx::query(safe(&identifier_sql))
                    .bind(Uuid::new_v4().to_string())
                    .bind(identity_id.clone())
                    .bind(credential.id.to_string())
                    .bind(credential.kind.as_str())
                    .bind(identifier.clone())
                    .bind(time::format(credential.created_at))
                    .bind(time::format(credential.updated_at))
                    .execute(&mut **tx)
                    .await?;
            }
        }
        let verifiable_sql = self.db.sql(
            "INSERT INTO identity_verifiable_addresses \
             (id, identity_id, via, value, verified, status, verified_at, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        for address in &identity.verifiable_addresses {
            sqlx::query(safe(&verifiable_sql))
                .bind(address.id.to_string())
                .bind(identity_id.clone())
                .bind(address.via.clone())
                .bind(address.value.clone())
                .bind(i64::from(address.verified))
                .bind(address.status.clone())
                .bind(address.verified_at.map(time::format))
                .bind(time::format(address.created_at))
                .bind(time::format(address.updated_at))
                .execute(&mut **tx)
                .await?;
        }
        let recovery_sql = self.db.sql(
            "INSERT INTO identity_recovery_addresses \
             (id, identity_id, via, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        );
        for address in &identity.recovery_addresses {
            sqlx::query(safe(&recovery_sql))
                .bind(address.id.to_string())
                .bind(identity_id.clone())
                .bind(address.via.clone())
                .bind(address.value.clone())
                .bind(time::format(address.created_at))
                .bind(time::format(address.updated_at))
                .execute(&mut **tx)
                .await?;
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
        let ids: Vec<String> = identities.iter().map(|i| i.id.to_string()).collect();
        let index: HashMap<Uuid, usize> = identities
            .iter()
            .enumerate()
            .map(|(n, i)| (i.id, n))
            .collect();
        let list = placeholders(ids.len());

        let credential_rows = self
            .fetch_children(
                &format!(
                    "SELECT id, identity_id, type, config, version, created_at, updated_at \
                     FROM identity_credentials WHERE identity_id IN ({list})"
                ),
                &ids,
            )
            .await?;
        let mut credentials_by_id: HashMap<Uuid, (usize, Credential)> = HashMap::new();
        for row in &credential_rows {
            let credential = decode::credential(row)?;
            let owner = row.uuid("identity_id")?;
            if let Some(&n) = index.get(&owner) {
                credentials_by_id.insert(credential.id, (n, credential));
            }
        }
        let identifier_rows = self
            .fetch_children(
                &format!(
                    "SELECT credential_id, identifier FROM identity_credential_identifiers \
                     WHERE identity_id IN ({list}) ORDER BY identifier"
                ),
                &ids,
            )
            .await?;
        for row in &identifier_rows {
            let credential_id = row.uuid("credential_id")?;
            if let Some((_, credential)) = credentials_by_id.get_mut(&credential_id) {
                credential.identifiers.push(row.text("identifier")?);
            }
        }
        for (_, (n, credential)) in credentials_by_id {
            identities[n]
                .credentials
                .insert(credential.kind, credential);
        }

        let verifiable_rows = self
            .fetch_children(
                &format!(
                    "SELECT id, identity_id, via, value, verified, status, verified_at, created_at, updated_at \
                     FROM identity_verifiable_addresses WHERE identity_id IN ({list}) ORDER BY created_at, value"
                ),
                &ids,
            )
            .await?;
        for row in &verifiable_rows {
            let owner = row.uuid("identity_id")?;
            if let Some(&n) = index.get(&owner) {
                identities[n]
                    .verifiable_addresses
                    .push(decode::verifiable_address(row)?);
            }
        }
        let recovery_rows = self
            .fetch_children(
                &format!(
                    "SELECT id, identity_id, via, value, created_at, updated_at \
                     FROM identity_recovery_addresses WHERE identity_id IN ({list}) ORDER BY created_at, value"
                ),
                &ids,
            )
            .await?;
        for row in &recovery_rows {
            let owner = row.uuid("identity_id")?;
            if let Some(&n) = index.get(&owner) {
                identities[n]
                    .recovery_addresses
                    .push(decode::recovery_address(row)?);
            }
        }
        Ok(identities)
    }

    async fn fetch_children(&self, sql: &str, ids: &[String]) -> Result<Vec<AnyRow>, StoreError> {
        let sql = self.db.sql(sql);
        let mut statement = sqlx::query(safe(&sql));
        for id in ids {
            statement = statement.bind(id.clone());
        }
        Ok(statement.fetch_all(self.db.pool()).await?)
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
