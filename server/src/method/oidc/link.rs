//! Linking a provider account to an identity that exists already, as
//! Kratos does: when the identifiers mapped from a provider account belong
//! to another identity, nothing is created; the person gets a login flow
//! for that identity (Kratos's message 1010016) carrying the pending link,
//! and once they signed in with one of its own ways the provider account is
//! linked to it ([`Method::after_login`](crate::flow::Method::after_login)).

use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use uuid::Uuid;

use super::tokens::{self, SealedTokens};
use super::{Configured, METHOD, MethodError, OidcMethod, Verified, used_flow};
use crate::flow::ui::Message;
use crate::flow::{Flow, LoginFirst, Problem};
use crate::identity::{CredentialType, Identity, IdentityError, ProviderLink};

/// The key of a login flow's internal context holding the pending link.
const PENDING_LINK: &str = "oidc_link";

/// A provider account waiting to be linked to the identity that signs in.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingLink {
    /// The identity the link is for: another account signing in on the
    /// flow gets no link.
    identity_id: Uuid,
    provider: String,
    subject: String,
    #[serde(default)]
    tokens: SealedTokens,
}

/// Whether `identity` has a link to `provider`.
pub(super) fn has_provider(identity: &Identity, provider: &str) -> bool {
    linked_providers(identity).iter().any(|p| p == provider)
}

/// The providers linked to `identity`, in link order.
pub(super) fn linked_providers(identity: &Identity) -> Vec<String> {
    links(identity).map(|(p, _)| p.to_owned()).collect()
}

/// Each link identifier (`<provider>:<subject>`) of `identity` with its provider.
pub(super) fn links(identity: &Identity) -> impl Iterator<Item = (&str, &String)> {
    identity
        .credentials
        .get(&CredentialType::Oidc)
        .into_iter()
        .flat_map(|c| c.identifiers.iter())
        .filter_map(|i| i.split_once(':').map(|(p, _)| (p, i)))
}

impl OidcMethod {
    /// The identity owning one of `built`'s identifiers (its provider links
    /// aside), with that identifier.
    pub(super) async fn owner_of_identifiers(
        &self,
        built: &Identity,
    ) -> Result<Option<(Identity, String)>, MethodError> {
        for (kind, credential) in &built.credentials {
            if *kind == CredentialType::Oidc {
                continue;
            }
            for identifier in &credential.identifiers {
                let owner = self
                    .identities
                    .find_by_identifier(*kind, identifier)
                    .await?;
                if let Some(owner) = owner.filter(|o| o.id != built.id) {
                    return Ok(Some((owner, identifier.clone())));
                }
            }
        }
        Ok(None)
    }

    /// A login with a provider account no identity is linked to: when the
    /// identity its claims map to would take another's identifier, the
    /// offer to sign in to that one and link the account.
    pub(super) async fn offer_link(
        &self,
        flow: &Flow,
        configured: &Configured,
        verified: &Verified,
    ) -> Result<Option<MethodError>, MethodError> {
        let provider = configured.provider.config.id.as_str();
        let Ok(mapped) = configured.mapper.map(&verified.claims).await else {
            return Ok(None);
        };
        let Ok(built) = self.build(flow, provider, verified.subject(), mapped).await else {
            return Ok(None);
        };
        Ok(self
            .owner_of_identifiers(&built)
            .await?
            .map(|(owner, identifier)| {
                self.login_first(flow, owner, identifier, provider, verified)
            }))
    }

    /// The answer that sends the person to a login flow for `owner`, the
    /// provider account pending there.
    pub(super) fn login_first(
        &self,
        flow: &Flow,
        owner: Identity,
        identifier: String,
        provider: &str,
        verified: &Verified,
    ) -> MethodError {
        let pending = PendingLink {
            identity_id: owner.id,
            provider: provider.to_owned(),
            subject: verified.subject().to_owned(),
            tokens: verified.tokens.clone(),
        };
        let mut internal = Map::new();
        internal.insert("active".into(), json!(METHOD));
        internal.insert(PENDING_LINK.into(), json!(pending));
        let message = link_offer(&owner, &identifier, provider);
        MethodError::LoginFirst(Box::new(LoginFirst {
            used: used_flow(flow),
            identity: owner,
            identifier,
            message,
            internal,
        }))
    }

    /// Links the provider account a login flow was made for to the identity
    /// that signed in on it (when it is the identity the flow names).
    pub(super) async fn finish_pending_link(
        &self,
        flow: &Flow,
        identity: Identity,
    ) -> Result<Identity, MethodError> {
        let Some(pending) = flow
            .internal
            .get(PENDING_LINK)
            .and_then(|v| serde_json::from_value::<PendingLink>(v.clone()).ok())
        else {
            return Ok(identity);
        };
        if pending.identity_id != identity.id || self.provider(&pending.provider).is_none() {
            tracing::warn!(flow = %flow.id, "a pending provider link was not for the identity that signed in");
            return Ok(identity);
        }
        let identifier = format!("{}:{}", pending.provider, pending.subject);
        if identity
            .credentials
            .get(&CredentialType::Oidc)
            .is_some_and(|c| c.identifiers.contains(&identifier))
        {
            return Ok(identity);
        }
        let linked = self
            .linked(
                identity,
                &pending.provider,
                &pending.subject,
                &pending.tokens,
            )
            .await?;
        self.identities.save(linked).await.map_err(refused_link)
    }

    /// `identity` with the provider account linked and its tokens kept, not
    /// stored.
    pub(super) async fn linked(
        &self,
        identity: Identity,
        provider: &str,
        subject: &str,
        sealed: &SealedTokens,
    ) -> Result<Identity, MethodError> {
        let link = ProviderLink {
            provider: provider.to_owned(),
            subject: subject.to_owned(),
            organization: None,
        };
        let mut linked = self
            .identities
            .with_links(identity, CredentialType::Oidc, vec![link])
            .await?;
        tokens::keep(&mut linked, &format!("{provider}:{subject}"), sealed);
        Ok(linked)
    }
}

/// A link refused because another identity has the provider account.
pub(super) fn refused_link(error: IdentityError) -> MethodError {
    match error {
        IdentityError::Conflict => {
            MethodError::Invalid(vec![Problem::form(Message::duplicate_identifier())])
        }
        other => MethodError::refused_write(other),
    }
}

/// 1010016: the provider account's identifier belongs to `owner`; sign in
/// to it to add the provider as another way to sign in.
fn link_offer(owner: &Identity, identifier: &str, provider: &str) -> Message {
    let kinds: Vec<&str> = owner
        .credentials
        .iter()
        .filter(|(kind, c)| **kind != CredentialType::Oidc && !c.identifiers.is_empty())
        .map(|(kind, _)| kind.as_str())
        .collect();
    let text = format!(
        "You tried to sign in with \"{identifier}\", but that email is already used by another \
         account. Sign in to your account with one of the options below to add your account \
         \"{identifier}\" at \"{provider}\" as another way to sign in."
    );
    Message {
        context: Some(json!({
            "available_credential_types": kinds,
            "available_providers": linked_providers(owner),
            "duplicateIdentifier": identifier,
            "duplicate_identifier": identifier,
            "provider": provider,
        })),
        ..Message::info(1010016, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_names_the_identifier_provider_and_ways_in() {
        let owner = Identity::new("default".into(), json!({}), chrono::Utc::now());
        let message = link_offer(&owner, "a@example.org", "idp");
        assert_eq!(message.id, 1010016);
        assert_eq!(message.kind, "info");
        let context = message.context.unwrap_or_default();
        assert_eq!(context["duplicate_identifier"], "a@example.org");
        assert_eq!(context["provider"], "idp");
        assert_eq!(context["available_providers"], json!([]));
    }

    #[test]
    fn a_pending_link_reads_back() {
        let pending = PendingLink {
            identity_id: Uuid::new_v4(),
            provider: "idp".into(),
            subject: "s".into(),
            tokens: SealedTokens::default(),
        };
        let back: PendingLink = serde_json::from_value(json!(pending)).unwrap();
        assert_eq!(back.identity_id, pending.identity_id);
        assert_eq!(back.subject, "s");
    }
}
