//! Server integration tests: the real server on real ports against SQLite,
//! PostgreSQL and MariaDB. One binary, a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod admin_identities;
mod browser;
mod browser_flows;
mod cleanup;
mod code_login;
mod code_mfa;
mod config_schema;
mod config_start;
mod config_validate;
mod cors;
mod courier;
mod credential_import;
mod flow_hooks;
mod function_length;
mod hooks;
mod identifier_first;
mod input_limits;
mod lookup_codes;
mod metrics;
mod native_flows;
mod oidc_settings;
mod openapi;
mod ory_ui;
mod passkeys;
mod password_policy;
mod profile_first;
mod recovery;
mod registration_throttle;
mod replays;
mod schema_migrations;
mod schemas_health;
mod session_lookup;
mod sessions_api;
mod sms_codes;
mod soft_authenticator;
mod store_conformance;
mod support;
mod token_exchange;
mod totp;
mod verification;
mod webauthn;
