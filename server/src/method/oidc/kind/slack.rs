//! Sign in with Slack (Kratos's `slack`: the identity scopes of Slack's
//! first OAuth version): the user from `GET /users.identity`. Slack answers
//! errors with status 200 and `ok: false`, which is refused.

use serde_json::{Map, Value, json};

use super::{Api, ClaimSet, Fixed, required_id, text};
use crate::method::oidc::provider::ProviderError;

/// Slack's endpoints.
pub const FIXED: Fixed = Fixed {
    auth_url: "https://slack.com/oauth/authorize",
    token_url: "https://slack.com/api/oauth.access",
    api_base: "https://slack.com/api",
};

/// The issuer Kratos names for Slack.
const ISSUER: &str = "https://slack.com/oauth/";

/// The claims of the token's user.
pub async fn claims(api: &Api<'_>) -> Result<Map<String, Value>, ProviderError> {
    let identity = api.get("/users.identity").await?;
    refuse_not_ok(&identity)?;
    let id = required_id(&identity, "/user/id")?;
    let name = text(&identity, "/user/name");
    let mut claims = ClaimSet::default();
    claims
        .value("sub", json!(id))
        .value("iss", json!(ISSUER))
        .text("name", name)
        .text("preferred_username", name)
        .text("nickname", name)
        .text("email", text(&identity, "/user/email"))
        .value("email_verified", json!(true))
        .text("picture", text(&identity, "/user/image_512"))
        .text("team", text(&identity, "/team/id"));
    Ok(claims.done())
}

/// Slack's `ok: false` answers, refused with Slack's error code.
pub fn refuse_not_ok(answer: &Value) -> Result<(), ProviderError> {
    if answer.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    let code: String = text(answer, "/error")
        .unwrap_or("no error given")
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect();
    Err(ProviderError::Unavailable(format!(
        "Slack refused the request ({code})"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ok_answers_pass() {
        assert!(refuse_not_ok(&json!({"ok": true})).is_ok());
        let refused = refuse_not_ok(&json!({"ok": false, "error": "invalid_auth"}));
        assert!(refused.unwrap_err().to_string().contains("invalid_auth"));
        assert!(refuse_not_ok(&json!({})).is_err());
        assert!(refuse_not_ok(&json!({"ok": "true"})).is_err());
    }
}
