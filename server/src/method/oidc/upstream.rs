//! What a submission may add to the provider's authorization request
//! (`upstream_parameters`), and the traits a native app submits with an
//! ID token that carries too few claims.

use serde_json::Value;

use super::messages::validation;
use crate::flow::{MethodError, Problem};

/// The parameters a submission may pass on to the provider, as Kratos
/// accepts them: `login_hint`, `hd` (a Google organization's domain),
/// `prompt`, `auth_type` and `acr_values`.
pub const ALLOWED: [&str; 5] = ["login_hint", "hd", "prompt", "auth_type", "acr_values"];
/// The longest value accepted for one parameter.
const MAX_VALUE_BYTES: usize = 512;

/// The `upstream_parameters` of a submission, in a stable order; anything
/// but an object of short strings with allowed names is refused.
pub fn parameters(body: &Value) -> Result<Vec<(String, String)>, MethodError> {
    let object = match body.get("upstream_parameters") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(refused("upstream_parameters must be an object")),
    };
    let mut chosen = Vec::with_capacity(object.len());
    for (name, value) in object {
        if !ALLOWED.contains(&name.as_str()) {
            let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
            return Err(refused(&format!(
                "upstream_parameters.{shown} is not accepted; accepted: {}",
                ALLOWED.join(", ")
            )));
        }
        match value {
            Value::String(text) if text.len() <= MAX_VALUE_BYTES => {
                chosen.push((name.clone(), text.clone()));
            }
            _ => {
                return Err(refused(&format!(
                    "upstream_parameters.{name} must be a string of at most {MAX_VALUE_BYTES} bytes"
                )));
            }
        }
    }
    chosen.sort();
    Ok(chosen)
}

/// A refusal of the submission's `upstream_parameters` (4000001).
fn refused(reason: &str) -> MethodError {
    MethodError::Invalid(vec![Problem::form(validation(reason))])
}

/// Fills the traits the mapper left out with those the submission names
/// (Apple, for one, puts only the address in its ID tokens); what the
/// mapper gave is kept.
pub fn fill_traits(traits: &mut Value, submitted: Option<&Value>) {
    let (Some(Value::Object(mapped)), Some(Value::Object(given))) = (Some(&mut *traits), submitted)
    else {
        return;
    };
    for (name, value) in given {
        mapped.entry(name.clone()).or_insert_with(|| value.clone());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn allowed_parameters_pass_in_order() {
        let body =
            json!({"upstream_parameters": {"prompt": "select_account", "login_hint": "a@b.c"}});
        assert_eq!(
            parameters(&body).ok(),
            Some(vec![
                ("login_hint".to_owned(), "a@b.c".to_owned()),
                ("prompt".to_owned(), "select_account".to_owned()),
            ])
        );
        assert_eq!(parameters(&json!({})).ok(), Some(Vec::new()));
    }

    #[test]
    fn others_are_refused() {
        for body in [
            json!({"upstream_parameters": {"redirect_uri": "https://evil"}}),
            json!({"upstream_parameters": {"prompt": 5}}),
            json!({"upstream_parameters": {"hd": "x".repeat(MAX_VALUE_BYTES + 1)}}),
            json!({"upstream_parameters": ["prompt"]}),
        ] {
            assert!(parameters(&body).is_err(), "{body}");
        }
    }

    #[test]
    fn submitted_traits_fill_only_gaps() {
        let mut traits = json!({"email": "a@b.c"});
        fill_traits(
            &mut traits,
            Some(&json!({"email": "evil@x", "name": "Ann"})),
        );
        assert_eq!(traits, json!({"email": "a@b.c", "name": "Ann"}));
    }
}
