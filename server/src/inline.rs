//! Documents given inline in the configuration as `base64://` URLs (schemas,
//! templates, Jsonnet programs). Kratos accepts standard and URL-safe
//! base64, with or without padding, and so does Bia.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};

/// The bytes of the base64 text after `base64://`; the error names the
/// encoding problem.
pub fn decode(encoded: &str) -> Result<Vec<u8>, String> {
    let encoded = encoded.trim();
    STANDARD
        .decode(encoded)
        .or_else(|_| URL_SAFE.decode(encoded))
        .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')))
        .map_err(|e| format!("invalid base64: {e}"))
}

/// The UTF-8 text of the base64 text after `base64://`; `what` names the
/// document in the error when it is not text.
pub fn decode_text(encoded: &str, what: &str) -> Result<String, String> {
    String::from_utf8(decode(encoded)?).map_err(|_| format!("the decoded {what} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_and_url_safe_forms_with_or_without_padding_decode() {
        for encoded in ["e30=", " e30= ", "e30", "Pz8_", "Pz8/"] {
            assert!(decode(encoded).is_ok(), "{encoded}");
        }
        assert_eq!(decode_text("e30=", "schema").unwrap(), "{}");
    }

    #[test]
    fn malformed_or_binary_input_is_refused_with_a_reason() {
        assert!(
            decode("not base64!")
                .unwrap_err()
                .starts_with("invalid base64")
        );
        assert_eq!(
            decode_text("/w==", "template").unwrap_err(),
            "the decoded template is not UTF-8"
        );
    }
}
