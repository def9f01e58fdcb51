//! Authentication methods, each behind the flow machine's [`crate::flow::Method`] trait.

mod password;

pub use password::{PasswordMethod, PasswordSettings};
