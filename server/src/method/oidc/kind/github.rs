//! GitHub (`github`, an OAuth app, and `github-app`): the user from
//! `GET /user`, the address from `GET /user/emails` (the primary one, with
//! GitHub's `verified` as `email_verified`). The subject is the numeric
//! user id as text.

use serde_json::{Map, Value, json};

use super::{Api, ClaimSet, Fixed, text};
use crate::method::oidc::provider::ProviderError;

/// GitHub's endpoints.
pub const FIXED: Fixed = Fixed {
    auth_url: "https://github.com/login/oauth/authorize",
    token_url: "https://github.com/login/oauth/access_token",
    api_base: "https://api.github.com",
};

/// The scope that lets an OAuth app read private addresses.
pub const EMAIL_SCOPE: &str = "user:email";

/// The claims of the token's user; the addresses are read when `emails`
/// (an OAuth app granted `user:email`; a GitHub app always).
pub async fn claims(api: &Api<'_>, emails: bool) -> Result<Map<String, Value>, ProviderError> {
    let user = api.get("/user").await?;
    let id = user
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| ProviderError::Invalid("the user API answer has no numeric id".into()))?;
    let mut claims = ClaimSet::default();
    claims
        .value("sub", json!(id.to_string()))
        .value("iss", json!(FIXED.token_url))
        .text("name", text(&user, "/name"))
        .text("nickname", text(&user, "/login"))
        .text("website", text(&user, "/blog"))
        .text("picture", text(&user, "/avatar_url"))
        .text("profile", text(&user, "/html_url"));
    if let Some(updated) =
        text(&user, "/updated_at").and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    {
        claims.value("updated_at", json!(updated.timestamp()));
    }
    if emails {
        let emails = api.get("/user/emails").await?;
        let list = emails.as_array().ok_or_else(|| {
            ProviderError::Invalid("the address list of the user API is not a list".into())
        })?;
        if let Some((email, verified)) = chosen_email(list) {
            claims
                .text("email", Some(email))
                .value("email_verified", json!(verified));
        }
    }
    Ok(claims.done())
}

/// The primary address (or the last one when none is primary), with
/// whether GitHub verified it.
fn chosen_email(list: &[Value]) -> Option<(&str, bool)> {
    let primary = list
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or(list.last())?;
    let email = primary.get("email").and_then(Value::as_str)?;
    let verified = primary.get("verified").and_then(Value::as_bool) == Some(true);
    Some((email, verified))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_address_is_chosen_with_its_verification() {
        let list = json!([
            {"email": "old@example.com", "primary": false, "verified": true},
            {"email": "me@example.com", "primary": true, "verified": false},
        ]);
        let list = list.as_array().unwrap();
        assert_eq!(chosen_email(list), Some(("me@example.com", false)));
        let none_primary = json!([{"email": "a@example.com", "verified": true}]);
        assert_eq!(
            chosen_email(none_primary.as_array().unwrap()),
            Some(("a@example.com", true))
        );
        assert_eq!(chosen_email(&[]), None);
        assert_eq!(chosen_email(&[json!({"primary": true})]), None);
    }
}
