//! The profile method: the signed-in user edits their own traits in the
//! settings flow. Identifiers and addresses follow the traits through the
//! schema, exactly as for admin updates.

use async_trait::async_trait;

use crate::flow::trait_nodes;
use crate::flow::ui::{Message, Node, Ui};
use crate::flow::{Method, MethodError, Problem, SettingsSubmission};
use crate::identity::{Identity, IdentityService};
use crate::schema::SchemaHandle;

/// The profile method.
pub struct ProfileMethod {
    identities: IdentityService,
    schemas: SchemaHandle,
}

impl ProfileMethod {
    /// The method over the identity service and schemas.
    pub fn new(identities: IdentityService, schemas: SchemaHandle) -> Self {
        Self {
            identities,
            schemas,
        }
    }
}

#[async_trait]
impl Method for ProfileMethod {
    fn id(&self) -> &'static str {
        "profile"
    }

    fn populate_settings(&self, identity: &Identity, ui: &mut Ui) {
        ui.nodes.extend(trait_nodes::trait_nodes(
            &self.schemas,
            Some(&identity.schema_id),
            "profile",
            Some(&identity.traits),
        ));
        ui.nodes
            .push(Node::submit("profile", Message::info(1070003, "Save")));
    }

    async fn update_settings(&self, sub: &SettingsSubmission<'_>) -> Result<Identity, MethodError> {
        let (identity, body, pre_persist) = (sub.identity, sub.body, sub.pre_persist);
        let Some(new_traits) = body.get("traits").filter(|t| t.is_object()) else {
            return Err(MethodError::Invalid(vec![Problem::field(
                "traits",
                Message::missing("traits"),
            )]));
        };
        super::save_own_change(
            &self.identities,
            identity.id,
            Some(new_traits.clone()),
            None,
            pre_persist,
        )
        .await
    }
}
