//! Identity schemas: compiling any JSON document as a schema, then
//! validating traits against it and reading what the `ory.sh/kratos`
//! extension marks in them (identifiers, addresses).
//!
//! Input: two JSON texts one after the other, the schema and the traits
//! (none: empty traits).
#![no_main]

use bia_server::http::decode_json;
use bia_server::schema::{IdentitySchema, extension};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let Some(Ok(document)) = values.next() else {
        return;
    };
    let rest = &data[values.byte_offset()..];
    // Traits arrive in submissions, so they pass the same decoder and limits.
    let traits: Value = if rest.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match decode_json(rest) {
            Ok(traits) => traits,
            Err(_) => return,
        }
    };
    let _ = extension::has_identifier(&document);
    let Ok(schema) = IdentitySchema::compile("fuzz", document) else {
        return;
    };
    let valid = schema.validate_traits(&traits).is_ok();
    let marked = schema.mark(&traits);
    let _ = (valid, marked);
});
