//! Input limits of both listeners: body sizes, nesting depth and field counts of
//! submitted documents, and header sizes.
//!
//! Every limit answers in the Kratos error envelope with a 4xx before any domain code
//! runs, so no request can exhaust the stack (deeply nested documents), the memory
//! (huge bodies or header blocks) or the hash workers (see `hash::MAX_PASSWORD_BYTES`).

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::ApiError;

/// Default body limit of the public listener: self-service forms are small.
/// `serve.public.request_body_limit` overrides it.
pub const PUBLIC_BODY_LIMIT: usize = 64 * 1024;

/// Default body limit of the admin listener, which takes batch imports (enough
/// for a batch of 2,000 identities).
/// `serve.admin.request_body_limit` overrides it.
pub const ADMIN_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Deepest nesting of objects and arrays accepted in a JSON body, and of dotted
/// names (`traits.name.first` is three levels) in a form body.
pub const MAX_DEPTH: usize = 32;

/// Most values (every object, array, string, number, boolean and null, or every
/// form field) accepted in one self-service submission.
pub const MAX_SUBMISSION_VALUES: usize = 1024;

/// Largest header block accepted (names and values of all headers, cookies
/// included), in bytes.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Why a body was refused before it was decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Objects, arrays or dotted names nest deeper than [`MAX_DEPTH`].
    #[error("The request body nests deeper than {MAX_DEPTH} levels.")]
    TooDeep,
    /// More values or fields than [`MAX_SUBMISSION_VALUES`].
    #[error("The request body holds more than {MAX_SUBMISSION_VALUES} values.")]
    TooManyValues,
}

impl From<LimitError> for ApiError {
    fn from(error: LimitError) -> Self {
        ApiError::bad_request(error.to_string())
    }
}

/// Checks the nesting depth of a JSON text without decoding it: one pass over
/// the bytes, tracking only whether it is inside a string. Malformed JSON is left
/// to the decoder, which reports it properly.
pub fn check_json_depth(bytes: &[u8]) -> Result<(), LimitError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(LimitError::TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Checks how many values a decoded submission holds, without recursion.
pub fn check_value_count(value: &Value) -> Result<(), LimitError> {
    let mut pending = vec![value];
    let mut seen = 0usize;
    while let Some(current) = pending.pop() {
        seen += 1;
        if seen > MAX_SUBMISSION_VALUES {
            return Err(LimitError::TooManyValues);
        }
        match current {
            Value::Object(map) => pending.extend(map.values()),
            Value::Array(items) => pending.extend(items.iter()),
            _ => {}
        }
    }
    Ok(())
}

/// Checks one form field: its dotted name may not nest deeper than [`MAX_DEPTH`],
/// and the form may not have more than [`MAX_SUBMISSION_VALUES`] fields.
pub fn check_form_field(index: usize, name: &str) -> Result<(), LimitError> {
    if index >= MAX_SUBMISSION_VALUES {
        return Err(LimitError::TooManyValues);
    }
    if name.bytes().filter(|&b| b == b'.').count() >= MAX_DEPTH {
        return Err(LimitError::TooDeep);
    }
    Ok(())
}

/// Middleware: refuses a request whose header block exceeds [`MAX_HEADER_BYTES`]
/// with 431 in the Kratos envelope, and marks every 413 `Connection: close`:
/// the rest of an oversized body is never read, so the connection cannot
/// carry another request and a client must not put it back in its pool.
pub async fn limit_headers(request: Request, next: Next) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("The request headers exceed {MAX_HEADER_BYTES} bytes."),
        )
        .into_response();
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_depth_counts_only_structure_outside_strings() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(check_json_depth(deep.as_bytes()), Ok(()));
        let deeper = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            check_json_depth(deeper.as_bytes()),
            Err(LimitError::TooDeep)
        );
        let quoted = format!("{{\"a\": \"{}\\\"{}\"}}", "[".repeat(500), "{".repeat(500));
        assert_eq!(check_json_depth(quoted.as_bytes()), Ok(()));
        // Closing brackets never underflow into a negative depth.
        assert_eq!(check_json_depth(b"]]]]{}"), Ok(()));
    }

    #[test]
    fn value_count_is_bounded() {
        let small = Value::Array(vec![Value::Null; MAX_SUBMISSION_VALUES - 1]);
        assert_eq!(check_value_count(&small), Ok(()));
        let large = Value::Array(vec![Value::Null; MAX_SUBMISSION_VALUES]);
        assert_eq!(check_value_count(&large), Err(LimitError::TooManyValues));
    }

    #[test]
    fn form_fields_are_bounded_in_depth_and_number() {
        let name = vec!["a"; MAX_DEPTH].join(".");
        assert_eq!(check_form_field(0, &name), Ok(()));
        let deeper = vec!["a"; MAX_DEPTH + 1].join(".");
        assert_eq!(check_form_field(0, &deeper), Err(LimitError::TooDeep));
        assert_eq!(
            check_form_field(MAX_SUBMISSION_VALUES, "a"),
            Err(LimitError::TooManyValues)
        );
    }
}
