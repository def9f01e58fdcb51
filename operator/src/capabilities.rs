//! What the server version this operator deploys can do with the resources attached to it.
//!
//! A resource is `Accepted=True` only when the server acts on what it configures. Each
//! feature the operator can express but the server may lack has one switch here; while it
//! is off, resources of that kind are validated as usual and then refused with reason
//! [`UNSUPPORTED`], and nothing of theirs reaches the server config. Turning a feature on
//! is flipping its switch in [`ServerCapabilities::CURRENT`] once the server has it, with
//! its section in the shared config types (`bia_config::Config`) and its rendering in
//! `render::config`. Within a feature, what the server's own config check would refuse
//! (a provider kind it does not implement) is refused here too, so a resource is never
//! accepted into a config the server would not start with.

use crate::validate::Refusal;

/// The `Accepted` reason of a valid resource the server cannot act on.
pub const UNSUPPORTED: &str = "Unsupported";

/// The features of a server version that attached resources and server fields configure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerCapabilities {
    /// Social sign-in (`selfservice.methods.oidc`): `OIDCProvider` resources.
    pub social_sign_in: bool,
    /// Sending messages (`courier`): `CourierTemplate` resources and
    /// `IdentityServer.spec.courier`.
    pub courier: bool,
}

impl ServerCapabilities {
    /// The server version this operator deploys: social sign-in with generic OpenID
    /// Connect providers; courier templates and SMTP settings.
    pub const CURRENT: Self = Self {
        social_sign_in: true,
        courier: true,
    };

    /// Why an `OIDCProvider` cannot be accepted, if it cannot: the server has no social
    /// sign-in, or does not implement the provider's kind (`bia_config`'s
    /// `PROVIDER_KINDS` lists the ones it does).
    pub fn refuse_provider(&self, provider: &bia_crds::OIDCProvider) -> Option<Refusal> {
        if !self.social_sign_in {
            return Some(Refusal {
                reason: UNSUPPORTED,
                message: "this server version has no social sign-in (selfservice.methods.oidc); \
                          the provider is valid but is left out of the server config"
                    .into(),
            });
        }
        let kind = provider.spec.provider.as_str();
        (!bia_config::oidc::PROVIDER_KINDS.contains(&kind)).then(|| Refusal {
            reason: UNSUPPORTED,
            message: format!(
                "this server version does not implement {kind:?} providers (it implements: {}); \
                 use provider: generic with the provider's issuerUrl, which works for any \
                 OpenID Connect provider with discovery; the provider is left out of the \
                 server config",
                bia_config::oidc::PROVIDER_KINDS.join(", ")
            ),
        })
    }

    /// Why a `CourierTemplate` cannot be accepted, if it cannot.
    pub fn refuse_template(&self) -> Option<Refusal> {
        (!self.courier).then(|| Refusal {
            reason: UNSUPPORTED,
            message: "this server version has no courier (courier.templates); \
                      the template is valid but is left out of the server config"
                .into(),
        })
    }

    /// What the server's own spec asks for that this version ignores, one note each.
    pub fn ignored_server_fields(&self, server: &bia_crds::IdentityServer) -> Vec<String> {
        let mut notes = Vec::new();
        if server.spec.courier.is_some() && !self.courier {
            notes.push(
                "spec.courier is not applied: this server version has no courier (courier.smtp)"
                    .to_owned(),
            );
        }
        notes
    }
}

impl Default for ServerCapabilities {
    fn default() -> Self {
        Self::CURRENT
    }
}
