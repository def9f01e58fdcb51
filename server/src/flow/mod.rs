//! The flow machine shared by self-service flows: create, fetch, submit and
//! expire login and registration flows, with their UI container.
//!
//! Invariant: the machine knows no method; methods implement [`Method`] and
//! are registered with [`FlowService`].

mod method;
mod model;
mod service;
pub mod ui;

pub use method::{Method, MethodError, Problem};
pub use model::{Flow, FlowKind};
pub use service::{FlowError, FlowService, FlowSettings, Outcome};
