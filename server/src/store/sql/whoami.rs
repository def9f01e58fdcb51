//! The token lookup behind `whoami`: one statement that finds the session by
//! its token digest (one index lookup) and joins its identity, whose addresses
//! come along as the JSON copy on its row (see [`super::address_copy`]). The
//! answer is a single row, decoded by the same decoders as every other read.

use super::decode::{self, IdentityColumns, JOINED_IDENTITY_COLUMNS, SESSION_COLUMNS};
use super::rows::Row;
use crate::session::Session;
use crate::store::StoreError;

/// How many of [`COLUMNS`] are the session's; the rest are its identity's.
const SESSION_COLUMN_COUNT: usize = SESSION_COLUMNS.len();

/// The lookup's columns in statement order: the session's, then its identity's.
pub(super) static COLUMNS: [&str; SESSION_COLUMN_COUNT + JOINED_IDENTITY_COLUMNS.len()] =
    concat(SESSION_COLUMNS, JOINED_IDENTITY_COLUMNS);

/// The lookup, with `?` for the token digest.
pub(super) fn statement() -> String {
    let select = COLUMNS
        .iter()
        .enumerate()
        .map(|(n, column)| {
            let table = if n < SESSION_COLUMN_COUNT { "s" } else { "i" };
            format!("{table}.{column}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {select} FROM sessions s JOIN identities i ON i.id = s.identity_id \
         WHERE s.token_hash = ?"
    )
}

/// Builds the session, with its identity, from the lookup's row.
pub(super) fn session_from_row(row: &impl Row) -> Result<Session, StoreError> {
    let identity = decode::identity(row, IdentityColumns::JoinedToSession)?;
    Ok(Session {
        identity: Some(identity),
        ..decode::session(row)?
    })
}

const fn concat<const A: usize, const B: usize, const C: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
) -> [&'static str; C] {
    let mut out = [""; C];
    let mut n = 0;
    while n < C {
        out[n] = if n < A { a[n] } else { b[n - A] };
        n += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookup_selects_each_column_once_from_its_table() {
        assert_eq!(
            statement(),
            "SELECT s.id, s.identity_id, s.token_hash, s.active, s.aal, \
             s.authentication_methods, s.devices, s.issued_at, s.authenticated_at, \
             s.expires_at, i.schema_id, i.traits, i.state, i.state_changed_at, \
             i.metadata_public, i.external_id, i.organization_id, i.available_aal, \
             i.created_at, i.updated_at, i.addresses FROM sessions s JOIN identities i \
             ON i.id = s.identity_id WHERE s.token_hash = ?"
        );
        let mut names = COLUMNS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len(), "column names must be unique");
    }
}
