//! Linking and unlinking providers in the settings flow, as Kratos does:
//! the form shows a `link` button for each provider not linked and an
//! `unlink` button for each linked one (none when it is the identity's
//! only way to sign in). `link=<provider>` goes through the provider like a
//! sign-in; its callback attaches the provider account to the signed-in
//! identity, unless another identity has it. `unlink=<provider>` removes
//! the provider's links. The flow machine has checked the session, its
//! age and its assurance level before either runs.

use serde_json::Value;

use super::link::{has_provider, linked_providers, refused_link};
use super::{OidcMethod, messages, used_up, with_flow_used_up};
use crate::flow::ui::{Message, Ui};
use crate::flow::{Flow, MethodError, Problem, SettingsSubmission};
use crate::identity::{CredentialType, Identity};

/// Whether a submission without a `method` is this method's: a provider
/// button (`provider`, as HTML forms post it), `link` or `unlink`.
pub(super) fn is_own_submission(body: &Value) -> bool {
    ["provider", "link", "unlink"]
        .iter()
        .any(|field| body.get(field).is_some())
}

/// How many ways the identity has to sign in with a first factor: each
/// provider link, a password, passkeys, passwordless security keys.
fn first_factors(identity: &Identity) -> usize {
    identity
        .credentials
        .iter()
        .map(|(kind, credential)| match kind {
            CredentialType::Oidc | CredentialType::Saml => credential.identifiers.len(),
            CredentialType::Password => usize::from(
                !credential.identifiers.is_empty()
                    && credential
                        .config
                        .get("hashed_password")
                        .and_then(Value::as_str)
                        .is_some_and(|h| !h.is_empty()),
            ),
            CredentialType::Passkey => usize::from(!credential.identifiers.is_empty()),
            CredentialType::Webauthn => credential
                .config
                .get("credentials")
                .and_then(Value::as_array)
                .map_or(0, |all| {
                    all.iter()
                        .filter(|c| c.get("is_passwordless") == Some(&Value::Bool(true)))
                        .count()
                }),
            _ => 0,
        })
        .sum()
}

/// The identity's link identifiers to `provider`.
fn links_to(identity: &Identity, provider: &str) -> Vec<String> {
    super::link::links(identity)
        .filter(|(p, _)| *p == provider)
        .map(|(_, i)| i.clone())
        .collect()
}

/// Whether removing the links to `provider` leaves another way to sign in.
fn may_unlink(identity: &Identity, provider: &str) -> bool {
    first_factors(identity) > links_to(identity, provider).len()
}

fn invalid(message: Message) -> MethodError {
    MethodError::Invalid(vec![Problem::form(message)])
}

impl OidcMethod {
    /// The `link` and `unlink` buttons of a settings form.
    pub(super) fn settings_buttons(&self, identity: &Identity, ui: &mut Ui) {
        let linked = linked_providers(identity);
        for configured in &self.providers {
            let provider = &configured.provider;
            let id = provider.config.id.as_str();
            let is_linked = linked.iter().any(|p| p == id);
            if is_linked && !may_unlink(identity, id) {
                continue;
            }
            ui.nodes
                .push(messages::settings_button(!is_linked, id, provider.label()));
        }
    }

    /// A settings submission: a link to start, a provider's answer to a
    /// link, or an unlink.
    pub(super) async fn settings_submission(
        &self,
        sub: &SettingsSubmission<'_>,
    ) -> Result<Identity, MethodError> {
        let body = sub.body;
        if let Some(answer) = body.get("oidc_callback") {
            return self.link_answer(sub, answer).await;
        }
        if let Some(provider) = body.get("link") {
            let id = provider.as_str().unwrap_or("");
            let configured = self
                .provider(id)
                .filter(|_| !has_provider(sub.identity, id))
                .ok_or_else(|| invalid(messages::cannot_link()))?;
            let upstream = super::upstream::parameters(body)?;
            return self.start_with(sub.flow, configured, &upstream).await;
        }
        match body.get("unlink") {
            Some(provider) => self.unlink(sub, provider.as_str().unwrap_or("")).await,
            None => Err(invalid(messages::cannot_link())),
        }
    }

    /// The provider's answer to a link: the account is attached to the
    /// signed-in identity unless an identity has it already.
    async fn link_answer(
        &self,
        sub: &SettingsSubmission<'_>,
        answer: &Value,
    ) -> Result<Identity, MethodError> {
        let flow: &Flow = sub.flow;
        let (configured, verified) = self.answer(flow, sub.body, answer).await?;
        let provider = configured.provider.config.id.as_str();
        let subject = verified.subject();
        if let Some(owner) = self.find(provider, subject).await? {
            let message = if owner.id == sub.identity.id {
                messages::cannot_link()
            } else {
                Message::duplicate_identifier()
            };
            return Err(used_up(flow, message));
        }
        let linked = self
            .linked(sub.identity.clone(), provider, subject, &verified.tokens)
            .await
            .map_err(|e| with_flow_used_up(flow, e))?;
        let linked = sub
            .pre_persist
            .run(linked)
            .await
            .map_err(|e| with_flow_used_up(flow, e))?;
        self.identities
            .save(linked)
            .await
            .map_err(|e| with_flow_used_up(flow, refused_link(e)))
    }

    /// Removes the identity's links to `provider`, never its last way to
    /// sign in.
    async fn unlink(
        &self,
        sub: &SettingsSubmission<'_>,
        provider: &str,
    ) -> Result<Identity, MethodError> {
        let identity = sub.identity;
        let links = links_to(identity, provider);
        if links.is_empty() || self.provider(provider).is_none() {
            return Err(invalid(messages::cannot_unlink()));
        }
        if !may_unlink(identity, provider) {
            return Err(invalid(messages::cannot_unlink_last()));
        }
        let mut next = identity.clone();
        for identifier in &links {
            next = self
                .identities
                .without_link(next, CredentialType::Oidc, identifier)
                .ok_or_else(|| invalid(messages::cannot_unlink()))?;
        }
        let next = sub.pre_persist.run(next).await?;
        Ok(self.identities.save(next).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Credential;
    use serde_json::json;

    fn identity(credentials: &[(CredentialType, Vec<&str>, Value)]) -> Identity {
        let now = chrono::Utc::now();
        let mut identity = Identity::new("default".into(), json!({}), now);
        for (kind, identifiers, config) in credentials {
            identity.credentials.insert(
                *kind,
                Credential {
                    id: uuid::Uuid::new_v4(),
                    kind: *kind,
                    identifiers: identifiers.iter().map(|s| (*s).to_owned()).collect(),
                    config: config.clone(),
                    version: 0,
                    created_at: now,
                    updated_at: now,
                },
            );
        }
        identity
    }

    #[test]
    fn the_last_way_to_sign_in_is_never_unlinked() {
        let only_oidc = identity(&[(CredentialType::Oidc, vec!["idp:1"], json!({}))]);
        assert!(!may_unlink(&only_oidc, "idp"));
        let two_links = identity(&[(CredentialType::Oidc, vec!["idp:1", "other:2"], json!({}))]);
        assert!(may_unlink(&two_links, "idp"));
        let same_provider_twice =
            identity(&[(CredentialType::Oidc, vec!["idp:1", "idp:2"], json!({}))]);
        assert!(!may_unlink(&same_provider_twice, "idp"));
        let with_password = identity(&[
            (CredentialType::Oidc, vec!["idp:1"], json!({})),
            (
                CredentialType::Password,
                vec!["a@example.org"],
                json!({"hashed_password": "$2b$04$x"}),
            ),
        ]);
        assert!(may_unlink(&with_password, "idp"));
        // A password credential without a hash (an identifier from the
        // traits only) is no way in.
        let no_hash = identity(&[
            (CredentialType::Oidc, vec!["idp:1"], json!({})),
            (CredentialType::Password, vec!["a@example.org"], json!({})),
        ]);
        assert!(!may_unlink(&no_hash, "idp"));
    }

    #[test]
    fn submissions_are_recognised_by_their_button() {
        assert!(is_own_submission(&json!({"link": "idp"})));
        assert!(is_own_submission(&json!({"unlink": "idp"})));
        assert!(is_own_submission(&json!({"provider": "idp"})));
        assert!(!is_own_submission(
            &json!({"identifier": "a", "password": "b"})
        ));
    }
}
