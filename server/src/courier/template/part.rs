//! The parts of a message and where each one's template lives.

use bia_templates::Kind;

use crate::courier::TemplateType;

/// One template of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The email subject (`email.subject.gotmpl`).
    Subject,
    /// The email HTML body (`email.body.gotmpl`).
    Html,
    /// The email plain-text body (`email.body.plaintext.gotmpl`).
    Plaintext,
    /// The SMS text (`sms.body.gotmpl`).
    Sms,
}

impl Part {
    /// Every part.
    pub const ALL: [Part; 4] = [Part::Subject, Part::Html, Part::Plaintext, Part::Sms];

    /// Its file in a template directory.
    pub fn file(self) -> &'static str {
        match self {
            Part::Subject => "email.subject.gotmpl",
            Part::Html => "email.body.gotmpl",
            Part::Plaintext => "email.body.plaintext.gotmpl",
            Part::Sms => "sms.body.gotmpl",
        }
    }

    /// Whether a sibling file belongs to this part's template set: as in
    /// Kratos, every file whose name starts as the part's does
    /// (`email.body.en_US.gotmpl` for the HTML body), except that the HTML
    /// body's set leaves the plain-text files out.
    pub fn includes(self, name: &str) -> bool {
        let prefix = match self {
            Part::Subject => "email.subject",
            Part::Html => "email.body",
            Part::Plaintext => "email.body.plaintext",
            Part::Sms => "sms.body",
        };
        name.starts_with(prefix)
            && name != self.file()
            && !(self == Part::Html && name.starts_with("email.body.plaintext"))
    }

    /// Text or HTML.
    pub fn kind(self) -> Kind {
        match self {
            Part::Html => Kind::Html,
            _ => Kind::Text,
        }
    }

    /// Its config key below `courier.templates.<type>.<variant>`.
    pub fn key(self) -> &'static str {
        match self {
            Part::Subject => "email.subject",
            Part::Html => "email.body.html",
            Part::Plaintext => "email.body.plaintext",
            Part::Sms => "sms.body.plaintext",
        }
    }

    /// How messages name it.
    pub fn describe(self) -> &'static str {
        match self {
            Part::Subject => "email subject",
            Part::Html => "email HTML body",
            Part::Plaintext => "email plain-text body",
            Part::Sms => "SMS body",
        }
    }
}

/// `recovery_code_valid email HTML body`.
pub fn describe(t: TemplateType, part: Part) -> String {
    format!("{} {}", t.as_str(), part.describe())
}
