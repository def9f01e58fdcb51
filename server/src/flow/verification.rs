//! Verification flows: a person proves they hold an address of their
//! account (by a code or a link sent there), which marks it verified. They
//! start on request, after a registration, and after a settings change that
//! adds an address.

use serde_json::{Value, json};
use uuid::Uuid;

use super::address::{Dispatch, Submitted};
use super::address_ui::{self, state};
use super::method::{MethodError, Problem};
use super::model::{Flow, FlowKind, FlowType};
use super::service::{CsrfEvidence, FlowError, FlowService, NewFlow};
use crate::identity::Identity;
use crate::onetime::{CodeError, Delivery, Purpose};

impl FlowService {
    /// Submits a verification flow: an address (a code or link is sent), or
    /// a code (checked; when right, the address is verified).
    pub async fn submit_verification(
        &self,
        id: Uuid,
        body: &Value,
        csrf: &CsrfEvidence,
    ) -> Result<Flow, FlowError> {
        let flow = self.get(FlowKind::Verification, id).await?;
        self.check_address_submission(&flow, body, csrf)?;
        let (flow_read, Submitted { code, email }) = self.read_submission(flow, body).await?;
        let mut flow = flow_read;
        if flow.state == state::PASSED_CHALLENGE && email.is_none() {
            let done = Problem::form(address_ui::already_done(FlowKind::Verification));
            return Err(self
                .refuse(flow, body, MethodError::Invalid(vec![done]))
                .await);
        }
        if !code.is_empty() && flow.state == state::SENT_EMAIL {
            return self.redeem_verification(flow, &code, body).await;
        }
        let Some(email) = email else {
            let missing = Problem::field("email", super::ui::Message::missing("email"));
            return Err(self
                .refuse(flow, body, MethodError::Invalid(vec![missing]))
                .await);
        };
        self.send_to_address(&mut flow, Purpose::Verification, &email)
            .await?;
        Ok(flow)
    }

    /// Follows a verification link (`?flow=&token=`, or `?flow=&code=` from
    /// a code message): when right, the address is verified.
    pub async fn follow_verification_link(
        &self,
        id: Uuid,
        secret: &str,
    ) -> Result<Flow, FlowError> {
        let flow = self.get(FlowKind::Verification, id).await?;
        if flow.state == state::PASSED_CHALLENGE {
            return Ok(flow);
        }
        self.redeem_verification(flow, secret, &Value::Null).await
    }

    async fn redeem_verification(
        &self,
        mut flow: Flow,
        secret: &str,
        body: &Value,
    ) -> Result<Flow, FlowError> {
        let parts = self.address_flows()?;
        let code = match parts
            .codes
            .redeem(flow.id, Purpose::Verification, secret)
            .await
        {
            Ok(code) => code,
            Err(CodeError::Invalid) => {
                let message = match parts.verification.delivery {
                    Delivery::Code => address_ui::invalid_code(FlowKind::Verification),
                    Delivery::Link => address_ui::invalid_link(FlowKind::Verification),
                };
                let refusal = MethodError::Invalid(vec![Problem::form(message)]);
                return Err(self.refuse(flow, body, refusal).await);
            }
            Err(CodeError::Store(error)) => return Err(error.into()),
        };
        if let Some(identity_id) = code.identity_id {
            self.identities
                .mark_verified(identity_id, &code.address_via, &code.address)
                .await?;
            let identity = self.identities.get(identity_id).await?;
            let hooks = self
                .hooks
                .after_checks(&flow, code.delivery.as_str(), &identity)
                .await;
            if let Err(stop) = hooks {
                // The address is verified either way; the hook's refusal is shown.
                return Err(self.refuse(flow, body, stop.into()).await);
            }
        }
        let group = code.delivery.as_str();
        let next = flow
            .return_to
            .clone()
            .unwrap_or_else(|| self.settings.verification_return_url.clone());
        flow.state = state::PASSED_CHALLENGE.into();
        address_ui::verified(&mut flow.ui, group, &next);
        flow.ui.messages.push(address_ui::verification_done());
        flow.updated_at = self.clock.now();
        self.store.update(&flow).await?;
        Ok(flow)
    }

    /// Starts a verification for each of the identity's unverified addresses
    /// that `before` did not have (all of them after a registration): a flow
    /// of `flow_type` already waiting for the code or link sent now. Returns
    /// the `show_verification_ui` items of `continue_with`. Failures are
    /// logged: the registration or settings change they follow stands.
    pub async fn start_verifications(
        &self,
        identity: &Identity,
        before: Option<&Identity>,
        origin: &Flow,
    ) -> Vec<Value> {
        let Ok(parts) = self.address_flows() else {
            return Vec::new();
        };
        if !parts.verification.enabled {
            return Vec::new();
        }
        let known = |value: &str| {
            before.is_some_and(|b| b.verifiable_addresses.iter().any(|a| a.value == value))
        };
        let mut items = Vec::new();
        // Links go by email only; codes also by SMS.
        let by_sms = parts.verification.delivery == Delivery::Code;
        for address in &identity.verifiable_addresses {
            let carried = address.via == "email" || (by_sms && address.via == "sms");
            if address.verified || !carried || known(&address.value) {
                continue;
            }
            match self
                .start_verification(identity, &address.value, origin)
                .await
            {
                Ok(item) => items.push(item),
                Err(error) => tracing::error!(%error, "a verification could not be started"),
            }
        }
        items
    }

    async fn start_verification(
        &self,
        identity: &Identity,
        address: &str,
        origin: &Flow,
    ) -> Result<Value, FlowError> {
        let parts = self.address_flows()?;
        let delivery = parts.verification.delivery;
        let new = NewFlow {
            kind: FlowKind::Verification,
            flow_type: origin.flow_type,
            request_url: origin.request_url.clone(),
            return_to: origin.return_to.clone(),
            refresh: false,
            requested_aal: crate::aal::Aal::Aal1,
            csrf_token: None,
            identity_schema: None,
        };
        let mut flow = self.build_with_lifespan(&new, parts.verification.lifespan);
        // The registering browser's token, so it may submit this flow too.
        flow.csrf_token = match origin.flow_type {
            FlowType::Browser => origin.csrf_token.clone(),
            FlowType::Api => String::new(),
        };
        if let Some(node) = flow
            .ui
            .nodes
            .iter_mut()
            .find(|n| n.attributes.name == "csrf_token")
        {
            node.attributes.value = Some(Value::String(flow.csrf_token.clone()));
        }
        flow.state = state::SENT_EMAIL.into();
        flow.internal.insert("address".into(), json!(address));
        flow.internal
            .insert("active".into(), json!(delivery.as_str()));
        match delivery {
            Delivery::Code => address_ui::ask_code(&mut flow.ui, flow.kind, address),
            Delivery::Link => address_ui::link_sent(&mut flow.ui, address),
        }
        flow.ui
            .messages
            .push(address_ui::sent(FlowKind::Verification, delivery));
        self.store.create(&flow).await?;
        let expires_at = self.secret_expiry(&flow, delivery);
        let secret = self
            .replace_secret(
                &flow,
                Purpose::Verification,
                delivery,
                address,
                Some(identity.id),
                expires_at,
            )
            .await?;
        let shown = self.hooks.show_identity(identity);
        let item = json!({
            "action": "show_verification_ui",
            "flow": {
                "id": flow.id,
                "verifiable_address": address,
            },
        });
        self.dispatch(Dispatch {
            flow,
            purpose: Purpose::Verification,
            delivery,
            address: address.to_owned(),
            owner: Some((identity.clone(), shown)),
            expires_at,
            secret,
        })
        .await?;
        Ok(item)
    }
}
