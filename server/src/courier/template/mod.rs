//! Message templates: Kratos's layout and languages (Go `text/template` and
//! `html/template` with Sprig functions, through the `bia-templates` crate).
//!
//! Every template comes from the first of: its URI in `courier.templates`
//! (`file://`, `base64://`, `http(s)://`, fetched once at load), its file in
//! `courier.template_override_path` (`<type dir>/<valid|invalid>/<file>`),
//! the built-in one ([`builtin`]). Everything is read and parsed once, by
//! [`Templates::load`]; a template that does not parse refuses the load,
//! naming the template and the line. Rendering is bounded (`bia_templates`):
//! output size, loop iterations, no recursion.

pub mod builtin;
mod data;
mod part;
mod source;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bia_config::CourierConfig;
use bia_templates::Template;

pub use part::Part;

use super::{Channel, CourierError, Outgoing, Render, Rendered, TemplateType};

/// Why the templates could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A template could not be read or fetched.
    #[error("{key}: cannot load {what} from {location}: {reason}")]
    Load {
        /// The config key that names it.
        key: String,
        /// The template, e.g. `recovery_code_valid email subject`.
        what: String,
        /// Where it was looked for (a base64 URI is shortened).
        location: String,
        /// Why.
        reason: String,
    },
    /// A template does not parse or breaks a limit.
    #[error("{key}: {what} ({location}) is not a valid template: {reason}")]
    Invalid {
        /// The config key that names it.
        key: String,
        /// The template, e.g. `recovery_code_valid email HTML body`.
        what: String,
        /// Its file or URI.
        location: String,
        /// The parser's complaint with the file and line.
        reason: Box<bia_templates::ParseError>,
    },
}

impl TemplateError {
    /// The config key the problem is reported under.
    pub fn key(&self) -> &str {
        match self {
            TemplateError::Load { key, .. } | TemplateError::Invalid { key, .. } => key,
        }
    }

    /// The problem without its key, as the config loader words it.
    pub fn reason(&self) -> String {
        let text = self.to_string();
        text.strip_prefix(&format!("{}: ", self.key()))
            .unwrap_or(&text)
            .to_owned()
    }
}

/// Every template, parsed: one per template type and part.
#[derive(Debug, Default)]
pub struct Templates {
    parsed: HashMap<(TemplateType, Part), Template>,
}

impl Templates {
    /// The built-in templates alone.
    pub fn builtin() -> Result<Templates, TemplateError> {
        Self::from_sources(&CourierConfig::default(), &source::Fetched::default())
    }

    /// Reads, fetches and parses every template the courier section points
    /// at (remote ones once, through `outbound`), falling back to the built-in
    /// ones. The first problem refuses the load.
    pub async fn load(config: &CourierConfig) -> Result<Templates, TemplateError> {
        let fetched = source::fetch_remote(config)
            .await
            .map_err(|mut errors| errors.remove(0))?;
        Self::from_sources(config, &fetched)
    }

    /// The problems of the courier section's templates, for the config
    /// validator: the first under each key.
    pub async fn problems(config: &CourierConfig) -> Vec<TemplateError> {
        match source::fetch_remote(config).await {
            Ok(fetched) => {
                let mut problems = Vec::new();
                for (t, part) in all_parts() {
                    if let Err(e) = source::parse_one(config, &fetched, t, part)
                        && !problems.iter().any(|p: &TemplateError| p.key() == e.key())
                    {
                        problems.push(e);
                    }
                }
                problems
            }
            Err(errors) => errors,
        }
    }

    fn from_sources(
        config: &CourierConfig,
        fetched: &source::Fetched,
    ) -> Result<Templates, TemplateError> {
        let mut parsed = HashMap::new();
        for (t, part) in all_parts() {
            if let Some(template) = source::parse_one(config, fetched, t, part)? {
                parsed.insert((t, part), template);
            }
        }
        Ok(Templates { parsed })
    }

    fn part(
        &self,
        message: &Outgoing,
        part: Part,
        data: &serde_json::Value,
    ) -> Result<String, CourierError> {
        let fail = |reason: String| CourierError::Template {
            template: message.template.as_str(),
            reason,
        };
        let template = self
            .parsed
            .get(&(message.template, part))
            .ok_or_else(|| fail(format!("no {} template", part.describe())))?;
        template
            .render(data)
            .map_err(|e| fail(format!("{}: {e}", part.describe())))
    }
}

fn all_parts() -> impl Iterator<Item = (TemplateType, Part)> {
    TemplateType::ALL
        .into_iter()
        .flat_map(|t| Part::ALL.into_iter().map(move |p| (t, p)))
}

impl Render for Templates {
    fn render(&self, message: &Outgoing) -> Result<Rendered, CourierError> {
        let data = data::complete(message.template, message.channel, &message.data);
        match message.channel {
            Channel::Email => Ok(Rendered {
                // Kratos trims the subject.
                subject: self.part(message, Part::Subject, &data)?.trim().to_owned(),
                body: self.part(message, Part::Plaintext, &data)?,
                html: Some(self.part(message, Part::Html, &data)?),
            }),
            Channel::Sms => Ok(Rendered {
                subject: String::new(),
                body: self.part(message, Part::Sms, &data)?,
                html: None,
            }),
        }
    }
}

/// The templates in force, replaceable while messages render (on a config
/// reload). Clones share the same templates.
#[derive(Clone)]
pub struct TemplateHandle(Arc<RwLock<Arc<Templates>>>);

impl TemplateHandle {
    /// A handle on `templates`.
    pub fn new(templates: Templates) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(templates))))
    }

    /// The templates now in force.
    pub fn current(&self) -> Arc<Templates> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `templates` in force for the next message.
    pub fn replace(&self, templates: Templates) {
        let templates = Arc::new(templates);
        match self.0.write() {
            Ok(mut guard) => *guard = templates,
            Err(poisoned) => *poisoned.into_inner() = templates,
        }
    }
}

impl Render for TemplateHandle {
    fn render(&self, message: &Outgoing) -> Result<Rendered, CourierError> {
        self.current().render(message)
    }
}

#[cfg(test)]
mod tests;
