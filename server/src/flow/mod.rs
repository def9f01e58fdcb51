//! The flow machine shared by self-service flows: create, fetch, submit and
//! expire login, registration and settings flows, with their UI container,
//! anti-CSRF tokens and error flows.
//!
//! Invariant: the machine knows no method; methods implement [`Method`] and
//! are registered with [`FlowService`].

pub mod csrf;
mod hooks;
mod method;
mod model;
mod service;
pub mod ui;

pub use hooks::{FlowHooks, HookStop, Renderer, Shown};
pub use method::{Method, MethodError, PrePersist, Problem};
pub use model::{ErrorFlow, Flow, FlowKind, FlowType};
pub use service::{
    CsrfEvidence, FlowError, FlowService, FlowSettings, NewFlow, Outcome, Requester,
};
