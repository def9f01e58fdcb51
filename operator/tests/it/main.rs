//! Integration tests of the operator: render goldens, reconcile scenarios against a
//! mocked API server, Argo CD health scripts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod argocd;
mod exposure;
mod fake_api;
mod fixtures;
mod health;
mod identity;
mod leader;
mod offline;
mod real_server;
mod reconcile;
mod render;
mod rollout;
mod schema_migration;
