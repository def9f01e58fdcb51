//! Replacing an identity only while it is still the one the caller read: the
//! write a schema migration makes, safe from concurrent writers and from
//! several migrations at once.
//!
//! The identity row is updated first, on the condition that its schema id and
//! `updated_at` are still those read: on PostgreSQL and
//! MySQL the statement takes the row's lock, so of concurrent writers
//! expecting the same row one wins and the others find no row (they re-read
//! it after the winner commits); SQLite serializes writers. Credentials are
//! written under the same kind of condition (their stored config is still the
//! one read), so a one-time secret spent in between (a TOTP step, a lookup
//! code) is never written back, and so are verifiable addresses (each still
//! with the `updated_at` read: a verification sent or completed in between
//! is never undone). Identifiers and addresses are then replaced. Any miss
//! rolls the whole transaction back.

use sqlx::{Any, Transaction};

use super::identities::{SqlIdentityStore, row_update};
use super::safe;
use crate::identity::{Credential, Identity};
use crate::store::StoreError;
use crate::time;

impl SqlIdentityStore {
    /// See [`crate::store::IdentityStore::update_if_unchanged`].
    pub(super) async fn replace_if_unchanged(
        &self,
        expected: &Identity,
        identity: &Identity,
    ) -> Result<bool, StoreError> {
        if expected.id != identity.id {
            return Err(StoreError::Internal(
                "a conditional update names two different identities".into(),
            ));
        }
        let mut tx = self.db.pool().begin().await?;
        if !self.claim_row(&mut tx, expected, identity).await?
            || !self.swap_credentials(&mut tx, expected, identity).await?
            || !self.take_verifiable(&mut tx, expected).await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        for table in [
            "identity_credential_identifiers",
            "identity_recovery_addresses",
        ] {
            let sql = self
                .db
                .sql(&format!("DELETE FROM {table} WHERE identity_id = ?"));
            sqlx::query(safe(&sql))
                .bind(identity.id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        self.insert_identifiers(&mut tx, identity).await?;
        self.insert_addresses(&mut tx, identity).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Updates the identity row while it holds what `expected` read.
    async fn claim_row(
        &self,
        tx: &mut Transaction<'static, Any>,
        expected: &Identity,
        identity: &Identity,
    ) -> Result<bool, StoreError> {
        let condition = "id = ? AND schema_id = ? AND updated_at = ?";
        let (sql, values) = row_update(&self.db, identity, condition)?;
        let statement = values
            .into_iter()
            .fold(sqlx::query(safe(&sql)), |q, value| q.bind(value));
        let result = statement
            .bind(expected.id.to_string())
            .bind(expected.schema_id.clone())
            .bind(time::format(expected.updated_at))
            .execute(&mut **tx)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Writes every credential of `identity`: one `expected` had is updated
    /// only while its stored config is still the one read, a new one is
    /// inserted, one that is gone is deleted under the same condition.
    async fn swap_credentials(
        &self,
        tx: &mut Transaction<'static, Any>,
        expected: &Identity,
        identity: &Identity,
    ) -> Result<bool, StoreError> {
        for credential in identity.credentials.values() {
            match expected.credentials.get(&credential.kind) {
                Some(old) if old.id == credential.id => {
                    if !self.update_credential(tx, old, credential).await? {
                        return Ok(false);
                    }
                }
                _ => {
                    if let Some(old) = expected.credentials.get(&credential.kind)
                        && !self.delete_credential(tx, old).await?
                    {
                        return Ok(false);
                    }
                    self.insert_credential(tx, identity.id, credential).await?;
                }
            }
        }
        for old in expected.credentials.values() {
            if !identity.credentials.contains_key(&old.kind)
                && !self.delete_credential(tx, old).await?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Deletes the verifiable addresses `expected` read, each only while
    /// unchanged; false when one changed or another one appeared.
    async fn take_verifiable(
        &self,
        tx: &mut Transaction<'static, Any>,
        expected: &Identity,
    ) -> Result<bool, StoreError> {
        let sql = self
            .db
            .sql("DELETE FROM identity_verifiable_addresses WHERE id = ? AND updated_at = ?");
        for address in &expected.verifiable_addresses {
            let result = sqlx::query(safe(&sql))
                .bind(address.id.to_string())
                .bind(time::format(address.updated_at))
                .execute(&mut **tx)
                .await?;
            if result.rows_affected() != 1 {
                return Ok(false);
            }
        }
        let sql = self
            .db
            .sql("DELETE FROM identity_verifiable_addresses WHERE identity_id = ?");
        let others = sqlx::query(safe(&sql))
            .bind(expected.id.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(others.rows_affected() == 0)
    }

    async fn update_credential(
        &self,
        tx: &mut Transaction<'static, Any>,
        old: &Credential,
        new: &Credential,
    ) -> Result<bool, StoreError> {
        let sql = self.db.sql(
            "UPDATE identity_credentials SET config = ?, version = ?, updated_at = ? \
             WHERE id = ? AND config = ?",
        );
        let result = sqlx::query(safe(&sql))
            .bind(new.config.to_string())
            .bind(new.version)
            .bind(time::format(new.updated_at))
            .bind(old.id.to_string())
            .bind(old.config.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn delete_credential(
        &self,
        tx: &mut Transaction<'static, Any>,
        old: &Credential,
    ) -> Result<bool, StoreError> {
        for (table, column) in [
            ("identity_credential_identifiers", "credential_id"),
            ("identity_credentials", "id"),
        ] {
            let guard = if column == "id" {
                " AND config = ?"
            } else {
                ""
            };
            let sql = self
                .db
                .sql(&format!("DELETE FROM {table} WHERE {column} = ?{guard}"));
            let mut statement = sqlx::query(safe(&sql)).bind(old.id.to_string());
            if column == "id" {
                statement = statement.bind(old.config.to_string());
                if statement.execute(&mut **tx).await?.rows_affected() != 1 {
                    return Ok(false);
                }
            } else {
                statement.execute(&mut **tx).await?;
            }
        }
        Ok(true)
    }
}
