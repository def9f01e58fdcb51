//! Listing a table one page at a time, ordered by id: the shape every
//! admin listing shares.

use sqlx::any::AnyRow;

use super::{Database, safe};
use crate::store::StoreError;

/// The conditions a listing's rows must meet, each with its `?` values.
#[derive(Debug, Default)]
pub(super) struct Filter {
    conditions: Vec<String>,
    values: Vec<String>,
}

impl Filter {
    /// Adds a condition and the values of its `?`s, in order.
    pub(super) fn and(
        &mut self,
        condition: impl Into<String>,
        values: impl IntoIterator<Item = String>,
    ) {
        self.conditions.push(condition.into());
        self.values.extend(values);
    }
}

/// Which page of a listing to read.
#[derive(Debug, Clone, Copy)]
pub(super) struct PageSpec {
    /// At most this many rows (at least one).
    pub size: u32,
    /// Rows skipped first (legacy paging).
    pub offset: Option<u64>,
}

impl Database {
    /// One page of `columns` of `table` matching `filter`, ordered by id, and
    /// whether more rows follow it.
    pub(super) async fn page(
        &self,
        table: &str,
        columns: &[&str],
        filter: Filter,
        spec: PageSpec,
    ) -> Result<(Vec<AnyRow>, bool), StoreError> {
        let condition = if filter.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", filter.conditions.join(" AND "))
        };
        let size = spec.size.max(1) as usize;
        // One row more than asked tells whether more follow.
        let limit = size + 1;
        let offset = spec
            .offset
            .map(|o| format!(" OFFSET {o}"))
            .unwrap_or_default();
        let sql = self.sql(&format!(
            "SELECT {} FROM {table}{condition} ORDER BY id LIMIT {limit}{offset}",
            columns.join(", ")
        ));
        let mut statement = sqlx::query(safe(&sql));
        for value in filter.values {
            statement = statement.bind(value);
        }
        let mut rows = statement.fetch_all(self.pool()).await?;
        let has_more = rows.len() == limit;
        rows.truncate(size);
        Ok((rows, has_more))
    }
}
