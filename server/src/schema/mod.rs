//! The identity-schema registry: loads each configured schema once (from
//! `file://`, `base64://` or `http(s)://`), compiles it, and validates traits.

pub mod extension;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// How long fetching a schema over HTTP(S) may take.
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Largest schema document fetched over HTTP(S).
pub const MAX_SCHEMA_BYTES: usize = 4 * 1024 * 1024;

pub use extension::{IdentifierLabel, Marked};

/// A schema that could not be loaded or compiled.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The URL could not be read.
    #[error("identity schema {id:?}: cannot load {url}: {reason}")]
    Load {
        /// Schema id.
        id: String,
        /// Where it was to be loaded from.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// The document is not valid JSON Schema.
    #[error("identity schema {id:?}: not a valid JSON Schema: {reason}")]
    Invalid {
        /// Schema id.
        id: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Two schemas share an id.
    #[error("identity schema {0:?} is configured twice")]
    Duplicate(String),
    /// The default schema id names no schema.
    #[error("identity.default_schema_id: no schema with id {0:?} is configured")]
    UnknownDefault(String),
}

/// A schema as configured: an id and where to load it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaSource {
    /// The schema id identities refer to.
    pub id: String,
    /// `file://`, `base64://` or `http(s)://` URL.
    pub url: String,
    /// Whether self-service flows may ask for it by id
    /// (`selfservice_selectable`).
    pub selectable: bool,
}

/// One loaded and compiled identity schema.
pub struct IdentitySchema {
    id: String,
    document: Value,
    validator: jsonschema::Validator,
    identifier_label: Option<IdentifierLabel>,
}

impl std::fmt::Debug for IdentitySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySchema")
            .field("id", &self.id)
            .finish()
    }
}

/// One trait that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraitViolation {
    /// JSON pointer of the failing value, e.g. `/traits/email`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl IdentitySchema {
    /// Compiles a schema document.
    pub fn compile(id: &str, document: Value) -> Result<Self, SchemaError> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&document)
            .map_err(|e| SchemaError::Invalid {
                id: id.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            id: id.to_owned(),
            identifier_label: extension::identifier_label(&document),
            document,
            validator,
        })
    }

    /// The schema id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The raw schema document.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Validates traits; every failing field is reported.
    pub fn validate_traits(&self, traits: &Value) -> Result<(), Vec<TraitViolation>> {
        let instance = serde_json::json!({ "traits": traits });
        let violations: Vec<TraitViolation> = self
            .validator
            .iter_errors(&instance)
            .map(|error| TraitViolation {
                path: error.instance_path().to_string(),
                message: error.to_string(),
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }

    /// How login forms label the identifier field, when the schema has one
    /// titled identifying trait.
    pub fn identifier_label(&self) -> Option<&IdentifierLabel> {
        self.identifier_label.as_ref()
    }

    /// What the `ory.sh/kratos` extension marks in these traits.
    pub fn mark(&self, traits: &Value) -> Marked {
        extension::mark(&self.document, traits)
    }
}

/// All configured schemas, compiled, and the default id.
#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    schemas: BTreeMap<String, Arc<IdentitySchema>>,
    order: Vec<String>,
    default_id: String,
    selectable: BTreeSet<String>,
}

/// Why a self-service flow cannot use the schema it asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaChoiceError {
    /// No schema has this id.
    #[error("no schema has this id")]
    Unknown,
    /// The schema exists but is not `selfservice_selectable`.
    #[error("the schema is not selectable")]
    NotSelectable,
}

impl SchemaRegistry {
    /// Loads and compiles every schema; fails on the first broken one.
    pub async fn load(sources: &[SchemaSource], default_id: &str) -> Result<Self, SchemaError> {
        let mut schemas = BTreeMap::new();
        let mut order = Vec::new();
        let mut selectable = BTreeSet::new();
        for source in sources {
            if schemas.contains_key(&source.id) {
                return Err(SchemaError::Duplicate(source.id.clone()));
            }
            let document = fetch(source).await?;
            let schema = IdentitySchema::compile(&source.id, document)?;
            order.push(source.id.clone());
            if source.selectable {
                selectable.insert(source.id.clone());
            }
            schemas.insert(source.id.clone(), Arc::new(schema));
        }
        if !schemas.contains_key(default_id) {
            return Err(SchemaError::UnknownDefault(default_id.to_owned()));
        }
        Ok(Self {
            schemas,
            order,
            default_id: default_id.to_owned(),
            selectable,
        })
    }

    /// Whether a self-service flow may use the schema `id`: the default
    /// schema, or one marked `selfservice_selectable`.
    pub fn choose(&self, id: &str) -> Result<(), SchemaChoiceError> {
        if id == self.default_id || self.selectable.contains(id) {
            Ok(())
        } else if self.schemas.contains_key(id) {
            Err(SchemaChoiceError::NotSelectable)
        } else {
            Err(SchemaChoiceError::Unknown)
        }
    }

    /// The schema with this id.
    pub fn get(&self, id: &str) -> Option<Arc<IdentitySchema>> {
        self.schemas.get(id).cloned()
    }

    /// The schema with this id, or the one whose base64url-encoded id this is.
    pub fn get_by_path_id(&self, path_id: &str) -> Option<Arc<IdentitySchema>> {
        self.get(path_id).or_else(|| {
            URL_SAFE_NO_PAD
                .decode(path_id.trim_end_matches('='))
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|id| self.get(&id))
        })
    }

    /// The default schema id.
    pub fn default_id(&self) -> &str {
        &self.default_id
    }

    /// Every schema in configuration order.
    pub fn all(&self) -> Vec<Arc<IdentitySchema>> {
        self.order
            .iter()
            .filter_map(|id| self.schemas.get(id).cloned())
            .collect()
    }
}

/// The live registry, replaced as a whole when the configuration is reloaded.
#[derive(Debug, Clone)]
pub struct SchemaHandle(Arc<std::sync::RwLock<Arc<SchemaRegistry>>>);

impl SchemaHandle {
    /// A handle holding this registry.
    pub fn new(registry: SchemaRegistry) -> Self {
        Self(Arc::new(std::sync::RwLock::new(Arc::new(registry))))
    }

    /// The registry in force now; requests keep the one they started with.
    pub fn current(&self) -> Arc<SchemaRegistry> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Swaps in a new registry.
    pub fn replace(&self, registry: SchemaRegistry) {
        let mut guard = match self.0.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(registry);
    }
}

/// The path segment an identity's `schema_url` uses for a schema id.
pub fn path_id(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

async fn fetch(source: &SchemaSource) -> Result<Value, SchemaError> {
    let fail = |reason: String| SchemaError::Load {
        id: source.id.clone(),
        url: shorten(&source.url),
        reason,
    };
    let bytes = if let Some(encoded) = source.url.strip_prefix("base64://") {
        crate::inline::decode(encoded).map_err(fail)?
    } else if let Some(path) = source.url.strip_prefix("file://") {
        tokio::fs::read(path)
            .await
            .map_err(|e| fail(e.to_string()))?
    } else if source.url.starts_with("http://") || source.url.starts_with("https://") {
        let client = crate::outbound::client(FETCH_TIMEOUT).map_err(|e| fail(e.0))?;
        let response = client
            .get(&source.url)
            .send()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("HTTP status {}", response.status())));
        }
        crate::outbound::read_bounded(response, MAX_SCHEMA_BYTES)
            .await
            .map_err(|e| fail(e.0))?
    } else if !source.url.contains("://") {
        // A bare path, as some configs write it.
        tokio::fs::read(&source.url)
            .await
            .map_err(|e| fail(e.to_string()))?
    } else {
        return Err(fail(
            "unsupported URL scheme; use file://, base64://, http:// or https://".into(),
        ));
    };
    serde_json::from_slice(&bytes).map_err(|e| fail(format!("not JSON: {e}")))
}

fn shorten(url: &str) -> String {
    if url.starts_with("base64://") && url.len() > 40 {
        format!("{}...", &url[..40])
    } else {
        url.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;

    fn encoded(value: &Value) -> String {
        format!("base64://{}", STANDARD.encode(value.to_string()))
    }

    /// A registry of one schema, `id`, read from `url`.
    async fn load_one(id: &str, url: String) -> Result<SchemaRegistry, SchemaError> {
        let source = SchemaSource {
            id: id.into(),
            url,
            selectable: false,
        };
        SchemaRegistry::load(&[source], id).await
    }

    #[tokio::test]
    async fn loads_validates_and_reports_every_field() {
        let document = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"traits": {"type": "object", "properties": {
                "email": {"type": "string", "format": "email"},
                "age": {"type": "integer"}
            }, "required": ["email"]}}
        });
        let registry = load_one("default", encoded(&document)).await.unwrap();
        let schema = registry.get_by_path_id(&path_id("default")).unwrap();
        assert!(schema.validate_traits(&json!({"email": "a@b.co"})).is_ok());
        let errors = schema
            .validate_traits(&json!({"email": "nope", "age": "x"}))
            .unwrap_err();
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"/traits/email"), "{errors:?}");
        assert!(paths.contains(&"/traits/age"), "{errors:?}");
    }

    #[tokio::test]
    async fn broken_schemas_name_their_id() {
        let broken = json!({"type": 12});
        let err = load_one("customer", encoded(&broken)).await.unwrap_err();
        assert!(err.to_string().contains("\"customer\""), "{err}");
        let err = load_one("a", "file:///does/not/exist.json".into())
            .await
            .unwrap_err();
        assert!(matches!(err, SchemaError::Load { .. }), "{err}");
    }
}
