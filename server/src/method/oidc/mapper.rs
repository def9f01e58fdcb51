//! The claims mapper: a Jsonnet program (`mapper_url`) that reads the
//! provider's claims as `std.extVar('claims')` and gives the new identity's
//! traits, metadata and verified addresses, in the shape Kratos's mappers
//! give them:
//!
//! ```jsonnet
//! local claims = std.extVar('claims');
//! { identity: { traits: { email: claims.email }, verified_addresses: [...] } }
//! ```

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::hook::body::BodySource;
use crate::hook::jsonnet::{self, Rendered};

/// How long a mapper may run.
const MAPPER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long loading a remote mapper may take.
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The standard claims copied to the top level of the mapper's input (all
/// claims are under `raw_claims` as well).
const STANDARD_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "name",
    "given_name",
    "family_name",
    "last_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "updated_at",
    "hd",
    "team",
];

/// What a mapper made of the claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The identity's traits.
    pub traits: Value,
    /// Public metadata, when the mapper gave some.
    pub metadata_public: Option<Value>,
    /// Admin metadata, when the mapper gave some.
    pub metadata_admin: Option<Value>,
    /// Addresses the provider vouches for: `(via, value)`.
    pub verified_addresses: Vec<(String, String)>,
}

/// A loaded mapper program.
#[derive(Clone)]
pub struct Mapper {
    source: Arc<str>,
}

impl Mapper {
    /// Loads and parses the program at `location`; the error says why not.
    pub async fn load(location: &str) -> Result<Self, String> {
        let source = BodySource::parse(location)?;
        let client = crate::outbound::client(LOAD_TIMEOUT).map_err(|e| e.0)?;
        let text = source.load(&client, LOAD_TIMEOUT).await?;
        jsonnet::check(&text)?;
        Ok(Self {
            source: text.into(),
        })
    }

    /// Runs the program on the claims; the error is shown to the user's
    /// flow, so it says what is wrong without the claims themselves.
    pub async fn map(&self, claims: &Map<String, Value>) -> Result<Mapped, String> {
        let input = mapper_input(claims);
        let rendered =
            jsonnet::render_with_ext_var(self.source.clone(), "claims", input, MAPPER_TIMEOUT)
                .await
                .map_err(|e| e.to_string());
        finish(rendered)
    }
}

/// What a mapper's run gives: the mapped identity, or why not.
fn finish(rendered: Result<Rendered, String>) -> Result<Mapped, String> {
    let rendered = rendered.map_err(|e| format!("the claims mapper failed: {e}"))?;
    let Rendered::Json(output) = rendered else {
        return Err("the claims mapper cancelled the sign-in".into());
    };
    parse_output(output)
}

/// The mapper's `claims`: the standard claims at the top level and every
/// claim under `raw_claims`.
pub fn mapper_input(claims: &Map<String, Value>) -> Value {
    let mut input = Map::new();
    for name in STANDARD_CLAIMS {
        if let Some(value) = claims.get(*name) {
            input.insert((*name).to_owned(), value.clone());
        }
    }
    input.insert("raw_claims".into(), Value::Object(claims.clone()));
    Value::Object(input)
}

fn parse_output(output: Value) -> Result<Mapped, String> {
    let identity = output
        .get("identity")
        .and_then(Value::as_object)
        .ok_or("the claims mapper gave no \"identity\" object")?;
    let traits = match identity.get("traits") {
        Some(Value::Object(traits)) => Value::Object(traits.clone()),
        Some(_) => return Err("the claims mapper's identity.traits is not an object".into()),
        None => json!({}),
    };
    let metadata = |name: &str| identity.get(name).filter(|v| !v.is_null()).cloned();
    let mut verified_addresses = Vec::new();
    if let Some(list) = identity.get("verified_addresses") {
        let list = list
            .as_array()
            .ok_or("the claims mapper's identity.verified_addresses is not a list")?;
        for entry in list {
            let via = entry.get("via").and_then(Value::as_str);
            let value = entry.get("value").and_then(Value::as_str);
            match (via, value) {
                (Some(via @ ("email" | "sms")), Some(value)) => {
                    verified_addresses.push((via.to_owned(), value.to_owned()));
                }
                _ => {
                    return Err("each of identity.verified_addresses needs \"via\" \
                                (email or sms) and \"value\""
                        .into());
                }
            }
        }
    }
    Ok(Mapped {
        traits,
        metadata_public: metadata("metadata_public"),
        metadata_admin: metadata("metadata_admin"),
        verified_addresses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Map<String, Value> {
        json!({"sub": "abc", "email": "a@example.org", "email_verified": true, "groups": ["x"]})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn the_input_has_standard_and_raw_claims() {
        let input = mapper_input(&claims());
        assert_eq!(input["email"], "a@example.org");
        assert!(input.get("groups").is_none());
        assert_eq!(input["raw_claims"]["groups"][0], "x");
    }

    /// Runs a mapper in this process (the server runs it in an evaluator
    /// process, which a unit test binary cannot start).
    fn map_here(source: &str) -> Result<Mapped, String> {
        let input = mapper_input(&claims()).to_string();
        finish(jsonnet::evaluate_ext_var(source, "claims", &input))
    }

    #[test]
    fn a_mapper_gives_traits_metadata_and_addresses() {
        let source = "local c = std.extVar('claims'); { identity: { traits: { email: c.email }, \
                      metadata_public: { groups: c.raw_claims.groups }, \
                      verified_addresses: std.prune([if c.email_verified then { via: 'email', value: c.email }]) } }";
        let mapped = map_here(source).unwrap();
        assert_eq!(mapped.traits, json!({"email": "a@example.org"}));
        assert_eq!(mapped.metadata_public, Some(json!({"groups": ["x"]})));
        assert_eq!(mapped.metadata_admin, None);
        assert_eq!(
            mapped.verified_addresses,
            vec![("email".to_owned(), "a@example.org".to_owned())]
        );
    }

    #[test]
    fn a_failing_or_malformed_mapper_is_an_error() {
        for source in [
            "error 'no email'",
            "{ traits: {} }",
            "{ identity: { traits: 'x' } }",
            "{ identity: { verified_addresses: [{ via: 'pigeon', value: 'x' }] } }",
        ] {
            assert!(map_here(source).is_err(), "{source}");
        }
    }
}
