//! Bia identity server: a Kratos-compatible identity and user-management API.
//!
//! The crate is a library with a thin binary (`bia`) on top. See `ARCHITECTURE.md`
//! at the repository root for the map of modules and their rules.

pub mod aal;
pub mod app;
pub mod bounded;
pub mod cipher;
pub mod cleanup;
pub mod config;
pub mod courier;
pub mod flow;
pub mod hash;
pub mod hook;
pub mod http;
pub mod identity;
pub mod inline;
pub mod method;
pub mod metrics;
pub mod onetime;
pub mod outbound;
pub mod policy;
pub mod reload;
pub mod schema;
pub mod session;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod time;
