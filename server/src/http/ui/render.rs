//! Plain HTML for the built-in account UI: any flow's form rendered from its
//! UI nodes, the way a custom UI would render them from the API.

use std::fmt::Write as _;

use serde_json::Value;

use crate::flow::ui::{Message, Node, Ui};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A whole page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f}}\
         label{{display:block;margin:.8rem 0 .2rem}}input:not([type=hidden]){{width:100%;padding:.45rem;box-sizing:border-box}}\
         button{{margin-top:1rem;padding:.5rem 1rem}}form{{margin-bottom:1.5rem}}\
         .error{{color:#b00020}}.success{{color:#0a7b34}}.info{{color:#444}}nav a{{margin-right:1rem}}\
         </style></head><body><h1>{title}</h1>\n{body}</body></html>\n",
        title = escape(title)
    )
}

fn messages(list: &[Message]) -> String {
    list.iter()
        .map(|m| {
            format!(
                "<p class=\"{}\" data-message-id=\"{}\">{}</p>\n",
                escape(&m.kind),
                m.id,
                escape(&m.text)
            )
        })
        .collect()
}

fn value_text(value: &Option<Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

fn node_html(node: &Node, others_required: bool) -> String {
    let a = &node.attributes;
    if node.node_type == "a" {
        let title = a.title.as_ref().map_or("", |t| t.text.as_str());
        return format!(
            "<p><a id=\"{}\" href=\"{}\">{}</a></p>\n",
            escape(a.id.as_deref().unwrap_or_default()),
            escape(a.href.as_deref().unwrap_or_default()),
            escape(title)
        );
    }
    let label = node
        .meta
        .label
        .as_ref()
        .map_or_else(|| a.name.clone(), |l| l.text.clone());
    match node.node_type.as_str() {
        "img" => return image_html(node, &label),
        "text" => return text_html(node, &label),
        "script" => return script_html(node),
        _ => {}
    }
    let mut html = match a.input_type.as_str() {
        "hidden" => format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\"{}>\n",
            escape(&a.name),
            escape(&value_text(&a.value)),
            trigger_attribute("data-onload-trigger", a.onload_trigger.as_deref()),
        ),
        "button" if a.onclick_trigger.is_some() => trigger_button_html(node, &label),
        "submit" | "button" => button_html(node, others_required, &label),
        input_type => input_html(node, input_type, &label),
    };
    html.push_str(&messages(&node.messages));
    html
}

/// The WebAuthn script node: only the server's own script is loaded, with
/// its integrity digest.
fn script_html(node: &Node) -> String {
    let a = &node.attributes;
    let Some(src) = a
        .src
        .as_deref()
        .filter(|s| s.ends_with(crate::method::webauthn_script::PATH))
    else {
        return String::new();
    };
    format!(
        "<script id=\"{}\" src=\"{}\" integrity=\"{}\" crossorigin=\"anonymous\" referrerpolicy=\"no-referrer\" async></script>\n",
        escape(a.id.as_deref().unwrap_or_default()),
        escape(src),
        escape(a.integrity.as_deref().unwrap_or_default()),
    )
}

/// A data attribute naming a function of the WebAuthn script, which wires
/// it up (the pages run no inline script).
fn trigger_attribute(name: &str, trigger: Option<&str>) -> String {
    trigger.map_or_else(String::new, |t| format!(" {name}=\"{}\"", escape(t)))
}

/// A button that runs a function of the WebAuthn script with its value.
fn trigger_button_html(node: &Node, label: &str) -> String {
    let a = &node.attributes;
    format!(
        "<button type=\"button\" name=\"{}\" value=\"{}\"{}>{}</button>\n",
        escape(&a.name),
        escape(&value_text(&a.value)),
        trigger_attribute("data-onclick-trigger", a.onclick_trigger.as_deref()),
        escape(label)
    )
}

/// An image (a TOTP QR code); only `data:` URIs are shown.
fn image_html(node: &Node, label: &str) -> String {
    let a = &node.attributes;
    let src = a.src.as_deref().filter(|s| s.starts_with("data:image/"));
    format!(
        "<p>{}<br><img id=\"{}\" alt=\"{}\" width=\"{}\" height=\"{}\" src=\"{}\"></p>\n",
        escape(label),
        escape(a.id.as_deref().unwrap_or_default()),
        escape(label),
        a.width.unwrap_or(256),
        a.height.unwrap_or(256),
        escape(src.unwrap_or_default()),
    )
}

/// A text (a TOTP secret, lookup codes): its label, then the text, or the
/// list of texts its context carries (`secrets`).
fn text_html(node: &Node, label: &str) -> String {
    let a = &node.attributes;
    let Some(text) = &a.text else {
        return String::new();
    };
    let id = escape(a.id.as_deref().unwrap_or_default());
    let items = text
        .context
        .as_ref()
        .and_then(|c| c.get("secrets"))
        .and_then(Value::as_array);
    match items {
        Some(items) => {
            let list: String = items
                .iter()
                .filter_map(|item| item.get("text").and_then(Value::as_str))
                .map(|t| format!("<li><code>{}</code></li>", escape(t)))
                .collect();
            format!("<p>{}</p><ul id=\"{id}\">{list}</ul>\n", escape(label))
        }
        None => format!(
            "<p>{}<br><code id=\"{id}\">{}</code></p>\n",
            escape(label),
            escape(&text.text)
        ),
    }
}

/// A submit button. One that sends something else than the method (e.g.
/// "Resend code"), or a method whose form shares the page with another
/// method's required fields (a sign-in code next to a password), does not
/// need them filled.
fn button_html(node: &Node, others_required: bool, label: &str) -> String {
    let a = &node.attributes;
    format!(
        "<button type=\"submit\" name=\"{}\" value=\"{}\"{}>{}</button>\n",
        escape(&a.name),
        escape(&value_text(&a.value)),
        if a.name == "method" && !others_required {
            ""
        } else {
            " formnovalidate"
        },
        escape(label)
    )
}

/// A labelled input field.
fn input_html(node: &Node, input_type: &str, label: &str) -> String {
    let a = &node.attributes;
    let id = format!("field-{}", a.name.replace('.', "-"));
    let checkbox = input_type == "checkbox";
    let value = if checkbox {
        "true".to_owned()
    } else {
        value_text(&a.value)
    };
    let flag = |on: bool, text: &'static str| if on { text } else { "" };
    let mut extra = a
        .autocomplete
        .as_ref()
        .map(|h| format!(" autocomplete=\"{}\"", escape(h)))
        .unwrap_or_default();
    if let Some(pattern) = &a.pattern {
        let _ = write!(
            extra,
            " pattern=\"{}\" inputmode=\"numeric\"",
            escape(pattern)
        );
    }
    if let Some(max) = a.maxlength {
        let _ = write!(extra, " maxlength=\"{max}\"");
    }
    format!(
        "<label for=\"{id}\">{}</label><input id=\"{id}\" type=\"{}\" name=\"{}\" value=\"{}\"{}{}{}{extra}>\n",
        escape(label),
        escape(input_type),
        escape(&a.name),
        escape(&value),
        flag(a.required == Some(true), " required"),
        flag(a.disabled == Some(true), " disabled"),
        flag(checkbox && a.value == Some(Value::Bool(true)), " checked"),
    )
}

fn form(ui: &Ui, nodes: &[&Node]) -> String {
    let mut html = format!(
        "<form method=\"{}\" action=\"{}\">\n",
        escape(&ui.method),
        escape(&ui.action)
    );
    for node in nodes {
        let others_required = nodes.iter().any(|other| {
            other.attributes.required == Some(true)
                && other.group != "default"
                && other.group != node.group
        });
        html.push_str(&node_html(node, others_required));
    }
    html.push_str("</form>\n");
    html
}

/// A flow's form. With `split_groups`, every method group gets its own form
/// (settings: saving the profile must not require a new password).
pub fn flow_forms(ui: &Ui, split_groups: bool) -> String {
    let mut html = messages(&ui.messages);
    if !split_groups {
        let nodes: Vec<&Node> = ui.nodes.iter().collect();
        html.push_str(&form(ui, &nodes));
        return html;
    }
    let shared: Vec<&Node> = ui.nodes.iter().filter(|n| n.group == "default").collect();
    let mut groups: Vec<&str> = Vec::new();
    for node in &ui.nodes {
        if node.group != "default" && !groups.contains(&node.group.as_str()) {
            groups.push(&node.group);
        }
    }
    for group in groups {
        let mut nodes = shared.clone();
        nodes.extend(ui.nodes.iter().filter(|n| n.group == group));
        let _ = writeln!(html, "<h2>{}</h2>", escape(&title_case(group)));
        html.push_str(&form(ui, &nodes));
    }
    html
}

fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::ui::Node;

    #[test]
    fn images_and_texts_render_and_only_data_images_load() {
        use crate::flow::ui::Message;
        let secret = Message {
            context: Some(serde_json::json!({"secret": "ABC<D"})),
            ..Message::info(1050006, "ABC<D")
        };
        let codes = Message {
            context: Some(serde_json::json!({"secrets": [{"text": "k-1"}, {"text": "used"}]})),
            ..Message::info(1050015, "k-1, used")
        };
        let ui = Ui {
            action: "http://x/self-service/settings?flow=1".into(),
            method: "POST".into(),
            nodes: vec![
                Node::image(
                    "totp",
                    "totp_qr",
                    "data:image/svg+xml;base64,AAAA".into(),
                    256,
                )
                .label(Message::info(1050005, "QR")),
                Node::image("totp", "evil", "javascript:alert(1)".into(), 256),
                Node::text("totp", "totp_secret_key", secret)
                    .label(Message::info(1050017, "Secret")),
                Node::text("lookup_secret", "lookup_secret_codes", codes),
            ],
            messages: Vec::new(),
        };
        let html = flow_forms(&ui, true);
        assert!(html.contains("<img id=\"totp_qr\" alt=\"QR\" width=\"256\" height=\"256\" src=\"data:image/svg+xml;base64,AAAA\">"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            html.contains("<code id=\"totp_secret_key\">ABC&lt;D</code>"),
            "{html}"
        );
        assert!(
            html.contains("<li><code>k-1</code></li><li><code>used</code></li>"),
            "{html}"
        );
    }

    #[test]
    fn nodes_render_escaped_with_labels_and_messages() {
        let mut ui = Ui {
            action: "http://x/self-service/login?flow=1".into(),
            method: "POST".into(),
            nodes: vec![
                Node::input("default", "csrf_token", "hidden").value(Value::String("t\"k".into())),
                Node::input("default", "identifier", "text")
                    .required()
                    .label(Message::info(1070004, "ID"))
                    .value(Value::String("<script>".into())),
                Node::input("password", "method", "submit")
                    .value(Value::String("password".into()))
                    .label(Message::info(1010022, "Sign in")),
            ],
            messages: Vec::new(),
        };
        ui.add_message(Some("identifier"), Message::invalid_credentials());
        let html = flow_forms(&ui, false);
        assert!(html.contains("value=\"t&quot;k\""));
        assert!(html.contains("value=\"&lt;script&gt;\" required"));
        assert!(html.contains("<label for=\"field-identifier\">ID</label>"));
        assert!(html.contains("data-message-id=\"4000006\""));
        assert!(html.contains(
            "<button type=\"submit\" name=\"method\" value=\"password\">Sign in</button>"
        ));
        assert_eq!(html.matches("<form").count(), 1);
        assert_eq!(flow_forms(&ui, true).matches("<form").count(), 1);
    }

    #[test]
    fn webauthn_nodes_render_as_script_and_wired_buttons() {
        let ui = Ui {
            action: "http://x/self-service/login?flow=1".into(),
            method: "POST".into(),
            nodes: vec![
                Node::script(
                    "webauthn",
                    "webauthn_script",
                    "http://x/.well-known/ory/webauthn.js".into(),
                    "sha512-abc".into(),
                ),
                Node::script("webauthn", "evil", "http://evil/x.js".into(), String::new()),
                Node::input("passkey", "passkey_login", "hidden")
                    .on_load("window.a()".into(), "oryPasskeyLoginAutocompleteInit"),
                Node::input("webauthn", "webauthn_login_trigger", "button")
                    .value(Value::String("{\"publicKey\":{}}".into()))
                    .on_click("window.oryWebAuthnLogin({})".into(), "oryWebAuthnLogin")
                    .label(Message::info(1010008, "Key")),
            ],
            messages: Vec::new(),
        };
        let html = flow_forms(&ui, false);
        assert!(html.contains("<script id=\"webauthn_script\" src=\"http://x/.well-known/ory/webauthn.js\" integrity=\"sha512-abc\""), "{html}");
        assert!(!html.contains("evil"), "{html}");
        assert!(
            html.contains("data-onload-trigger=\"oryPasskeyLoginAutocompleteInit\""),
            "{html}"
        );
        assert!(html.contains("<button type=\"button\" name=\"webauthn_login_trigger\" value=\"{&quot;publicKey&quot;:{}}\" data-onclick-trigger=\"oryWebAuthnLogin\">Key</button>"), "{html}");
        assert!(!html.contains("onclick=\""), "no inline script: {html}");
    }
}
