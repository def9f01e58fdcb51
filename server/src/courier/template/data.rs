//! The data a template sees: the message's data with every field of
//! Kratos's model for its type present, as a Go struct always has its fields
//! (an absent string is `""`, so `{{ if .RequestURLDomain }}` is false rather
//! than printing `<no value>`).

use serde_json::{Map, Value};

use crate::courier::{Channel, TemplateType};

/// Kratos's fields of `t`'s template data, with their zero values.
pub fn fields(t: TemplateType, channel: Channel) -> Vec<(&'static str, Value)> {
    let text = || Value::String(String::new());
    let mut fields = vec![
        ("To", text()),
        ("RequestURL", text()),
        ("TransientPayload", Value::Null),
    ];
    let valid: &[&str] = match t {
        TemplateType::RecoveryValid => &["RecoveryURL"],
        TemplateType::RecoveryCodeValid => &["RecoveryCode"],
        TemplateType::VerificationValid => &["VerificationURL"],
        TemplateType::VerificationCodeValid => &["VerificationURL", "VerificationCode"],
        TemplateType::LoginCodeValid => &["LoginCode"],
        TemplateType::RegistrationCodeValid => &["RegistrationCode"],
        _ => return fields,
    };
    fields.extend(valid.iter().map(|name| (*name, text())));
    fields.push(("ExpiresInMinutes", Value::from(0)));
    if t == TemplateType::RegistrationCodeValid && channel == Channel::Email {
        fields.push(("Traits", Value::Null));
    } else {
        fields.push(("Identity", Value::Null));
    }
    if channel == Channel::Sms {
        fields.push(("RequestURLDomain", text()));
    }
    fields
}

/// `data` with Kratos's missing fields added; an SMS's `RequestURLDomain` is
/// the host of `RequestURL` when not given.
pub fn complete(t: TemplateType, channel: Channel, data: &Value) -> Value {
    let mut map = match data {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    if channel == Channel::Sms && !map.contains_key("RequestURLDomain") {
        let host = map
            .get("RequestURL")
            .and_then(Value::as_str)
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_owned));
        if let Some(host) = host {
            map.insert("RequestURLDomain".into(), Value::String(host));
        }
    }
    for (name, zero) in fields(t, channel) {
        map.entry(name).or_insert(zero);
    }
    Value::Object(map)
}
