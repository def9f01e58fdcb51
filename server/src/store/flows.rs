//! The self-service flow store's seam: every flow kind, and the error flows
//! shown to browsers.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::flow::{ErrorFlow, Flow, FlowKind};

/// Persistence of self-service flows.
#[async_trait]
pub trait FlowStore: Send + Sync {
    /// Inserts a new flow.
    async fn create(&self, flow: &Flow) -> Result<(), StoreError>;
    /// Reads a flow of a kind.
    async fn get(&self, kind: FlowKind, id: Uuid) -> Result<Option<Flow>, StoreError>;
    /// Saves a flow's state and form.
    async fn update(&self, flow: &Flow) -> Result<(), StoreError>;
    /// Stores an error flow.
    async fn create_error(&self, error: &ErrorFlow) -> Result<(), StoreError>;
    /// Reads an error flow.
    async fn get_error(&self, id: Uuid) -> Result<Option<ErrorFlow>, StoreError>;
}
