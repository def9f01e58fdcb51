//! What the second-factor methods (TOTP, lookup codes) share: which login
//! flows they take part in, the throttle key of an identity's guesses, and
//! storing a credential that is identified by its identity.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::flow::ui::{Message, Node, Ui};
use crate::flow::{Flow, FlowKind, MethodError, PrePersist};
use crate::identity::{Credential, CredentialType, Identity, IdentityService};
use crate::session::Device;
use crate::throttle::Throttle;

/// The identity a login flow steps up to `aal2`; any other flow is not one
/// a second factor takes part in.
pub(crate) fn step_up_identity(flow: &Flow) -> Result<Uuid, MethodError> {
    if flow.kind != FlowKind::Login || flow.requested_aal() != crate::aal::Aal::Aal2 {
        return Err(MethodError::Unsupported);
    }
    flow.identity_id.ok_or(MethodError::Unsupported)
}

/// Counts one guess of `method` for `identity_id` (and the client address,
/// when known) against the throttle; returns the key a success gives back.
pub(crate) fn admit_guess(
    throttle: &Throttle,
    method: &str,
    identity_id: Uuid,
    device: Option<&Device>,
) -> Result<String, MethodError> {
    let key = format!("{method}:{identity_id}");
    let ip = device.and_then(|d| d.ip_address.as_deref());
    throttle.admit(&key, ip)?;
    Ok(key)
}

/// `identity` with a new `kind` credential holding `config`, identified by
/// the identity's id (second factors name no identifier of their own).
pub(crate) fn with_credential(
    identity: &Identity,
    kind: CredentialType,
    config: Value,
    now: DateTime<Utc>,
) -> Identity {
    let mut changed = identity.clone();
    changed.credentials.insert(
        kind,
        Credential {
            id: Uuid::new_v4(),
            kind,
            identifiers: vec![identity.id.to_string()],
            config,
            version: 0,
            created_at: now,
            updated_at: now,
        },
    );
    changed.updated_at = now;
    changed
}

/// Runs the settings flow's pre-persist hooks on `changed` and stores it.
pub(crate) async fn save(
    identities: &IdentityService,
    changed: Identity,
    pre_persist: &dyn PrePersist,
) -> Result<Identity, MethodError> {
    let changed = pre_persist.run(changed).await?;
    identities
        .save(changed)
        .await
        .map_err(MethodError::refused_write)
}

/// The step-up form of a second factor that is typed in: a required text
/// field and a submit button in the method's group, offered only to an
/// identity holding a credential of `kind` (whose name is the group).
pub(crate) struct CodeForm {
    /// The credential the identity must hold.
    pub kind: CredentialType,
    /// The name of the text field.
    pub field: &'static str,
    /// The field's label.
    pub label: Message,
    /// The submit button's label.
    pub submit: Message,
}

impl CodeForm {
    /// Adds the field and the button to `ui` when `identity` can use them.
    pub(crate) fn populate(self, identity: &Identity, ui: &mut Ui) {
        if !identity.credentials.contains_key(&self.kind) {
            return;
        }
        let group = self.kind.as_str();
        ui.nodes.push(
            Node::input(group, self.field, "text")
                .required()
                .value(Value::String(String::new()))
                .label(self.label),
        );
        ui.nodes.push(Node::submit(group, self.submit));
    }
}

/// One use of a one-time second factor (a TOTP step, a lookup code): the
/// credential's config becomes `spent` only while it still is what was
/// `read`, so two submissions racing with the same code cannot both win.
pub(crate) struct Spend<'a> {
    /// The identity stepping up.
    pub identity_id: Uuid,
    /// The credential used.
    pub kind: CredentialType,
    /// The credential's config as read when the code was checked.
    pub read: &'a Value,
    /// Its config with the code used up.
    pub spent: &'a Value,
    /// The throttle key of the identity's guesses ([`admit_guess`]).
    pub key: &'a str,
}

impl<'a> Spend<'a> {
    /// The use of `identity_id`'s `kind` credential whose config goes from
    /// `configs.0` (as read) to `configs.1` (spent), guessed under `key`.
    pub(crate) fn of(
        identity_id: Uuid,
        kind: CredentialType,
        configs: (&'a Value, &'a Value),
        key: &'a str,
    ) -> Self {
        Self {
            identity_id,
            kind,
            read: configs.0,
            spent: configs.1,
            key,
        }
    }

    /// Stores the use; `lost` when another change came first. A success
    /// clears the identity's failed guesses.
    pub(crate) async fn commit(
        self,
        identities: &IdentityService,
        throttle: &Throttle,
        lost: MethodError,
    ) -> Result<(), MethodError> {
        let won = identities
            .swap_credential_config(self.identity_id, self.kind, self.read, self.spent)
            .await?;
        if !won {
            return Err(lost);
        }
        throttle.succeeded(self.key);
        Ok(())
    }
}
