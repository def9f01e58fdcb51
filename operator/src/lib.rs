//! The Bia operator: runs Bia identity servers on Kubernetes from `IdentityServer`,
//! `IdentitySchema`, `OIDCProvider` and `CourierTemplate` resources, and keeps declared
//! `Identity` resources in them.
//!
//! Layers: [`render`] is a pure function from resources to the config and child objects;
//! [`validate`] decides which attached resources are accepted; [`controller`] does the
//! Kubernetes I/O around them; [`run`] wires the controllers, leader election and the
//! HTTP endpoints together. [`offline`] runs validation and rendering on files for
//! `bia-operator render`; [`capabilities`] says what the deployed server version supports;
//! [`health`] judges a rollout from the Deployment and its pods; [`declared`] decides what a
//! declared identity asks of its server, and [`admin_api`] is how the operator asks it.

pub mod admin_api;
pub mod capabilities;
pub mod controller;
pub mod declared;
pub mod health;
pub mod http;
pub mod identities;
pub mod leader;
pub mod metrics;
pub mod migration;
pub mod offline;
pub mod render;
pub mod run;
pub mod status;
pub mod transform;
pub mod validate;
