//! The UI container of a flow: the form a client renders, with messages that
//! carry Kratos's numeric ids. Stored with the flow as a JSON document of the
//! same shape the API sends.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A message for the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Kratos's message id, e.g. 4000006.
    pub id: u64,
    /// The English text.
    pub text: String,
    /// `info`, `error` or `success`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Values the text was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

impl Message {
    /// An informational text (labels).
    pub fn info(id: u64, text: impl Into<String>) -> Self {
        Self {
            id,
            text: text.into(),
            kind: "info".into(),
            context: None,
        }
    }

    /// 1070002: a label taken from an identity schema, the trait's `title`
    /// for the field `name` (e.g. `traits.email`).
    pub fn generated_label(title: &str, name: &str) -> Self {
        Self {
            context: Some(json!({"title": title, "name": name})),
            ..Self::info(1070002, title)
        }
    }

    /// An error with its context.
    pub fn error(id: u64, text: impl Into<String>, context: Value) -> Self {
        Self {
            id,
            text: text.into(),
            kind: "error".into(),
            context: Some(context),
        }
    }

    /// 4000002: a required property is missing.
    pub fn missing(property: &str) -> Self {
        Self::error(
            4000002,
            format!("Property {property} is missing."),
            json!({ "property": property }),
        )
    }

    /// 4010007 (login) or 4040002 (registration): the flow was already
    /// completed and cannot be submitted again.
    pub fn already_completed(registration: bool) -> Self {
        let id = if registration { 4040002 } else { 4010007 };
        Self::error(
            id,
            "The request was already completed successfully and can not be retried.",
            json!({}),
        )
    }

    /// 4000006: the credentials are invalid.
    pub fn invalid_credentials() -> Self {
        Self::error(
            4000006,
            "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.",
            json!({}),
        )
    }

    /// 4000007: the identifier is taken.
    pub fn duplicate_identifier() -> Self {
        Self::error(
            4000007,
            "An account with the same identifier (email, phone, username, ...) exists already.",
            json!({}),
        )
    }
}

/// The attributes of a node: an input's (most nodes) or an anchor's
/// (`node_type` `a`: `href`, `title`, `id`, and none of the input's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputAttributes {
    /// The form field name, e.g. `traits.email` (empty for anchors).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The HTML input type (empty for anchors).
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub input_type: String,
    /// The current value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Whether the field is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// The HTML autocomplete hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocomplete: Option<String>,
    /// The pattern a typed value must match, e.g. `[0-9]+` for codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The longest value accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlength: Option<u32>,
    /// Whether the field is disabled (absent on anchors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Anchors only: where the link goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// Anchors only: the link text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Message>,
    /// Anchors, images and texts: the element id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Images only: the image, as a `data:` URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// Images only: the width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Images only: the height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Texts only: the text to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Message>,
    /// Buttons: the script to run when clicked (e.g.
    /// `window.oryPasskeyLogin()`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onclick: Option<String>,
    /// Buttons: the name of the function of the WebAuthn script to call
    /// when clicked, for UIs that run no inline scripts.
    #[serde(
        rename = "onclickTrigger",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub onclick_trigger: Option<String>,
    /// Inputs: the script to run once the form is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onload: Option<String>,
    /// Inputs: the name of the function to call once the form is shown.
    #[serde(
        rename = "onloadTrigger",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub onload_trigger: Option<String>,
    /// Scripts only: load without blocking the page.
    #[serde(rename = "async", default, skip_serializing_if = "Option::is_none")]
    pub is_async: Option<bool>,
    /// Scripts only: the referrer policy of the script's request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrerpolicy: Option<String>,
    /// Scripts only: the CORS mode of the script's request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossorigin: Option<String>,
    /// Scripts only: the subresource integrity digest of the script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    /// Scripts only: the content security policy nonce (empty: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// `input`, `a`, `img`, `text` or `script`.
    pub node_type: String,
}

/// The node's meta information.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The field's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Message>,
}

/// One form element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Always `input` for now.
    #[serde(rename = "type")]
    pub node_type: String,
    /// `default`, `password`, ...
    pub group: String,
    /// The input's attributes.
    pub attributes: InputAttributes,
    /// Messages about this field.
    pub messages: Vec<Message>,
    /// Its label.
    pub meta: Meta,
}

impl Node {
    /// An input node.
    pub fn input(group: &str, name: &str, input_type: &str) -> Self {
        Self {
            node_type: "input".into(),
            group: group.into(),
            attributes: InputAttributes {
                name: name.into(),
                input_type: input_type.into(),
                value: None,
                required: None,
                autocomplete: None,
                pattern: None,
                maxlength: None,
                disabled: Some(false),
                href: None,
                title: None,
                id: None,
                src: None,
                width: None,
                height: None,
                text: None,
                onclick: None,
                onclick_trigger: None,
                onload: None,
                onload_trigger: None,
                is_async: None,
                referrerpolicy: None,
                crossorigin: None,
                integrity: None,
                nonce: None,
                node_type: "input".into(),
            },
            messages: Vec::new(),
            meta: Meta::default(),
        }
    }

    /// A link node (`a`) in a group, e.g. the "Continue" link of a completed
    /// verification.
    pub fn anchor(group: &str, id: &str, href: &str, title: Message) -> Self {
        let mut node = Self::input(group, "", "");
        node.node_type = "a".into();
        let attributes = &mut node.attributes;
        attributes.node_type = "a".into();
        attributes.disabled = None;
        attributes.href = Some(href.into());
        attributes.title = Some(title);
        attributes.id = Some(id.into());
        node
    }

    /// An image node (`img`), e.g. the QR code of a TOTP enrolment.
    pub fn image(group: &str, id: &str, src: String, size: u32) -> Self {
        let mut node = Self::other(group, id, "img");
        node.attributes.src = Some(src);
        node.attributes.width = Some(size);
        node.attributes.height = Some(size);
        node
    }

    /// A text node (`text`), e.g. a TOTP secret or a list of lookup codes.
    pub fn text(group: &str, id: &str, text: Message) -> Self {
        let mut node = Self::other(group, id, "text");
        node.attributes.text = Some(text);
        node
    }

    /// A script node (`script`): a script the page loads, e.g. the WebAuthn
    /// script that the trigger buttons call, with its integrity digest.
    pub fn script(group: &str, id: &str, src: String, integrity: String) -> Self {
        let mut node = Self::other(group, id, "script");
        let attributes = &mut node.attributes;
        attributes.input_type = "text/javascript".into();
        attributes.src = Some(src);
        attributes.is_async = Some(true);
        attributes.referrerpolicy = Some("no-referrer".into());
        attributes.crossorigin = Some("anonymous".into());
        attributes.integrity = Some(integrity);
        attributes.nonce = Some(String::new());
        node
    }

    /// Sets what a click runs: an inline call and, for UIs that run no
    /// inline scripts, the name of the function it calls.
    pub fn on_click(mut self, script: String, trigger: &str) -> Self {
        self.attributes.onclick = Some(script);
        self.attributes.onclick_trigger = Some(trigger.into());
        self
    }

    /// Sets what runs once the form is shown, as [`Node::on_click`] does.
    pub fn on_load(mut self, script: String, trigger: &str) -> Self {
        self.attributes.onload = Some(script);
        self.attributes.onload_trigger = Some(trigger.into());
        self
    }

    fn other(group: &str, id: &str, node_type: &str) -> Self {
        let mut node = Self::input(group, "", "");
        node.node_type = node_type.into();
        node.attributes.node_type = node_type.into();
        node.attributes.disabled = None;
        node.attributes.id = Some(id.into());
        node
    }

    /// Sets the pattern and the longest value, for codes.
    pub fn digits(mut self, max: u32) -> Self {
        self.attributes.pattern = Some("[0-9]+".into());
        self.attributes.maxlength = Some(max);
        self
    }

    /// The submit button of a method: in the method's group, named `method`,
    /// with the method's id as its value.
    pub fn submit(method: &str, label: Message) -> Self {
        Self::input(method, "method", "submit")
            .value(Value::String(method.into()))
            .label(label)
    }

    /// Marks the field required.
    pub fn required(mut self) -> Self {
        self.attributes.required = Some(true);
        self
    }

    /// Sets the autocomplete hint.
    pub fn autocomplete(mut self, hint: &str) -> Self {
        self.attributes.autocomplete = Some(hint.into());
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: Value) -> Self {
        self.attributes.value = Some(value);
        self
    }

    /// Sets the label.
    pub fn label(mut self, label: Message) -> Self {
        self.meta.label = Some(label);
        self
    }
}

/// The form of a flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ui {
    /// Where the form is submitted.
    pub action: String,
    /// The HTTP method of the submission.
    pub method: String,
    /// The form elements.
    pub nodes: Vec<Node>,
    /// Messages about the whole form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
}

impl Ui {
    /// Clears every message, before a submission is checked again.
    pub fn clear_messages(&mut self) {
        self.messages.clear();
        for node in &mut self.nodes {
            node.messages.clear();
        }
    }

    /// Adds a message to the named node, or to the form when there is none.
    pub fn add_message(&mut self, field: Option<&str>, message: Message) {
        match field.and_then(|f| self.nodes.iter_mut().find(|n| n.attributes.name == f)) {
            Some(node) => node.messages.push(message),
            None => self.messages.push(message),
        }
    }

    /// Copies submitted values back into the visible fields (never secrets).
    pub fn refill(&mut self, body: &Value) {
        for node in &mut self.nodes {
            let attributes = &mut node.attributes;
            if matches!(
                attributes.input_type.as_str(),
                "password" | "submit" | "hidden"
            ) {
                continue;
            }
            let mut current = Some(body);
            for part in attributes.name.split('.') {
                current = current.and_then(|v| v.get(part));
            }
            if let Some(value) = current.filter(|v| !v.is_null()) {
                attributes.value = Some(value.clone());
            }
        }
    }
}
