//! Message templates in Go's template language, as Kratos's courier writes
//! them: `text/template` for subjects, plain-text bodies and SMS, and
//! `html/template` (contextual escaping) for HTML bodies, with the Sprig
//! functions such templates commonly use.
//!
//! The engine is the `gotmpl` crate, a port of Go's `text/template` and
//! `html/template`. This crate adds what a server needs around it: one
//! function set ([`funcs`]), the conversion of JSON template data
//! ([`data`]), errors that name the file and line, and bounds a hostile
//! template cannot get past ([`bounds`], [`Limits`]): a source size, a
//! nesting depth, no recursive template calls, a cap on the statically
//! expanded size, on `range` iterations per render and on the output.
//!
//! Both the server (which renders) and the operator (which refuses a template
//! before it reaches a server) parse with [`parse`], so they agree on what is
//! valid.

pub mod bounds;
pub mod data;
pub mod funcs;
pub mod syntax;

use std::fmt;

/// How a template's output is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text as written (`text/template`): subjects, plain-text bodies, SMS.
    Text,
    /// HTML with data escaped for its context (`html/template`): email HTML
    /// bodies.
    Html,
}

/// One source file of a template set.
#[derive(Debug, Clone, Copy)]
pub struct File<'a> {
    /// Its name: the template it defines (a file name such as
    /// `email.body.gotmpl`, or a URI).
    pub name: &'a str,
    /// Its text.
    pub text: &'a str,
}

/// The bounds every template is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one source file.
    pub source_bytes: usize,
    /// Bytes one render may write.
    pub output_bytes: usize,
    /// `range` iterations one render may make, over all its loops.
    pub range_iterations: u64,
    /// Nodes of a template once every `{{template}}` call is expanded
    /// ([`bounds`]).
    pub expanded_nodes: u64,
    /// Templates (`define`d or files) in one set.
    pub templates: usize,
}

/// The limits in force.
pub const LIMITS: Limits = Limits {
    source_bytes: 256 * 1024,
    output_bytes: 512 * 1024,
    range_iterations: 5_000,
    expanded_nodes: 5_000,
    templates: 100,
};

/// Why a template was refused when it was loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The file (or `define`d template) at fault.
    pub file: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Why a render failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The output grew past [`Limits::output_bytes`].
    #[error("the output exceeds {0} bytes")]
    TooLarge(usize),
    /// The template failed on this data (a wrong type, a failing function,
    /// the iteration budget).
    #[error("{0}")]
    Failed(String),
}

/// A parsed and checked template set, ready to render.
pub struct Template {
    engine: Engine,
}

enum Engine {
    Text(gotmpl::Template),
    Html(gotmpl::html::Template),
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.engine {
            Engine::Text(_) => "text",
            Engine::Html(_) => "html",
        };
        f.debug_struct("Template").field("kind", &kind).finish()
    }
}

/// Parses `main` (the template that renders) with `others` (files whose
/// templates it may call, as Kratos parses every file of a directory that
/// shares the main file's prefix), and checks it against [`LIMITS`]. An HTML
/// template is also escaped here, so a construct `html/template` cannot
/// escape is refused now rather than at the first message.
pub fn parse(kind: Kind, main: File<'_>, others: &[File<'_>]) -> Result<Template, ParseError> {
    for file in std::iter::once(&main).chain(others) {
        if file.text.len() > LIMITS.source_bytes {
            return Err(ParseError {
                file: file.name.to_owned(),
                line: None,
                message: format!("larger than {} bytes", LIMITS.source_bytes),
            });
        }
        syntax::check(file.text).map_err(|e| ParseError {
            file: file.name.to_owned(),
            line: Some(line_of(file.text, e.offset)),
            message: e.message,
        })?;
    }
    let mut trees = Vec::new();
    for file in others {
        let set = gotmpl::Template::new(file.name)
            .funcs(funcs::all())
            .parse(file.text)
            .map_err(|e| parse_error(file.name, e))?;
        for name in set.templates() {
            if let Some(tree) = set.lookup(name) {
                trees.push((name.to_owned(), tree.clone()));
            }
        }
    }
    let engine = match kind {
        Kind::Text => {
            let mut t = gotmpl::Template::new(main.name)
                .funcs(funcs::all())
                .max_range_iters(LIMITS.range_iterations)
                .parse(main.text)
                .map_err(|e| parse_error(main.name, e))?;
            for (name, tree) in trees {
                if t.lookup(&name).is_none() {
                    t = t.add_parse_tree(&name, tree);
                }
            }
            bounds::check(main.name, &|n| t.lookup(n), &t.templates())?;
            Engine::Text(t)
        }
        Kind::Html => {
            let mut t = gotmpl::html::Template::new(main.name)
                .funcs(funcs::all())
                .max_range_iters(LIMITS.range_iterations)
                .parse(main.text)
                .map_err(|e| parse_error(main.name, e))?;
            for (name, tree) in trees {
                if t.lookup(&name).is_none() {
                    t = t
                        .add_parse_tree(&name, tree)
                        .map_err(|e| parse_error(&name, e))?;
                }
            }
            bounds::check(main.name, &|n| t.lookup(n), &t.templates())?;
            // Escaping runs on the first execution; run it now. Only an
            // escaping error refuses the template: others depend on data.
            let mut sink = Bounded::new(LIMITS.output_bytes);
            if let Err(e @ gotmpl::TemplateError::Escape { .. }) =
                t.execute_fmt(&mut sink, &gotmpl::Value::Nil)
            {
                return Err(parse_error(main.name, e));
            }
            Engine::Html(t)
        }
    };
    Ok(Template { engine })
}

/// Checks one template text as [`parse`] does, for a validator that does not
/// render.
pub fn check(kind: Kind, name: &str, text: &str) -> Result<(), ParseError> {
    parse(kind, File { name, text }, &[]).map(|_| ())
}

impl Template {
    /// Renders with `data` (a JSON object whose keys are the fields the
    /// template reads, `.To`, `.Identity.traits.email`, ...).
    pub fn render(&self, data: &serde_json::Value) -> Result<String, RenderError> {
        let value = data::to_value(data);
        let mut out = Bounded::new(LIMITS.output_bytes);
        let result = match &self.engine {
            Engine::Text(t) => t.execute_fmt(&mut out, &value),
            Engine::Html(t) => t.execute_fmt(&mut out, &value),
        };
        match result {
            Ok(()) => Ok(out.text),
            Err(_) if out.exceeded => Err(RenderError::TooLarge(LIMITS.output_bytes)),
            Err(e) => Err(RenderError::Failed(e.to_string())),
        }
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

fn parse_error(file: &str, error: gotmpl::TemplateError) -> ParseError {
    use gotmpl::TemplateError as E;
    let (line, message) = match error {
        E::Parse { line, message, .. } | E::Lex { line, message, .. } => (line, message),
        E::Escape {
            line, description, ..
        } => (line, description),
        other => (0, other.to_string()),
    };
    ParseError {
        file: file.to_owned(),
        line: (line > 0).then_some(line),
        message,
    }
}

/// A writer that refuses to grow past a size.
struct Bounded {
    text: String,
    max: usize,
    exceeded: bool,
}

impl Bounded {
    fn new(max: usize) -> Self {
        Self {
            text: String::new(),
            max,
            exceeded: false,
        }
    }
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.text.len() + s.len() > self.max {
            self.exceeded = true;
            return Err(fmt::Error);
        }
        self.text.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
