//! The oidc method: sign-in and sign-up with OpenID Connect providers
//! (`selfservice.methods.oidc`).
//!
//! A flow takes two submissions. The first names a provider
//! (`method=oidc`, `provider=<id>`): the method keeps a fresh state secret's
//! digest, a nonce and a PKCE verifier in the flow's internal context and
//! answers [`MethodError::Redirect`] to the provider's authorization
//! endpoint. The provider sends the browser back to
//! `/self-service/methods/oidc/callback/<id>`, whose handler hands the
//! answer to the flow machine as the second submission (`oidc_callback`):
//! the state must match the flow's (and the browser's anti-CSRF cookie the
//! flow's, checked by the machine), the code is exchanged, the ID token
//! checked (signature, issuer, audience, expiry, nonce). A login finds the
//! identity by its credential identifier `<provider>:<subject>`; a
//! registration maps the claims with the provider's Jsonnet mapper, builds
//! the identity with an `oidc` credential, passes it through the machine's
//! hooks and stores it. Whatever the outcome, the request's one-time values
//! are removed from the flow: a state is never accepted twice.
//!
//! A provider account whose mapped identifier belongs to another identity
//! creates nothing: the person signs in to that account first and the
//! provider is linked then (`link.rs`). The settings flow links and unlinks
//! providers (`settings.rs`). The provider's tokens are kept sealed with
//! each link (`tokens.rs`).

mod apple;
mod fetch;
mod id_token;
mod kind;
mod link;
mod mapper;
mod messages;
mod provider;
mod secrets;
mod settings;
mod tokens;
mod upstream;

use async_trait::async_trait;
use bia_config::OidcMethodConfig;
use serde_json::{Map, Value, json};

pub use mapper::{Mapped, Mapper};
pub use provider::{Provider, ProviderError};
pub use secrets::parse_state;
pub use tokens::open_all as open_tokens;

use std::sync::Arc;

use crate::cipher::Cipher;
use crate::flow::ui::{Message, Ui};
use crate::flow::{
    Flow, FlowKind, LoginSubmission, Method, MethodError, Problem, RegistrationSubmission,
    SettingsSubmission,
};
use crate::identity::{
    AddressImport, CredentialType, CredentialsImport, Identity, IdentityDraft, IdentityError,
    IdentityService, ProviderLink, State,
};
use tokens::SealedTokens;

/// The method's id.
const METHOD: &str = "oidc";
/// Keys of the flow's internal context: the provider a request went to, the
/// digest of the state secret, the nonce, and the PKCE verifier (when PKCE
/// is used).
const PROVIDER: &str = "oidc_provider";
const STATE: &str = "oidc_state";
const NONCE: &str = "oidc_nonce";
const VERIFIER: &str = "oidc_verifier";
/// The keys of one request to a provider, removed once its answer came.
const ONE_TIME_KEYS: [&str; 4] = [PROVIDER, STATE, NONCE, VERIFIER];
/// The longest code accepted from a callback.
const MAX_CODE_BYTES: usize = 2048;
/// Where a `microsoft` provider with `subject_source: me` reads the subject.
const GRAPH_ME: &str = "https://graph.microsoft.com/v1.0/me";
/// The longest provider error text shown.
const MAX_ERROR_BYTES: usize = 200;

/// One provider with its mapper.
struct Configured {
    provider: Provider,
    mapper: Mapper,
}

/// What a provider's answer proved: its verified claims and the tokens it
/// gave, sealed.
struct Verified {
    claims: Map<String, Value>,
    tokens: SealedTokens,
}

impl Verified {
    fn subject(&self) -> &str {
        self.claims.get("sub").and_then(Value::as_str).unwrap_or("")
    }
}

/// The oidc method over the configured providers.
pub struct OidcMethod {
    identities: IdentityService,
    providers: Vec<Configured>,
    /// Seals the provider tokens kept with each link (`secrets.cipher`).
    cipher: Arc<Cipher>,
    /// The base of redirect URIs, ending in `/`.
    redirect_base: String,
}

/// Why the method could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[error("selfservice.methods.oidc.config.providers[{index}]: {reason}")]
pub struct OidcConfigError {
    /// The provider's position in the list.
    pub index: usize,
    /// What is wrong.
    pub reason: String,
}

impl OidcMethod {
    /// The method for the configured providers (their mappers loaded and
    /// parsed); `public_base_url` ends in `/`; `cipher` seals the tokens
    /// providers give.
    pub async fn from_config(
        identities: IdentityService,
        section: &OidcMethodConfig,
        public_base_url: &str,
        cipher: Arc<Cipher>,
    ) -> Result<Self, OidcConfigError> {
        let mut providers = Vec::new();
        for (index, config) in section.config.providers.iter().enumerate() {
            let error = |reason: String| OidcConfigError { index, reason };
            let mapper = Mapper::load(&config.mapper_url)
                .await
                .map_err(|e| error(format!("mapper_url: {e}")))?;
            let provider = Provider::new(config.clone()).map_err(|e| error(e.to_string()))?;
            providers.push(Configured { provider, mapper });
        }
        let base = section
            .config
            .base_redirect_uri
            .clone()
            .unwrap_or_else(|| public_base_url.to_owned());
        let redirect_base = format!("{}/", base.trim_end_matches('/'));
        Ok(Self {
            identities,
            providers,
            cipher,
            redirect_base,
        })
    }

    fn provider(&self, id: &str) -> Option<&Configured> {
        self.providers.iter().find(|p| p.provider.config.id == id)
    }

    fn redirect_uri(&self, provider: &str) -> String {
        format!(
            "{}self-service/methods/oidc/callback/{provider}",
            self.redirect_base
        )
    }

    /// First step: the flow remembers a fresh request and the browser goes
    /// to the provider named by the body's `provider`.
    async fn start(&self, flow: &Flow, body: &Value) -> Result<Identity, MethodError> {
        let id = body.get("provider").and_then(Value::as_str).unwrap_or("");
        let Some(configured) = self.provider(id) else {
            let problem = Problem::field("provider", messages::unknown_provider(id));
            return Err(MethodError::Invalid(vec![problem]));
        };
        let upstream = upstream::parameters(body)?;
        self.start_with(flow, configured, &upstream).await
    }

    /// Sends the browser to `configured` for `flow`, with the `upstream`
    /// parameters the submission asked for. Native apps get the address
    /// to open (422 `browser_location_change_required`).
    async fn start_with(
        &self,
        flow: &Flow,
        configured: &Configured,
        upstream: &[(String, String)],
    ) -> Result<Identity, MethodError> {
        let id = configured.provider.config.id.as_str();
        let provider = &configured.provider;
        let endpoints = provider.endpoints().await.map_err(|e| refusal(&e))?;
        let secret = secrets::random_value();
        let nonce = secrets::random_value();
        let verifier = provider.uses_pkce(&endpoints).then(secrets::random_value);
        let challenge = verifier.as_deref().map(secrets::pkce_challenge);
        let state = secrets::state_for(flow.kind, flow.id, &secret);
        let redirect_uri = self.redirect_uri(id);
        let to = provider
            .authorization_url(
                &endpoints,
                &provider::AuthRequest {
                    redirect_uri: &redirect_uri,
                    state: &state,
                    nonce: &nonce,
                    code_challenge: challenge.as_deref(),
                    upstream,
                },
            )
            .map_err(|e| refusal(&e))?;
        let mut next = flow.clone();
        next.internal.insert("active".into(), json!(METHOD));
        next.internal.insert(PROVIDER.into(), json!(id));
        next.internal
            .insert(STATE.into(), json!(secrets::digest(&secret)));
        next.internal.insert(NONCE.into(), json!(nonce));
        match verifier {
            Some(verifier) => next.internal.insert(VERIFIER.into(), json!(verifier)),
            None => next.internal.remove(VERIFIER),
        };
        Err(MethodError::Redirect {
            flow: Box::new(next),
            to,
        })
    }

    /// What a submission proves: a native app's ID token, or the
    /// provider's answer to a started sign-in. A submission with neither
    /// starts one (the browser is sent to the provider).
    async fn proven(
        &self,
        flow: &Flow,
        body: &Value,
    ) -> Result<(&Configured, Verified), MethodError> {
        if let Some(token) = id_token::submitted(body) {
            return self.id_token_claims(body, token).await;
        }
        match body.get("oidc_callback") {
            Some(answer) => self.answer(flow, body, answer).await,
            // Starting always ends the submission (a redirect or a refusal).
            None => Err(self
                .start(flow, body)
                .await
                .err()
                .unwrap_or(MethodError::Unsupported)),
        }
    }

    /// Second step: the provider's answer, checked and turned into verified
    /// claims. The flow's request values are used up either way.
    async fn answer(
        &self,
        flow: &Flow,
        body: &Value,
        answer: &Value,
    ) -> Result<(&Configured, Verified), MethodError> {
        let fail = |message: Message| used_up(flow, message);
        let path_provider = body.get("provider").and_then(Value::as_str).unwrap_or("");
        let started = flow.internal_text(PROVIDER);
        let (Some(started), Some(expected)) = (started, flow.internal_text(STATE)) else {
            return Err(fail(messages::system(
                "The sign-in with the provider was not started from this flow or was already used.",
            )));
        };
        let state = answer.get("state").and_then(Value::as_str).unwrap_or("");
        let secret = secrets::parse_state(state)
            .filter(|(kind, id, _)| *kind == flow.kind && *id == flow.id)
            .map(|(_, _, secret)| secret)
            .unwrap_or("");
        let state_ok = crate::hash::ct_eq(secrets::digest(secret).as_bytes(), expected.as_bytes());
        if !state_ok || started != path_provider {
            return Err(fail(messages::system(
                "The state parameter does not match this flow.",
            )));
        }
        let Some(configured) = self.provider(started) else {
            return Err(fail(messages::unknown_provider(started)));
        };
        if let Some(error) = answer.get("error").and_then(Value::as_str) {
            let description = answer
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or("");
            let shown: String = format!("{error}: {description}")
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_ERROR_BYTES)
                .collect();
            return Err(fail(messages::system(format!(
                "The provider refused the sign-in ({shown})."
            ))));
        }
        let code = answer
            .get("code")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty() && c.len() <= MAX_CODE_BYTES)
            .ok_or_else(|| fail(messages::system("The provider sent no valid code.")))?;
        let verified = self
            .verified_claims(configured, flow, code, answer)
            .await
            .map_err(|e| {
                tracing::warn!(provider = started, error = %e, "an OpenID Connect sign-in failed");
                fail(messages::system(e.to_string()))
            })?;
        Ok((configured, verified))
    }

    async fn verified_claims(
        &self,
        configured: &Configured,
        flow: &Flow,
        code: &str,
        answer: &Value,
    ) -> Result<Verified, ProviderError> {
        let provider = &configured.provider;
        let endpoints = provider.endpoints().await?;
        let redirect_uri = self.redirect_uri(&provider.config.id);
        let verifier = flow.internal_text(VERIFIER);
        let tokens = provider
            .exchange(&endpoints, code, &redirect_uri, verifier)
            .await?;
        let nonce = flow.internal_text(NONCE).unwrap_or("");
        let mut claims = provider.claims(&endpoints, &tokens, nonce).await?;
        match provider.config.provider.as_str() {
            "apple" => {
                apple::add_user_name(&mut claims, answer.get("user").and_then(Value::as_str))
            }
            "microsoft" if provider.config.subject_source.as_deref() == Some("me") => {
                let me = provider
                    .read_with_token(GRAPH_ME, access_token(&tokens)?)
                    .await?;
                let id = me.get("id").and_then(Value::as_str).ok_or_else(|| {
                    ProviderError::Invalid("Microsoft Graph's /me has no id".into())
                })?;
                claims.insert("sub".into(), json!(id));
            }
            _ => {}
        }
        match claims.get("sub").and_then(Value::as_str) {
            Some(sub) if !sub.is_empty() && sub.len() <= 255 => Ok(Verified {
                claims,
                tokens: SealedTokens::seal(&self.cipher, &tokens),
            }),
            _ => Err(ProviderError::Invalid(
                "the subject (sub) is missing".into(),
            )),
        }
    }

    async fn find(&self, provider: &str, subject: &str) -> Result<Option<Identity>, MethodError> {
        let identifier = format!("{provider}:{subject}");
        Ok(self
            .identities
            .find_by_identifier(CredentialType::Oidc, &identifier)
            .await?)
    }

    /// Builds the new identity from the mapped claims.
    async fn build(
        &self,
        flow: &Flow,
        provider: &str,
        subject: &str,
        mapped: Mapped,
    ) -> Result<Identity, MethodError> {
        let draft = IdentityDraft {
            traits: mapped.traits,
            metadata_public: mapped.metadata_public,
            metadata_admin: mapped.metadata_admin,
            credentials: CredentialsImport {
                oidc: vec![ProviderLink {
                    provider: provider.to_owned(),
                    subject: subject.to_owned(),
                    organization: None,
                }],
                ..CredentialsImport::default()
            },
            verifiable_addresses: mapped
                .verified_addresses
                .into_iter()
                .map(|(via, value)| AddressImport {
                    value,
                    via,
                    verified: true,
                    status: Some("completed".into()),
                })
                .collect(),
            schema_id: flow.identity_schema().map(str::to_owned),
            ..IdentityDraft::default()
        };
        self.identities
            .prepare(draft)
            .await
            .map_err(|e| refused_identity(flow, e))
    }
}

impl OidcMethod {
    /// One sign-in or sign-up button per provider (login and registration
    /// flows only).
    fn buttons(&self, kind: FlowKind, ui: &mut Ui) {
        if !matches!(kind, FlowKind::Login | FlowKind::Registration) {
            return;
        }
        for configured in &self.providers {
            let provider = &configured.provider;
            ui.nodes.push(messages::provider_button(
                kind,
                &provider.config.id,
                provider.label(),
            ));
        }
    }
}

#[async_trait]
impl Method for OidcMethod {
    fn id(&self) -> &'static str {
        METHOD
    }

    fn populate_identification(&self, ui: &mut Ui) {
        self.buttons(FlowKind::Login, ui);
    }

    fn populate(&self, flow: &Flow, ui: &mut Ui) {
        self.buttons(flow.kind, ui);
    }

    fn populate_profile_step(&self, flow: &Flow, ui: &mut Ui) {
        self.buttons(flow.kind, ui);
    }

    fn populate_identified(&self, identity: Option<&Identity>, ui: &mut Ui) {
        let Some(identity) = identity else {
            return;
        };
        for configured in &self.providers {
            let provider = &configured.provider;
            if link::has_provider(identity, &provider.config.id) {
                ui.nodes.push(messages::provider_button(
                    FlowKind::Login,
                    &provider.config.id,
                    provider.label(),
                ));
            }
        }
    }

    fn populate_settings(&self, identity: &Identity, ui: &mut Ui) {
        self.settings_buttons(identity, ui);
    }

    fn populate_challenge(
        &self,
        flow: &Flow,
        _ui: &mut Ui,
        internal: &mut serde_json::Map<String, Value>,
    ) {
        // A settings form built afresh (a saved change) leaves no request
        // to a provider pending: its state cannot come back twice.
        if flow.kind == FlowKind::Settings {
            for key in ONE_TIME_KEYS {
                internal.remove(key);
            }
        }
    }

    fn claims(&self, body: &Value) -> bool {
        settings::is_own_submission(body)
    }

    async fn login(&self, login: &LoginSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, body) = (login.flow, login.body);
        let (configured, verified) = self.proven(flow, body).await?;
        let provider = configured.provider.config.id.as_str();
        match self.find(provider, verified.subject()).await? {
            Some(identity) if identity.state == State::Active => Ok(identity),
            Some(_) => Err(used_up(flow, messages::account_not_found())),
            // An account whose address another identity has may be linked
            // to it, as a registration would offer.
            None => match self.offer_link(flow, configured, &verified).await? {
                Some(offer) => Err(offer),
                None => Err(used_up(flow, messages::account_not_found())),
            },
        }
    }

    async fn register(&self, sub: &RegistrationSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, body, pre_persist) = (sub.flow, sub.body, sub.pre_persist);
        let (configured, verified) = self.proven(flow, body).await?;
        let provider = configured.provider.config.id.as_str();
        let subject = verified.subject();
        // An account already linked signs in, as Kratos does.
        if let Some(identity) = self.find(provider, subject).await? {
            return match identity.state {
                State::Active => Ok(identity),
                State::Inactive => Err(used_up(flow, messages::account_not_found())),
            };
        }
        let mut mapped = configured
            .mapper
            .map(&verified.claims)
            .await
            .map_err(|reason| used_up(flow, messages::system(reason)))?;
        upstream::fill_traits(&mut mapped.traits, body.get("traits"));
        let mut identity = self.build(flow, provider, subject, mapped).await?;
        if let Some((owner, identifier)) = self.owner_of_identifiers(&identity).await? {
            return Err(self.login_first(flow, owner, identifier, provider, &verified));
        }
        tokens::keep(
            &mut identity,
            &format!("{provider}:{subject}"),
            &verified.tokens,
        );
        let identity = pre_persist
            .run(identity)
            .await
            .map_err(|e| with_flow_used_up(flow, e))?;
        self.identities
            .insert(identity)
            .await
            .map_err(|e| refused_identity(flow, e))
    }

    async fn after_login(&self, flow: &Flow, identity: Identity) -> Result<Identity, MethodError> {
        self.finish_pending_link(flow, identity).await
    }

    async fn update_settings(&self, sub: &SettingsSubmission<'_>) -> Result<Identity, MethodError> {
        self.settings_submission(sub).await
    }
}

/// The access token of a code exchange, which reading more claims needs.
fn access_token(tokens: &provider::Tokens) -> Result<&str, ProviderError> {
    tokens
        .access_token
        .as_deref()
        .ok_or_else(|| ProviderError::Invalid("the token answer has no access_token".into()))
}

/// A provider failure as a message on the flow (the request values kept:
/// nothing was sent to the provider yet).
fn refusal(error: &ProviderError) -> MethodError {
    tracing::warn!(%error, "an OpenID Connect provider could not be used");
    MethodError::Invalid(vec![Problem::form(messages::system(error.to_string()))])
}

/// The flow with its request values removed and `message` on its form,
/// stored and shown again.
fn used_up(flow: &Flow, message: Message) -> MethodError {
    used_up_with(flow, vec![Problem::form(message)])
}

fn used_up_with(flow: &Flow, problems: Vec<Problem>) -> MethodError {
    let mut next = used_flow(flow);
    for problem in problems {
        next.ui
            .add_message(problem.field.as_deref(), problem.message);
    }
    MethodError::NextStep(Box::new(next))
}

/// The flow with its request values removed and no messages.
fn used_flow(flow: &Flow) -> Flow {
    let mut next = flow.clone();
    for key in ONE_TIME_KEYS {
        next.internal.remove(key);
    }
    next.ui.clear_messages();
    next
}

/// A refusal after the callback: its problems shown on the used-up flow.
fn with_flow_used_up(flow: &Flow, error: MethodError) -> MethodError {
    match error {
        MethodError::Invalid(problems) => used_up_with(flow, problems),
        other => other,
    }
}

/// A refused identity write: a taken identifier is Kratos's duplicate
/// message for social sign-up; invalid traits name what the mapper got wrong.
fn refused_identity(flow: &Flow, error: IdentityError) -> MethodError {
    match error {
        IdentityError::Conflict => used_up(flow, messages::duplicate_on_link()),
        other => with_flow_used_up(flow, MethodError::refused_write(other)),
    }
}
