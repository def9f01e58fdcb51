//! Columns read by name from any row the SQL implementation gets back: sqlx's
//! rows from the pool and the rows the direct SQLite lookup reads
//! ([`OwnedRow`]). The decoders in [`super::decode`] see only [`Row`], so each
//! aggregate is decoded once, whichever connection produced its row.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::store::StoreError;
use crate::time;

/// A row whose columns are read by name.
pub(super) trait Row {
    /// A text column; `None` for NULL.
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;

    /// An integer column.
    fn int(&self, column: &str) -> Result<i64, StoreError>;

    /// A text column that must not be NULL.
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.opt_text(column)?
            .ok_or_else(|| corrupt(column, "unexpected NULL"))
    }

    /// A 0/1 integer column as a flag.
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        Ok(self.int(column)? != 0)
    }

    /// A UUID stored as text.
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        parse_uuid(&self.text(column)?, column)
    }

    /// A nullable UUID stored as text.
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        self.opt_text(column)?
            .map(|text| parse_uuid(&text, column))
            .transpose()
    }

    /// A timestamp stored as RFC 3339 text.
    fn time(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        parse_time(&self.text(column)?, column)
    }

    /// A nullable timestamp stored as RFC 3339 text.
    fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_text(column)?
            .map(|text| parse_time(&text, column))
            .transpose()
    }

    /// A nullable JSON document stored as text.
    fn json(&self, column: &str) -> Result<Option<Value>, StoreError> {
        self.opt_text(column)?
            .map(|text| parse_json(&text, column))
            .transpose()
    }
}

impl Row for AnyRow {
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        sqlx::Row::try_get::<Option<String>, _>(self, column).map_err(|e| corrupt(column, e))
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        sqlx::Row::try_get::<i64, _>(self, column).map_err(|e| corrupt(column, e))
    }
}

/// One value of an [`OwnedRow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cell {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

/// A row read into memory, its cells named by a fixed column list.
#[derive(Debug)]
pub(super) struct OwnedRow {
    columns: &'static [&'static str],
    cells: Vec<Cell>,
}

impl OwnedRow {
    /// The row with these cells, in the order of `columns`.
    pub(super) fn new(columns: &'static [&'static str], cells: Vec<Cell>) -> Self {
        Self { columns, cells }
    }

    fn cell(&self, column: &str) -> Result<&Cell, StoreError> {
        self.columns
            .iter()
            .position(|c| *c == column)
            .and_then(|n| self.cells.get(n))
            .ok_or_else(|| corrupt(column, "missing column"))
    }
}

impl Row for OwnedRow {
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        match self.cell(column)? {
            Cell::Null => Ok(None),
            Cell::Text(text) => Ok(Some(text.clone())),
            Cell::Int(_) => Err(corrupt(column, "integer where text was expected")),
        }
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        match self.cell(column)? {
            Cell::Int(value) => Ok(*value),
            Cell::Null => Err(corrupt(column, "unexpected NULL")),
            Cell::Text(_) => Err(corrupt(column, "text where an integer was expected")),
        }
    }
}

/// A stored value that cannot be read back; `what` names it.
pub(super) fn corrupt(what: &str, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {problem}"))
}

/// Reads a stored UUID; `what` names it in the error.
pub(super) fn parse_uuid(text: &str, what: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| corrupt(what, e))
}

/// Reads a stored timestamp; `what` names it in the error.
pub(super) fn parse_time(text: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    time::parse(text).ok_or_else(|| corrupt(what, format_args!("{text:?} is not a timestamp")))
}

/// Reads a stored JSON document; `what` names it in the error.
pub(super) fn parse_json(text: &str, what: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_rows_are_read_by_name_and_refuse_wrong_types() {
        static COLUMNS: [&str; 3] = ["id", "active", "note"];
        let id = Uuid::new_v4();
        let row = OwnedRow::new(
            &COLUMNS,
            vec![Cell::Text(id.to_string()), Cell::Int(1), Cell::Null],
        );
        assert_eq!(row.uuid("id").unwrap(), id);
        assert!(row.flag("active").unwrap());
        assert_eq!(row.opt_text("note").unwrap(), None);
        assert!(matches!(row.text("note"), Err(StoreError::Corrupt(_))));
        assert!(matches!(row.int("id"), Err(StoreError::Corrupt(_))));
        assert!(matches!(row.text("active"), Err(StoreError::Corrupt(_))));
        assert!(matches!(row.text("missing"), Err(StoreError::Corrupt(_))));
    }
}
