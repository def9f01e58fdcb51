//! Server integration tests: the real server on real ports against SQLite,
//! PostgreSQL and MariaDB. One binary, a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod admin_identities;
mod browser;
mod browser_flows;
mod config_schema;
mod config_start;
mod config_validate;
mod flow_hooks;
mod hooks;
mod native_flows;
mod password_policy;
mod schemas_health;
mod session_lookup;
mod sessions_api;
mod store_conformance;
mod support;
