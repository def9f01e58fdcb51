//! The relying party: this server as authenticators know it (an id, a
//! name and the origins its pages run on), and the WebAuthn ceremonies it
//! runs, from `selfservice.methods.{webauthn,passkey}.config.rp`.

use bia_config::RelyingPartyConfig;
use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// Why a relying party cannot be set up (the config check reports most of
/// these first).
#[derive(Debug, thiserror::Error)]
pub enum RelyingPartyError {
    /// A setting is missing or wrong.
    #[error("selfservice.methods.{method}.config.rp: {reason}")]
    Invalid {
        /// `webauthn` or `passkey`.
        method: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The relying party of one method, and where its pages load the script.
pub struct RelyingParty {
    pub(super) webauthn: Webauthn,
    /// The public base URL, ending in `/`.
    pub(super) public_base_url: String,
}

impl RelyingParty {
    /// The relying party `rp` describes for `method` (`webauthn` or
    /// `passkey`); origins default as [`RelyingPartyConfig::effective_origins`] says.
    pub fn from_config(
        method: &'static str,
        rp: &RelyingPartyConfig,
        public_base_url: &str,
    ) -> Result<Self, RelyingPartyError> {
        let invalid = |reason: String| RelyingPartyError::Invalid { method, reason };
        let id = rp.id.as_deref().unwrap_or_default();
        let name = rp.display_name.as_deref().unwrap_or_default();
        let origins = rp
            .effective_origins(public_base_url)
            .iter()
            .map(|o| Url::parse(o).map_err(|e| invalid(format!("origin {o:?}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let Some((first, rest)) = origins.split_first() else {
            return Err(invalid("set id and origins".into()));
        };
        let mut builder = WebauthnBuilder::new(id, first)
            .map_err(|e| invalid(format!("id {id:?} and origin {first}: {e}")))?
            .rp_name(name);
        for origin in rest {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder
            .build()
            .map_err(|e| invalid(format!("id {id:?}: {e}")))?;
        let mut base = public_base_url.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Self {
            webauthn,
            public_base_url: base,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(id: &str, origins: &[&str]) -> RelyingPartyConfig {
        RelyingPartyConfig {
            id: Some(id.into()),
            display_name: Some("Bia".into()),
            origins: Some(origins.iter().map(|o| (*o).to_owned()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn origins_must_be_on_the_id() {
        let base = "http://localhost:4433/";
        assert!(RelyingParty::from_config("webauthn", &rp("localhost", &[]), base).is_ok());
        assert!(
            RelyingParty::from_config(
                "passkey",
                &rp(
                    "example.org",
                    &["https://auth.example.org", "https://example.org"]
                ),
                base
            )
            .is_ok()
        );
        let error =
            RelyingParty::from_config("passkey", &rp("example.org", &["https://evil.test"]), base)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
        assert!(
            error.starts_with("selfservice.methods.passkey.config.rp"),
            "{error}"
        );
    }
}
