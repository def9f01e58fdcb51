//! Authentication methods, one module each, plugged into the flow machine.

mod password;
mod profile;
mod traits;

pub use password::{PasswordMethod, PasswordSettings};
pub use profile::ProfileMethod;
