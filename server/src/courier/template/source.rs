//! Where each template's text comes from: a URI in `courier.templates`, the
//! override directory, or the built-in set, in that order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bia_config::{CourierConfig, TemplateChannels};
use bia_templates::{File, LIMITS, Template};

use super::TemplateError;
use super::builtin;
use super::part::{Part, describe};
use crate::courier::TemplateType;

/// How long fetching one remote template may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Remote templates' texts by URI, fetched once at load.
#[derive(Debug, Default)]
pub struct Fetched(HashMap<String, String>);

/// The URI `courier.templates` gives a template, with its config key.
fn uri(config: &CourierConfig, t: TemplateType, part: Part) -> Option<(String, &str)> {
    let (dir, variant) = t.key_and_variant();
    let templates = &config.templates;
    let variants = match dir {
        "recovery" => &templates.recovery,
        "recovery_code" => &templates.recovery_code,
        "verification" => &templates.verification,
        "verification_code" => &templates.verification_code,
        "registration_code" => &templates.registration_code,
        "login_code" => &templates.login_code,
        _ => return None,
    };
    let channels: &TemplateChannels = match variant {
        "valid" => variants.valid.as_ref()?,
        _ => variants.invalid.as_ref()?,
    };
    let location = match part {
        Part::Subject => channels.email.as_ref()?.subject.as_deref(),
        Part::Html => channels.email.as_ref()?.body.html.as_deref(),
        Part::Plaintext => channels.email.as_ref()?.body.plaintext.as_deref(),
        Part::Sms => channels.sms.as_ref()?.body.plaintext.as_deref(),
    }?;
    let key = format!("courier.templates.{dir}.{variant}.{}", part.key());
    Some((key, location))
}

/// Fetches every `http(s)://` template once; all failures are returned.
pub async fn fetch_remote(config: &CourierConfig) -> Result<Fetched, Vec<TemplateError>> {
    let mut fetched = HashMap::new();
    let mut errors = Vec::new();
    for t in TemplateType::ALL {
        for part in Part::ALL {
            let Some((key, location)) = uri(config, t, part) else {
                continue;
            };
            if !(location.starts_with("http://") || location.starts_with("https://"))
                || fetched.contains_key(location)
            {
                continue;
            }
            match fetch(location).await {
                Ok(text) => {
                    fetched.insert(location.to_owned(), text);
                }
                Err(reason) => errors.push(TemplateError::Load {
                    key,
                    what: describe(t, part),
                    location: shown(location),
                    reason,
                }),
            }
        }
    }
    if errors.is_empty() {
        Ok(Fetched(fetched))
    } else {
        Err(errors)
    }
}

async fn fetch(location: &str) -> Result<String, String> {
    let client = crate::outbound::client(FETCH_TIMEOUT).map_err(|e| e.0)?;
    let response = client
        .get(location)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP status {}", response.status()));
    }
    let bytes = crate::outbound::read_bounded(response, LIMITS.source_bytes)
        .await
        .map_err(|e| e.0)?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())
}

/// The parsed template of `t`'s `part`, from wherever it comes; `None` when
/// there is none at all (an SMS body of a type that sends no SMS).
pub fn parse_one(
    config: &CourierConfig,
    fetched: &Fetched,
    t: TemplateType,
    part: Part,
) -> Result<Option<Template>, TemplateError> {
    let (dir, variant) = t.key_and_variant();
    let relative = format!("{dir}/{variant}/{}", part.file());
    if let Some((key, location)) = uri(config, t, part) {
        let load = |reason: String| TemplateError::Load {
            key: key.clone(),
            what: describe(t, part),
            location: shown(location),
            reason,
        };
        let text = read_uri(location, fetched).map_err(load)?;
        let name = shown(location);
        return parse(
            &key,
            t,
            part,
            &name,
            File {
                name: part.file(),
                text: &text,
            },
            &[],
        )
        .map(Some);
    }
    if let Some(root) = &config.template_override_path {
        let key = "courier.template_override_path";
        let load = |location: String, reason: String| TemplateError::Load {
            key: key.to_owned(),
            what: describe(t, part),
            location,
            reason,
        };
        let root = Path::new(root);
        if !root.is_dir() {
            return Err(load(root.display().to_string(), "not a directory".into()));
        }
        let main = root.join(&relative);
        if main.is_file() {
            let text =
                read_file(&main).map_err(|reason| load(main.display().to_string(), reason))?;
            let mut others = Vec::new();
            for path in siblings(&main, part) {
                let name = file_name(&path);
                let text =
                    read_file(&path).map_err(|reason| load(path.display().to_string(), reason))?;
                others.push((name, text));
            }
            let others: Vec<File<'_>> = others
                .iter()
                .map(|(name, text)| File { name, text })
                .collect();
            let main_file = File {
                name: part.file(),
                text: &text,
            };
            return parse(key, t, part, &relative, main_file, &others).map(Some);
        }
    }
    match builtin::file(&relative) {
        Some(text) => {
            let key = "courier.templates";
            let main = File {
                name: part.file(),
                text,
            };
            parse(key, t, part, &relative, main, &[]).map(Some)
        }
        None => Ok(None),
    }
}

fn parse(
    key: &str,
    t: TemplateType,
    part: Part,
    location: &str,
    main: File<'_>,
    others: &[File<'_>],
) -> Result<Template, TemplateError> {
    bia_templates::parse(part.kind(), main, others).map_err(|reason| TemplateError::Invalid {
        key: key.to_owned(),
        what: describe(t, part),
        location: location.to_owned(),
        reason: Box::new(reason),
    })
}

/// The other files of `main`'s directory in its part's set, sorted by name;
/// at most as many as a set may hold.
fn siblings(main: &Path, part: Part) -> Vec<PathBuf> {
    let Some(dir) = main.parent() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && part.includes(&file_name(p)))
        .collect();
    paths.sort();
    paths.truncate(LIMITS.templates);
    paths
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_file(path: &Path) -> Result<String, String> {
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > LIMITS.source_bytes as u64 {
        return Err(format!("larger than {} bytes", LIMITS.source_bytes));
    }
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

fn read_uri(location: &str, fetched: &Fetched) -> Result<String, String> {
    if let Some(encoded) = location.strip_prefix("base64://") {
        crate::inline::decode_text(encoded, "template")
    } else if let Some(path) = location.strip_prefix("file://") {
        read_file(Path::new(path))
    } else if location.starts_with("http://") || location.starts_with("https://") {
        fetched
            .0
            .get(location)
            .cloned()
            .ok_or_else(|| "not fetched".to_owned())
    } else {
        Err("unsupported URL scheme; use file://, base64://, http:// or https://".into())
    }
}

/// A location as errors show it: base64 shortened, no credentials or query.
fn shown(location: &str) -> String {
    if location.starts_with("base64://") {
        return match location.get(..24) {
            Some(head) if location.len() > 24 => format!("{head}..."),
            _ => location.to_owned(),
        };
    }
    match url::Url::parse(location) {
        Ok(mut url) if url.scheme().starts_with("http") => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.to_string()
        }
        _ => location.to_owned(),
    }
}
