//! Self-service submissions (HTML forms and JSON) and the admin API's JSON
//! bodies, decoded as the extractors decode them once the body is read.
//!
//! Input: the first byte picks the decoder, the rest is the body.
#![no_main]

use bia_server::http::wire::{BatchBody, CreateIdentityBody, PatchedIdentity, UpdateIdentityBody};
use bia_server::http::{decode_json, decode_submission, limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match selector % 6 {
        0 | 1 => {
            let form = selector % 6 == 0;
            if let Ok(value) = decode_submission(form, body) {
                // What passed the limits is within them.
                assert!(value.is_object() || !form);
                assert!(limits::check_value_count(&value).is_ok() || form);
            }
        }
        2 => {
            if let Ok(body) = decode_json::<CreateIdentityBody>(body) {
                let _ = body.into_draft();
            }
        }
        3 => {
            if let Ok(body) = decode_json::<UpdateIdentityBody>(body) {
                let _ = body.into_draft();
            }
        }
        4 => {
            if let Ok(body) = decode_json::<BatchBody>(body) {
                let _ = body.into_entries();
            }
        }
        _ => {
            let _ = decode_json::<json_patch::Patch>(body);
            if let Ok(body) = decode_json::<PatchedIdentity>(body) {
                let _ = body.into_draft();
            }
        }
    }
});
