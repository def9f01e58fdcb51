//! What recovery and verification flows share: their settings, and sending
//! a code or link to an address.
//!
//! Whether an address belongs to an identity never shows in the answer: the
//! flow says "sent" either way, and what differs (storing a secret, queueing
//! a message) happens after the answer, so the time does not tell either.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::address_ui::{self, state};
use super::method::Problem;
use super::model::{Flow, FlowKind};
use super::service::{FlowError, FlowService};
use crate::courier::{Channel, Outbox, Outgoing, TemplateType};
use crate::identity::Identity;
use crate::onetime::{Delivery, OneTimeCodes, Purpose, Recipient};
use crate::store::AddressKind;

/// Settings of one address flow (recovery or verification).
#[derive(Debug, Clone)]
pub struct AddressFlowSettings {
    /// Whether the flow is offered.
    pub enabled: bool,
    /// Code or link.
    pub delivery: Delivery,
    /// How long a flow can be submitted.
    pub lifespan: Duration,
    /// Whether an unknown address gets a message saying so.
    pub notify_unknown: bool,
}

/// Everything recovery and verification flows need beyond the flow machine.
#[derive(Clone)]
pub struct AddressFlows {
    /// Recovery settings.
    pub recovery: AddressFlowSettings,
    /// Verification settings.
    pub verification: AddressFlowSettings,
    /// How long a code works.
    pub code_lifespan: Duration,
    /// How long a link works.
    pub link_lifespan: Duration,
    /// The base URL of links, ending in `/`.
    pub link_base_url: String,
    /// Where secrets are kept.
    pub codes: OneTimeCodes,
    /// Where messages go.
    pub outbox: Arc<dyn Outbox>,
}

impl AddressFlows {
    /// The settings of `kind` (recovery or verification).
    pub fn settings(&self, kind: FlowKind) -> &AddressFlowSettings {
        match kind {
            FlowKind::Recovery => &self.recovery,
            _ => &self.verification,
        }
    }
}

/// A checked address from a submission's `email` field, or the problem with
/// it. Where `phones` allows (verification by code), the field may also hold
/// a phone number in international form (`+` and digits), as with Kratos.
fn submitted_address(body: &Value, phones: bool) -> Result<Option<String>, Box<Problem>> {
    let Some(raw) = body.get("email").and_then(Value::as_str) else {
        return Ok(None);
    };
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if phones && value.starts_with('+') {
        let phone = crate::schema::extension::normalize_address("sms", value);
        if crate::courier::outbox::check_recipient(Channel::Sms, &phone).is_ok()
            && phone.len() <= 32
        {
            return Ok(Some(phone));
        }
    }
    let plausible = value.len() <= 254
        && !value.chars().any(|c| c.is_control() || c.is_whitespace())
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if plausible {
        Ok(Some(value.to_owned()))
    } else {
        Err(Box::new(Problem::field(
            "email",
            address_ui::not_an_email(value),
        )))
    }
}

/// What a recovery or verification submission carries: a code (empty when
/// none) and a checked address (if any): an email address or, for
/// verification by code, a phone number.
pub(super) struct Submitted {
    pub(super) code: String,
    pub(super) email: Option<String>,
}

impl FlowService {
    /// Reads a recovery or verification submission; a malformed address
    /// refuses it with the problem on the form.
    pub(super) async fn read_submission(
        &self,
        flow: Flow,
        body: &Value,
    ) -> Result<(Flow, Submitted), FlowError> {
        let code = body
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned();
        let phones = flow.kind == FlowKind::Verification
            && self
                .address
                .as_deref()
                .is_some_and(|parts| parts.verification.delivery == Delivery::Code);
        match submitted_address(body, phones) {
            Ok(email) => Ok((flow, Submitted { code, email })),
            Err(problem) => Err(self
                .refuse(
                    flow,
                    body,
                    super::method::MethodError::Invalid(vec![*problem]),
                )
                .await),
        }
    }
}

/// What a message about `purpose` by `delivery` is, for a known address or not.
fn template(purpose: Purpose, delivery: Delivery, known: bool) -> TemplateType {
    match (purpose, delivery, known) {
        (Purpose::Recovery, Delivery::Code, true) => TemplateType::RecoveryCodeValid,
        (Purpose::Recovery, Delivery::Code, false) => TemplateType::RecoveryCodeInvalid,
        (Purpose::Recovery, Delivery::Link, true) => TemplateType::RecoveryValid,
        (Purpose::Recovery, Delivery::Link, false) => TemplateType::RecoveryInvalid,
        (Purpose::Verification, Delivery::Code, true) => TemplateType::VerificationCodeValid,
        (Purpose::Verification, Delivery::Code, false) => TemplateType::VerificationCodeInvalid,
        (Purpose::Verification, Delivery::Link, true) => TemplateType::VerificationValid,
        (Purpose::Verification, Delivery::Link, false) => TemplateType::VerificationInvalid,
        (Purpose::Login, _, _) => TemplateType::LoginCodeValid,
        (Purpose::Registration, _, _) => TemplateType::RegistrationCodeValid,
    }
}

/// One message to send for a flow: to whom, and (for a known address) the
/// identity and its data as templates see it.
pub(super) struct Dispatch {
    pub(super) flow: Flow,
    pub(super) purpose: Purpose,
    pub(super) delivery: Delivery,
    pub(super) address: String,
    pub(super) owner: Option<(Identity, Value)>,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) secret: String,
}

impl FlowService {
    /// The address flow parts, or `Disabled` when they are not set up.
    pub(super) fn address_flows(&self) -> Result<&AddressFlows, FlowError> {
        self.address
            .as_deref()
            .ok_or(FlowError::Disabled(FlowKind::Recovery))
    }

    /// Sends a code or link for `flow` to `address` and moves the flow to
    /// `sent_email` with the matching form. The secret and the message are
    /// made after this returns, for known and unknown addresses alike.
    pub(super) async fn send_to_address(
        &self,
        flow: &mut Flow,
        purpose: Purpose,
        address: &str,
    ) -> Result<(), FlowError> {
        let parts = self.address_flows()?;
        let delivery = parts.settings(flow.kind).delivery;
        let kind = match purpose {
            Purpose::Recovery => AddressKind::Recovery,
            Purpose::Verification | Purpose::Login | Purpose::Registration => {
                AddressKind::Verifiable
            }
        };
        let via = Channel::of_address(address).id();
        let address = crate::schema::extension::normalize_address(via, address);
        let owner = self
            .identities
            .find_by_address(kind, via, &address)
            .await?
            .map(|identity| {
                let shown = self.hooks.show_identity(&identity);
                (identity, shown)
            });
        flow.state = state::SENT_EMAIL.into();
        flow.internal.insert("address".into(), json!(address));
        flow.internal
            .insert("active".into(), json!(delivery.as_str()));
        match delivery {
            Delivery::Code => address_ui::ask_code(&mut flow.ui, flow.kind, &address),
            Delivery::Link => address_ui::link_sent(&mut flow.ui, &address),
        }
        flow.ui.messages.push(address_ui::sent(flow.kind, delivery));
        flow.updated_at = self.clock.now();
        self.store.update(flow).await?;
        let expires_at = self.secret_expiry(flow, delivery);
        let secret = self
            .replace_secret(
                flow,
                purpose,
                delivery,
                &address,
                owner.as_ref().map(|o| o.0.id),
                expires_at,
            )
            .await?;
        let dispatch = Dispatch {
            flow: flow.clone(),
            purpose,
            delivery,
            address,
            owner,
            expires_at,
            secret,
        };
        let machine = self.clone();
        tokio::spawn(async move {
            if let Err(error) = machine.dispatch(dispatch).await {
                tracing::error!(%error, "a recovery or verification message could not be sent");
            }
        });
        Ok(())
    }

    /// When a secret sent now for `flow` stops working: the method's
    /// lifespan, never past the flow.
    pub(super) fn secret_expiry(&self, flow: &Flow, delivery: Delivery) -> DateTime<Utc> {
        let lifespan = match self.address.as_deref() {
            Some(parts) if delivery == Delivery::Code => parts.code_lifespan,
            Some(parts) => parts.link_lifespan,
            None => std::time::Duration::from_secs(3600),
        };
        let lifespan =
            chrono::Duration::from_std(lifespan).unwrap_or_else(|_| chrono::Duration::hours(1));
        (self.clock.now() + lifespan).min(flow.expires_at)
    }

    /// Voids the flow's earlier secrets and stores a new one, for a known
    /// address or not (the same statements either way, so the time tells
    /// nothing; an unknown address's secret never redeems).
    pub(super) async fn replace_secret(
        &self,
        flow: &Flow,
        purpose: Purpose,
        delivery: Delivery,
        address: &str,
        identity_id: Option<uuid::Uuid>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, FlowError> {
        let parts = self.address_flows()?;
        parts.codes.void(flow.id).await?;
        let recipient = Recipient {
            via: Channel::of_address(address).id().into(),
            address: address.to_owned(),
            identity_id,
        };
        Ok(parts
            .codes
            .issue(flow.id, purpose, delivery, &recipient, expires_at)
            .await?)
    }

    /// Queues the message carrying a secret to a known address; for an
    /// unknown address, the "unknown address" message when asked to.
    pub(super) async fn dispatch(&self, mut dispatch: Dispatch) -> Result<(), FlowError> {
        let parts = self.address_flows()?;
        let address = dispatch.address.clone();
        let mut data = json!({
            "To": address,
            "RequestURL": dispatch.flow.request_url,
            "TransientPayload": {},
        });
        let owner = dispatch.owner.take();
        let known = owner.is_some();
        let channel = Channel::of_address(&address);
        if let Some((identity, shown)) = owner {
            let minutes = (dispatch.expires_at - self.clock.now())
                .num_minutes()
                .max(0);
            data["Identity"] = shown;
            data["ExpiresInMinutes"] = json!(minutes);
            dispatch.fill_secret(&mut data, &parts.link_base_url);
            if dispatch.purpose == Purpose::Verification {
                self.identities
                    .mark_sent(identity.id, channel.id(), &address)
                    .await?;
            }
        } else if !parts.settings(dispatch.flow.kind).notify_unknown {
            return Ok(());
        }
        let message = Outgoing {
            template: template(dispatch.purpose, dispatch.delivery, known),
            channel,
            recipient: address,
            data,
        };
        parts
            .outbox
            .queue(message)
            .await
            .map_err(|e| FlowError::HookFailed(e.to_string()))?;
        Ok(())
    }
}

impl Dispatch {
    /// Puts the secret into the template data under Kratos's names, with
    /// links starting at `link_base_url`.
    fn fill_secret(&self, data: &mut Value, link_base_url: &str) {
        let (purpose, delivery, secret) = (self.purpose, self.delivery, &self.secret);
        let path = match purpose {
            Purpose::Recovery => "recovery",
            Purpose::Verification => "verification",
            Purpose::Login => "login",
            Purpose::Registration => "registration",
        };
        let param = match delivery {
            Delivery::Code => "code",
            Delivery::Link => "token",
        };
        let url = format!(
            "{link_base_url}self-service/{path}?flow={}&{param}={secret}",
            self.flow.id
        );
        match (purpose, delivery) {
            (Purpose::Recovery, Delivery::Code) => data["RecoveryCode"] = json!(secret),
            (Purpose::Recovery, Delivery::Link) => data["RecoveryURL"] = json!(url),
            (Purpose::Verification, Delivery::Code) => {
                data["VerificationCode"] = json!(secret);
                data["VerificationURL"] = json!(url);
            }
            (Purpose::Verification, Delivery::Link) => data["VerificationURL"] = json!(url),
            (Purpose::Login, _) => data["LoginCode"] = json!(secret),
            (Purpose::Registration, _) => data["RegistrationCode"] = json!(secret),
        }
    }
}
