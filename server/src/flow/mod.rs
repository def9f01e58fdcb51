//! The flow machine shared by self-service flows: create, fetch, submit and
//! expire login, registration, settings, recovery and verification flows,
//! with their UI container, anti-CSRF tokens and error flows. Recovery and
//! verification (`recovery.rs`, `verification.rs`) send a one-time code or
//! link to an address (`address.rs`) and check what comes back.
//!
//! Invariant: the machine knows no method; methods implement [`Method`] and
//! are registered with [`FlowService`].

mod address;
pub mod address_ui;
pub mod csrf;
mod hooks;
mod identifier_first;
mod login_first;
mod method;
mod model;
mod profile_first;
mod recovery;
mod service;
pub mod trait_nodes;
pub mod ui;
mod verification;

pub use address::{AddressFlowSettings, AddressFlows};
pub use hooks::{FlowHooks, HookStop, Renderer, Shown};
pub use method::{
    LoginFirst, LoginSubmission, Method, MethodError, PrePersist, Problem, Refusal,
    RegistrationSubmission, SettingsSubmission,
};
pub use model::{ErrorFlow, Flow, FlowKind, FlowType};
pub use recovery::{AdminRecovery, Recovered, RecoveryStep};
pub use service::{
    CsrfEvidence, FlowError, FlowService, FlowSettings, NewFlow, Outcome, Requester,
};
