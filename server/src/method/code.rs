//! The code method: passwordless sign-in and sign-up with a six-digit code
//! sent to the account's email address, or by SMS to its phone number when
//! the schema marks a phone trait as a code identifier with `via: sms`
//! (`selfservice.methods.code.passwordless_enabled`).
//!
//! Both flows take two submissions. The first names the account (an
//! identifier to sign in, traits to sign up); a code goes to its address and
//! the flow moves to `sent_email`, its form asking for the code. The second
//! carries the code. Codes are one-time secrets of the flow ([`OneTimeCodes`]):
//! stored as digests, used once, voided after the configured number of wrong
//! guesses and replaced when a new one is sent.
//!
//! An identifier no identity has gets the same answer after the same work
//! (lookups and a stored secret that never redeems); only the message is
//! left out, and messages are queued after the answer.
//!
//! With `mfa_enabled` a code is also a second factor: a login flow asking
//! for `aal2` offers one button per code address of the signed-in account
//! (`address`); the chosen address gets a code, and the code steps the
//! session up (its step is recorded as `code` at `aal2`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::second_factor;
use crate::aal::Aal;
use crate::courier::{Channel, Outbox, Outgoing, TemplateType};
use crate::flow::trait_nodes;
use crate::flow::ui::{Message, Node, Ui};
use crate::flow::{
    Flow, FlowKind, LoginSubmission, Method, MethodError, PrePersist, Problem,
    RegistrationSubmission,
};
use crate::identity::{CredentialType, Identity, IdentityDraft, IdentityService, State};
use crate::onetime::{CodeError, Delivery, OneTimeCode, OneTimeCodes, Purpose, Recipient};
use crate::schema::SchemaHandle;
use crate::session::Device;
use crate::store::AddressKind;
use crate::throttle::Throttle;
use crate::time::Clock;

/// The flow state after a code went out.
const SENT_EMAIL: &str = "sent_email";
/// Keys of the flow's internal context: the identifier a sign-in code was
/// sent for, the traits a sign-up code was sent for, and the address a
/// second-factor code was sent to.
const IDENTIFIER: &str = "code_identifier";
const TRAITS: &str = "code_traits";
const ADDRESS: &str = "code_address";
/// The longest identifier looked up (an email address has at most 254
/// bytes, and so has the address column of codes).
const MAX_IDENTIFIER_BYTES: usize = 254;
/// The longest code checked (codes have six digits).
const MAX_CODE_BYTES: usize = 16;

/// What the code method needs besides identities and schemas.
#[derive(Clone)]
pub struct CodeSettings {
    /// Where codes are kept.
    pub codes: OneTimeCodes,
    /// Where messages go.
    pub outbox: Arc<dyn Outbox>,
    /// The brute-force throttle of sign-ins (shared with passwords).
    pub throttle: Arc<Throttle>,
    /// How long a code works (never past its flow).
    pub lifespan: Duration,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Whether codes sign in and sign up (`passwordless_enabled`).
    pub passwordless: bool,
    /// Whether a code steps a session up to `aal2` (`mfa_enabled`).
    pub mfa: bool,
}

/// The code method for passwordless sign-in and sign-up.
pub struct CodeMethod {
    identities: IdentityService,
    schemas: SchemaHandle,
    settings: CodeSettings,
}

/// Where a code goes, and what its message says.
struct CodeFor {
    purpose: Purpose,
    address: String,
    owner: Option<Identity>,
    traits: Option<Value>,
}

impl CodeMethod {
    /// The method over the identity service and schemas.
    pub fn new(identities: IdentityService, schemas: SchemaHandle, settings: CodeSettings) -> Self {
        Self {
            identities,
            schemas,
            settings,
        }
    }

    /// The identity an identifier names, and the identifier as stored: its
    /// `code` credential identifier, else one of its verifiable addresses
    /// (an email address, or a phone number for SMS).
    async fn find(&self, identifier: &str) -> Result<(Option<Identity>, String), MethodError> {
        let normalized = crate::schema::extension::normalize_identifier(identifier);
        let found = self
            .identities
            .find_by_identifier(CredentialType::Code, &normalized)
            .await?;
        if found.is_some() {
            return Ok((found, normalized));
        }
        let address = normalized_address(identifier);
        let channel = Channel::of_address(&address);
        if channel == Channel::Sms
            && let Some(found) = self
                .identities
                .find_by_identifier(CredentialType::Code, &address)
                .await?
        {
            return Ok((Some(found), address));
        }
        let found = self
            .identities
            .find_by_address(AddressKind::Verifiable, channel.id(), &address)
            .await?;
        Ok((found, address))
    }

    /// Replaces the flow's code with a new one for `send.address` and
    /// queues its message after returning (known recipients only).
    async fn send(&self, flow: &Flow, send: CodeFor) -> Result<(), MethodError> {
        let codes = &self.settings.codes;
        let stored = |e: crate::store::StoreError| MethodError::Identity(e.into());
        codes.void(flow.id).await.map_err(stored)?;
        let now = self.settings.clock.now();
        let lifespan = chrono::Duration::from_std(self.settings.lifespan)
            .unwrap_or_else(|_| chrono::Duration::hours(1));
        let expires_at = (now + lifespan).min(flow.expires_at);
        // A sign-up code names no identity: the one being built is not stored.
        let identity_id = match send.purpose {
            Purpose::Registration => None,
            _ => send.owner.as_ref().map(|i| i.id),
        };
        let channel = Channel::of_address(&send.address);
        let recipient = Recipient {
            via: channel.id().into(),
            address: send.address.clone(),
            identity_id,
        };
        let secret = codes
            .issue(
                flow.id,
                send.purpose,
                Delivery::Code,
                &recipient,
                expires_at,
            )
            .await
            .map_err(stored)?;
        let Some(owner) = send.owner else {
            return Ok(());
        };
        let mut data = json!({
            "To": send.address,
            "RequestURL": flow.request_url,
            "TransientPayload": {},
            "ExpiresInMinutes": (expires_at - now).num_minutes().max(0),
            "Identity": {"id": owner.id, "schema_id": owner.schema_id, "traits": owner.traits},
        });
        let template = match send.purpose {
            Purpose::Registration => {
                data["RegistrationCode"] = json!(secret);
                data["Traits"] = send.traits.unwrap_or_else(|| json!({}));
                TemplateType::RegistrationCodeValid
            }
            _ => {
                data["LoginCode"] = json!(secret);
                TemplateType::LoginCodeValid
            }
        };
        let message = Outgoing {
            template,
            channel,
            recipient: send.address,
            data,
        };
        let outbox = self.settings.outbox.clone();
        tokio::spawn(async move {
            if let Err(error) = outbox.queue(message).await {
                tracing::error!(%error, "a sign-in or sign-up code could not be queued");
            }
        });
        Ok(())
    }

    /// Sign-in, first step: a code to the identifier's account (or, for an
    /// unknown identifier, the same answer and no message).
    async fn send_login(&self, flow: &Flow, identifier: &str) -> Result<Flow, MethodError> {
        let (owner, normalized) = self.find(identifier).await?;
        let address = owner
            .as_ref()
            .and_then(|identity| code_address(identity, &normalized))
            .unwrap_or_else(|| normalized.clone());
        self.sent_login_code(flow, address, owner, (IDENTIFIER, "identifier"), identifier)
            .await
    }

    /// Sends a sign-in code to `address` and moves the flow to `sent_email`,
    /// keeping `shown` (what the person typed or chose) in its internal
    /// context and in the form's hidden field, both named by `kept`.
    async fn sent_login_code(
        &self,
        flow: &Flow,
        address: String,
        owner: Option<Identity>,
        kept: (&str, &str),
        shown: &str,
    ) -> Result<Flow, MethodError> {
        let send = CodeFor {
            purpose: Purpose::Login,
            address,
            owner,
            traits: None,
        };
        self.send(flow, send).await?;
        let mut next = flow.clone();
        next.state = SENT_EMAIL.into();
        next.internal.insert("active".into(), json!("code"));
        next.internal.insert(kept.0.into(), json!(shown));
        ask_code(&mut next.ui, kept.1, shown);
        Ok(next)
    }

    /// Counts a request that sends a code against the client's budget.
    fn admit_client(&self, device: &Device) -> Result<(), MethodError> {
        self.settings
            .throttle
            .admit_address(device.ip_address.as_deref())?;
        Ok(())
    }

    /// Sign-in, second step: the code proves the identity.
    async fn redeem_login(
        &self,
        flow: &Flow,
        code: Option<&str>,
        device: &Device,
    ) -> Result<Identity, MethodError> {
        let code = checked_code(code)?;
        let identifier = flow.internal_text(IDENTIFIER).unwrap_or_default();
        let ip = device.ip_address.as_deref();
        self.settings.throttle.admit(identifier, ip)?;
        let redeemed = self.redeem_login_code(flow, code).await?;
        let invalid = || MethodError::Invalid(vec![Problem::form(invalid_login_code())]);
        let Some(id) = redeemed.identity_id else {
            return Err(invalid());
        };
        let identity = self.identities.get(id).await?;
        if identity.state != State::Active {
            return Err(invalid());
        }
        self.settings.throttle.succeeded(identifier);
        // The code reached the address, which proves it.
        self.identities
            .mark_verified(id, &redeemed.address_via, &redeemed.address)
            .await?;
        Ok(self.identities.get(id).await?)
    }

    /// Sign-up, first step: traits checked, a code to the new address.
    async fn send_registration(&self, flow: &Flow, body: &Value) -> Result<Flow, MethodError> {
        let traits = match body.get("traits") {
            Some(Value::Object(t)) => Value::Object(t.clone()),
            _ => json!({}),
        };
        let identity = self.build(flow, traits.clone()).await?;
        let Some(address) = identity
            .credentials
            .get(&CredentialType::Code)
            .and_then(|c| preferred_address(&c.identifiers))
        else {
            return Err(MethodError::Invalid(vec![Problem::form(no_code_address())]));
        };
        let send = CodeFor {
            purpose: Purpose::Registration,
            address,
            owner: Some(identity),
            traits: Some(traits.clone()),
        };
        self.send(flow, send).await?;
        let mut next = flow.clone();
        next.state = SENT_EMAIL.into();
        next.internal.insert("active".into(), json!("code"));
        next.internal.insert(TRAITS.into(), traits.clone());
        ask_registration_code(&mut next.ui, &json!({ "traits": traits }));
        Ok(next)
    }

    /// Sign-up, second step: the code proves the address; the identity is
    /// built from the traits the code was sent for.
    async fn redeem_registration(
        &self,
        flow: &Flow,
        body: &Value,
        pre_persist: &dyn PrePersist,
    ) -> Result<Identity, MethodError> {
        let code = checked_code(text_field(body, "code"))?;
        let traits = flow.internal.get(TRAITS).cloned().unwrap_or(Value::Null);
        if let Some(submitted) = body.get("traits")
            && submitted != &traits
        {
            return Err(MethodError::Invalid(vec![Problem::form(traits_changed())]));
        }
        let invalid = || MethodError::Invalid(vec![Problem::form(invalid_registration_code())]);
        let redeemed = self
            .settings
            .codes
            .redeem(flow.id, Purpose::Registration, code)
            .await
            .map_err(|e| refused_code(e, invalid()))?;
        let mut identity = self.build(flow, traits).await?;
        let now = self.settings.clock.now();
        for address in &mut identity.verifiable_addresses {
            if address.via == redeemed.address_via && address.value == redeemed.address {
                address.verified = true;
                address.verified_at = Some(now);
                address.status = "completed".into();
            }
        }
        super::insert_new(&self.identities, identity, pre_persist).await
    }

    /// Second factor, first step: a code to the chosen address of the
    /// signed-in account; second step: the code steps the session up.
    async fn second_factor(
        &self,
        flow: &Flow,
        identity_id: uuid::Uuid,
        (body, device): (&Value, &Device),
    ) -> Result<Identity, MethodError> {
        if flow.state == SENT_EMAIL && !wants_resend(body) {
            return self
                .redeem_second_factor(flow, identity_id, body, device)
                .await;
        }
        let identity = match &flow.identity {
            Some(identity) => identity.clone(),
            None => self.identities.get(identity_id).await?,
        };
        let submitted = match flow.internal_text(ADDRESS) {
            Some(kept) if flow.state == SENT_EMAIL => kept.to_owned(),
            _ => checked_text(body, "address")?.to_owned(),
        };
        let wanted = normalized_address(&submitted);
        let Some(address) = code_addresses(&identity).into_iter().find(|a| *a == wanted) else {
            return Err(MethodError::Invalid(vec![Problem::field(
                "address",
                no_code_account(),
            )]));
        };
        self.admit_client(device)?;
        let next = self
            .sent_login_code(
                flow,
                address.clone(),
                Some(identity),
                (ADDRESS, "address"),
                &address,
            )
            .await?;
        Err(MethodError::NextStep(Box::new(next)))
    }

    /// Uses the flow's sign-in code if `code` is it; a wrong, used or
    /// expired code is the form's 4010008.
    async fn redeem_login_code(&self, flow: &Flow, code: &str) -> Result<OneTimeCode, MethodError> {
        let invalid = MethodError::Invalid(vec![Problem::form(invalid_login_code())]);
        self.settings
            .codes
            .redeem(flow.id, Purpose::Login, code)
            .await
            .map_err(|e| refused_code(e, invalid))
    }

    /// Second factor, second step: the code was sent for this flow to an
    /// address of the identity the flow steps up; guesses count against the
    /// identity's throttle.
    async fn redeem_second_factor(
        &self,
        flow: &Flow,
        identity_id: uuid::Uuid,
        body: &Value,
        device: &Device,
    ) -> Result<Identity, MethodError> {
        let code = checked_code(text_field(body, "code"))?;
        let throttle = &self.settings.throttle;
        let key = second_factor::admit_guess(throttle, "code", identity_id, Some(device))?;
        let redeemed = self.redeem_login_code(flow, code).await?;
        if redeemed.identity_id != Some(identity_id) {
            return Err(MethodError::Invalid(vec![Problem::form(
                invalid_login_code(),
            )]));
        }
        throttle.succeeded(&key);
        self.identities
            .mark_verified(identity_id, &redeemed.address_via, &redeemed.address)
            .await?;
        Ok(self.identities.get(identity_id).await?)
    }

    /// A new identity with these traits, validated, not stored.
    async fn build(&self, flow: &Flow, traits: Value) -> Result<Identity, MethodError> {
        let draft = IdentityDraft {
            traits,
            ..IdentityDraft::default()
        };
        super::prepare(&self.identities, flow, draft).await
    }
}

/// The address of an identity's `code` credential that matches the
/// identifier, else its preferred one.
fn code_address(identity: &Identity, identifier: &str) -> Option<String> {
    let identifiers = &identity.credentials.get(&CredentialType::Code)?.identifiers;
    identifiers
        .iter()
        .find(|a| a.as_str() == identifier)
        .cloned()
        .or_else(|| preferred_address(identifiers))
}

/// The address a code goes to among several: the first email address, else
/// the first phone number.
fn preferred_address(identifiers: &[String]) -> Option<String> {
    identifiers
        .iter()
        .find(|a| Channel::of_address(a) == Channel::Email)
        .or_else(|| identifiers.first())
        .cloned()
}

/// An identity's code addresses, sorted: what a second-factor code can go to.
fn code_addresses(identity: &Identity) -> Vec<String> {
    let mut addresses = identity
        .credentials
        .get(&CredentialType::Code)
        .map(|c| c.identifiers.clone())
        .unwrap_or_default();
    addresses.sort();
    addresses.dedup();
    addresses
}

/// A typed address as stored: an email address lower-cased, a phone number
/// as dialled without spaces, dashes or brackets.
fn normalized_address(raw: &str) -> String {
    let normalized = crate::schema::extension::normalize_identifier(raw);
    match Channel::of_address(&normalized) {
        Channel::Email => normalized,
        Channel::Sms => crate::schema::extension::normalize_address("sms", raw),
    }
}

fn text_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The submitted code, or why it cannot be one.
fn checked_code(code: Option<&str>) -> Result<&str, MethodError> {
    let Some(code) = code else {
        return Err(MethodError::Invalid(vec![Problem::field(
            "code",
            Message::missing("code"),
        )]));
    };
    if code.len() > MAX_CODE_BYTES || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MethodError::Invalid(vec![Problem::field(
            "code",
            Message::error(
                4000001,
                "The code must consist of digits only.",
                json!({"reason": "The code must consist of digits only."}),
            ),
        )]));
    }
    Ok(code)
}

/// The submitted identifier or address (field `name`), or why it cannot
/// name an account.
fn checked_text<'a>(body: &'a Value, name: &str) -> Result<&'a str, MethodError> {
    let Some(text) = text_field(body, name) else {
        return Err(MethodError::Invalid(vec![Problem::field(
            name,
            Message::missing(name),
        )]));
    };
    if text.len() > MAX_IDENTIFIER_BYTES || text.chars().any(char::is_control) {
        let reason = "The identifier is not a valid address.";
        return Err(MethodError::Invalid(vec![Problem::field(
            name,
            Message::error(4000001, reason, json!({ "reason": reason })),
        )]));
    }
    Ok(text)
}

/// A refused code as the form shows it; a storage failure passes through.
fn refused_code(error: CodeError, invalid: MethodError) -> MethodError {
    match error {
        CodeError::Invalid => invalid,
        CodeError::Store(error) => MethodError::Identity(error.into()),
    }
}

/// Whether a submission asks for another code instead of checking one.
fn wants_resend(body: &Value) -> bool {
    body.get("resend").and_then(Value::as_str) == Some("code")
}

/// 4010008.
fn invalid_login_code() -> Message {
    Message::error(
        4010008,
        "The login code is invalid or has already been used. Please try again.",
        json!({}),
    )
}

/// 4040003.
fn invalid_registration_code() -> Message {
    Message::error(
        4040003,
        "The registration code is invalid or has already been used. Please try again.",
        json!({}),
    )
}

/// 4000036: the second sign-up step changed the traits.
fn traits_changed() -> Message {
    Message::error(
        4000036,
        "The provided traits do not match the traits previously associated with this flow.",
        json!({}),
    )
}

/// 4000035: the address is none of the account's code addresses.
fn no_code_account() -> Message {
    Message::error(
        4000035,
        "This account does not exist or has not setup sign in with code.",
        json!({}),
    )
}

/// The traits hold no address a code could be sent to.
fn no_code_address() -> Message {
    let reason = "Could not find any login identifiers. Did you forget to set them?";
    Message::error(4000001, reason, json!({ "reason": reason }))
}

/// The code input, the method and the buttons of a "code sent" form.
fn code_nodes(ui: &mut Ui, label: Message) {
    ui.nodes.push(
        Node::input("code", "code", "text")
            .required()
            .autocomplete("one-time-code")
            .label(label),
    );
    ui.nodes
        .push(Node::input("code", "method", "hidden").value(json!("code")));
    ui.nodes
        .push(Node::submit("code", Message::info(1070009, "Continue")));
    ui.nodes.push(
        Node::input("code", "resend", "submit")
            .value(json!("code"))
            .label(Message::info(1070008, "Resend code")),
    );
}

/// The sign-in form after a code went out: what it went to kept (hidden,
/// as `identifier` when signing in, `address` when stepping up), the code
/// field, a button for another code.
fn ask_code(ui: &mut Ui, name: &str, sent_to: &str) {
    ui.nodes.retain(|n| n.attributes.name == "csrf_token");
    ui.clear_messages();
    ui.nodes.push(
        Node::input("code", name, "hidden")
            .value(json!(sent_to))
            .label(send_code_to(sent_to)),
    );
    code_nodes(ui, Message::info(1070013, "Login code"));
    ui.messages.push(Message::info(
        1010025,
        "A code was sent to your address. If you didn't receive it, please try again.",
    ));
}

/// 1010023: the label of a button or field naming where a code goes.
fn send_code_to(address: &str) -> Message {
    let channel = Channel::of_address(address);
    Message {
        context: Some(json!({"address": address, "channel": channel.id()})),
        ..Message::info(1010023, format!("Send code to {address}"))
    }
}

/// The sign-up form after a code went out: the traits kept (hidden, so the
/// second step carries them), the code field, a button for another code.
fn ask_registration_code(ui: &mut Ui, submitted: &Value) {
    ui.refill(submitted);
    ui.nodes
        .retain(|n| n.attributes.name == "csrf_token" || n.attributes.name.starts_with("traits."));
    ui.clear_messages();
    for node in &mut ui.nodes {
        if node.attributes.name.starts_with("traits.") {
            node.attributes.input_type = "hidden".into();
        }
    }
    code_nodes(ui, Message::info(1070012, "Registration code"));
    ui.messages.push(Message::info(
        1040005,
        "An email containing a code has been sent to the email address you provided. \
         If you have not received an email, check the spelling of the address and retry \
         the registration.",
    ));
}

#[async_trait]
impl Method for CodeMethod {
    fn id(&self) -> &'static str {
        "code"
    }

    fn is_second_factor(&self) -> bool {
        self.settings.mfa
    }

    fn claims(&self, body: &Value) -> bool {
        self.settings.mfa && body.get("address").is_some_and(Value::is_string)
    }

    fn populate_second_factor(&self, identity: &Identity, ui: &mut Ui) {
        if !self.settings.mfa {
            return;
        }
        for address in code_addresses(identity) {
            ui.nodes.push(
                Node::input("code", "address", "submit")
                    .value(json!(address))
                    .label(send_code_to(&address)),
            );
        }
    }

    fn populate_identified(&self, _identity: Option<&Identity>, ui: &mut Ui) {
        // Any account may get a code: to a code identifier or, failing
        // that, to a verifiable address.
        if self.settings.passwordless {
            ui.nodes.push(Node::submit(
                "code",
                Message::info(1010015, "Send sign in code"),
            ));
        }
    }

    fn populate(&self, flow: &Flow, ui: &mut Ui) {
        if !self.settings.passwordless {
            return;
        }
        let has = |ui: &Ui, prefix: &str| {
            ui.nodes
                .iter()
                .any(|n| n.attributes.name.starts_with(prefix))
        };
        match flow.kind {
            FlowKind::Login => {
                if !has(ui, "identifier") {
                    ui.nodes.push(
                        Node::input("default", "identifier", "text")
                            .value(json!(""))
                            .required()
                            .label(Message::info(1070004, "ID")),
                    );
                }
                ui.nodes.push(Node::submit(
                    "code",
                    Message::info(1010015, "Send sign in code"),
                ));
            }
            FlowKind::Registration => {
                if !has(ui, "traits.") {
                    let schema = flow.identity_schema();
                    let traits = trait_nodes::trait_nodes(&self.schemas, schema, "default", None);
                    ui.nodes.extend(traits);
                }
                ui.nodes.push(Node::submit(
                    "code",
                    Message::info(1040006, "Send sign up code"),
                ));
            }
            FlowKind::Settings | FlowKind::Recovery | FlowKind::Verification => {}
        }
    }

    async fn login(&self, login: &LoginSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, body, device) = (login.flow, login.body, login.device);
        if flow.requested_aal() == Aal::Aal2 {
            let identity_id = second_factor::step_up_identity(flow)?;
            return self.second_factor(flow, identity_id, (body, device)).await;
        }
        if !self.settings.passwordless {
            return Err(MethodError::Unsupported);
        }
        if flow.state == SENT_EMAIL && !wants_resend(body) {
            return self
                .redeem_login(flow, text_field(body, "code"), device)
                .await;
        }
        let identifier = match flow.internal_text(IDENTIFIER) {
            Some(kept) if flow.state == SENT_EMAIL => kept.to_owned(),
            _ => checked_text(body, "identifier")?.to_owned(),
        };
        self.admit_client(device)?;
        let next = self.send_login(flow, &identifier).await?;
        Err(MethodError::NextStep(Box::new(next)))
    }

    async fn register(&self, sub: &RegistrationSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, body, pre_persist) = (sub.flow, sub.body, sub.pre_persist);
        if !self.settings.passwordless {
            return Err(MethodError::Unsupported);
        }
        if flow.state == SENT_EMAIL && !wants_resend(body) {
            return self.redeem_registration(flow, body, pre_persist).await;
        }
        let resend;
        let body = match flow.internal.get(TRAITS) {
            Some(kept) if flow.state == SENT_EMAIL => {
                resend = json!({ "traits": kept });
                &resend
            }
            _ => body,
        };
        let next = self.send_registration(flow, body).await?;
        Err(MethodError::NextStep(Box::new(next)))
    }
}
