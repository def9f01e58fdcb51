//! Recovery flows: a person who lost access proves they hold one of the
//! account's recovery addresses (by a code or a link sent there), is signed
//! in with a fresh session and continues in a settings flow to set a new
//! password.

use serde_json::Value;
use uuid::Uuid;

use super::address::Submitted;
use super::address_ui::{self, state};
use super::method::{MethodError, Problem};
use super::model::{Flow, FlowKind, FlowType};
use super::service::{CsrfEvidence, FlowError, FlowService, NewFlow, Requester};
use crate::onetime::{CodeError, Delivery, OneTimeCode, Purpose, Recipient};
use crate::session::Session;

/// What a recovery submission led to.
#[derive(Debug)]
pub enum RecoveryStep {
    /// A code or link was sent; the flow waits for it.
    Sent(Box<Flow>),
    /// The person proved the address: signed in, with a settings flow next.
    Recovered(Box<Recovered>),
}

/// A completed recovery.
#[derive(Debug)]
pub struct Recovered {
    /// The recovery flow, completed.
    pub flow: Flow,
    /// The new session.
    pub session: Session,
    /// Its clear-text token.
    pub token: String,
    /// The settings flow to continue in.
    pub settings: Flow,
}

/// What an administrator gets for an identity: a flow to send the person to,
/// and its code or link.
#[derive(Debug)]
pub struct AdminRecovery {
    /// The browser recovery flow made for it.
    pub flow: Flow,
    /// The code (code delivery) or link token (link delivery).
    pub secret: String,
}

impl FlowService {
    /// Submits a recovery flow: an address (a code or link is sent), or a
    /// code (checked; when right, the person is signed in).
    pub async fn submit_recovery(
        &self,
        id: Uuid,
        body: &Value,
        requester: Requester,
        csrf: &CsrfEvidence,
    ) -> Result<RecoveryStep, FlowError> {
        let flow = self.get(FlowKind::Recovery, id).await?;
        self.check_address_submission(&flow, body, csrf)?;
        if flow.state == state::PASSED_CHALLENGE {
            let done = Problem::form(address_ui::already_done(FlowKind::Recovery));
            return Err(self
                .refuse(flow, body, MethodError::Invalid(vec![done]))
                .await);
        }
        let (flow_read, Submitted { code, email }) = self.read_submission(flow, body).await?;
        let mut flow = flow_read;
        if !code.is_empty() && flow.state == state::SENT_EMAIL {
            return self.redeem_recovery(flow, &code, body, requester).await;
        }
        let Some(email) = email else {
            let missing = Problem::field("email", super::ui::Message::missing("email"));
            return Err(self
                .refuse(flow, body, MethodError::Invalid(vec![missing]))
                .await);
        };
        self.send_to_address(&mut flow, Purpose::Recovery, &email)
            .await?;
        Ok(RecoveryStep::Sent(Box::new(flow)))
    }

    /// Follows a recovery link (`?flow=&token=`): when the token is right,
    /// the person is signed in as with a code.
    pub async fn follow_recovery_link(
        &self,
        id: Uuid,
        token: &str,
        requester: Requester,
    ) -> Result<RecoveryStep, FlowError> {
        let flow = self.get(FlowKind::Recovery, id).await?;
        if flow.state == state::PASSED_CHALLENGE {
            let done = Problem::form(address_ui::already_done(FlowKind::Recovery));
            return Err(self
                .refuse(flow, &Value::Null, MethodError::Invalid(vec![done]))
                .await);
        }
        self.redeem_recovery(flow, token, &Value::Null, requester)
            .await
    }

    async fn redeem_recovery(
        &self,
        flow: Flow,
        secret: &str,
        body: &Value,
        requester: Requester,
    ) -> Result<RecoveryStep, FlowError> {
        let parts = self.address_flows()?;
        let code = match parts.codes.redeem(flow.id, Purpose::Recovery, secret).await {
            Ok(code) => code,
            Err(CodeError::Invalid) => {
                let delivery = parts.recovery.delivery;
                let message = match delivery {
                    Delivery::Code => address_ui::invalid_code(FlowKind::Recovery),
                    Delivery::Link => address_ui::invalid_link(FlowKind::Recovery),
                };
                let refusal = MethodError::Invalid(vec![Problem::form(message)]);
                return Err(self.refuse(flow, body, refusal).await);
            }
            Err(CodeError::Store(error)) => return Err(error.into()),
        };
        self.recovered(flow, &code, requester).await
    }

    /// Signs the owner of a redeemed secret in and opens their settings flow.
    async fn recovered(
        &self,
        mut flow: Flow,
        code: &OneTimeCode,
        requester: Requester,
    ) -> Result<RecoveryStep, FlowError> {
        let identity_id = code.identity_id.ok_or(FlowError::NotFound)?;
        let identity = self.identities.get(identity_id).await?;
        let method = match code.delivery {
            Delivery::Code => "code_recovery",
            Delivery::Link => "link_recovery",
        };
        if let Err(stop) = self
            .hooks
            .after_checks(&flow, code.delivery.as_str(), &identity)
            .await
        {
            return Err(self.refuse(flow, &Value::Null, stop.into()).await);
        }
        let (session, token) = self
            .sessions
            .issue(&identity, method, requester.device.clone())
            .await?;
        // Proving the address by recovery also verifies it, where it is verifiable.
        self.identities
            .mark_verified(identity.id, &code.address_via, &code.address)
            .await?;
        if self
            .hooks
            .revokes_other_sessions(FlowKind::Recovery, code.delivery.as_str())
        {
            self.sessions.revoke_others(&session).await?;
        }
        let settings = self
            .recovery_settings_flow(&flow, &session, &token, requester)
            .await?;
        flow.state = state::PASSED_CHALLENGE.into();
        flow.ui.clear_messages();
        flow.updated_at = self.clock.now();
        self.store.update(&flow).await?;
        Ok(RecoveryStep::Recovered(Box::new(Recovered {
            flow,
            session,
            token,
            settings,
        })))
    }

    /// The settings flow a recovery continues in, with the "recovered"
    /// message and how long the session may change the password without
    /// signing in again.
    async fn recovery_settings_flow(
        &self,
        flow: &Flow,
        session: &Session,
        token: &str,
        requester: Requester,
    ) -> Result<Flow, FlowError> {
        let new = NewFlow {
            kind: FlowKind::Settings,
            flow_type: flow.flow_type,
            request_url: flow.request_url.clone(),
            return_to: flow.return_to.clone(),
            refresh: false,
            requested_aal: crate::aal::Aal::Aal1,
            csrf_token: requester.csrf_cookie.clone(),
            identity_schema: None,
        };
        let owner = Requester {
            session: Some(session.clone()),
            session_token: Some(token.to_owned()),
            device: requester.device,
            csrf_cookie: requester.csrf_cookie,
        };
        let mut settings = self.create(new, &owner).await?;
        let max_age = self.settings.privileged_session_max_age;
        let until = session.authenticated_at
            + chrono::Duration::from_std(max_age).unwrap_or_else(|_| chrono::Duration::minutes(15));
        let minutes = max_age.as_secs_f64() / 60.0;
        settings.ui.messages.push(address_ui::recovery_done(
            minutes,
            &crate::time::format(until),
        ));
        self.store.update(&settings).await?;
        Ok(settings)
    }

    /// An administrator's recovery for an identity: a browser recovery flow,
    /// already waiting for its secret, which is returned instead of sent.
    pub async fn admin_recovery(
        &self,
        identity_id: Uuid,
        delivery: Delivery,
        lifespan: std::time::Duration,
        request_url: String,
        return_to: Option<String>,
    ) -> Result<AdminRecovery, FlowError> {
        let parts = self.address_flows()?;
        let identity = self.identities.get(identity_id).await?;
        let new = NewFlow {
            kind: FlowKind::Recovery,
            flow_type: FlowType::Browser,
            request_url,
            return_to,
            refresh: false,
            requested_aal: crate::aal::Aal::Aal1,
            csrf_token: None,
            identity_schema: None,
        };
        let mut flow = self.build_with_lifespan(&new, lifespan);
        // Opened by whoever the administrator hands it to: no browser cookie
        // exists to bind it to.
        flow.internal.insert("skip_csrf".into(), Value::Bool(true));
        flow.internal
            .insert("active".into(), Value::String(delivery.as_str().into()));
        flow.state = state::SENT_EMAIL.into();
        let address = identity
            .recovery_addresses
            .first()
            .map(|a| (a.via.clone(), a.value.clone()))
            .unwrap_or_else(|| ("email".into(), String::new()));
        if delivery == Delivery::Code {
            address_ui::ask_code(&mut flow.ui, FlowKind::Recovery, &address.1);
            flow.ui.nodes.retain(|n| n.attributes.name != "email");
        }
        self.store.create(&flow).await?;
        let recipient = Recipient {
            via: address.0,
            address: address.1,
            identity_id: Some(identity_id),
        };
        let secret = parts
            .codes
            .issue(
                flow.id,
                Purpose::Recovery,
                delivery,
                &recipient,
                flow.expires_at,
            )
            .await?;
        Ok(AdminRecovery { flow, secret })
    }
}
