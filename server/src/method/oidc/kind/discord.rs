//! Discord: the user from `GET /users/@me`. The subject is Discord's
//! snowflake id; `name` is `username#discriminator` as Kratos gives it.

use serde_json::{Map, Value, json};

use super::{Api, ClaimSet, Fixed, required_id, text};
use crate::method::oidc::provider::ProviderError;

/// Discord's endpoints.
pub const FIXED: Fixed = Fixed {
    auth_url: "https://discord.com/api/oauth2/authorize",
    token_url: "https://discord.com/api/oauth2/token",
    api_base: "https://discord.com/api",
};

/// The issuer Kratos names for Discord.
const ISSUER: &str = "https://discord.com/api/oauth2/";
/// Where Discord serves avatars.
const CDN: &str = "https://cdn.discordapp.com";

/// The claims of the token's user.
pub async fn claims(api: &Api<'_>) -> Result<Map<String, Value>, ProviderError> {
    let user = api.get("/users/@me").await?;
    let id = required_id(&user, "/id")?;
    let username = text(&user, "/username").unwrap_or("");
    let discriminator = text(&user, "/discriminator").unwrap_or("");
    let mut claims = ClaimSet::default();
    claims
        .value("sub", json!(id))
        .value("iss", json!(ISSUER))
        .text("name", Some(&format!("{username}#{discriminator}")))
        .text("nickname", Some(username))
        .text("preferred_username", Some(username))
        .text(
            "picture",
            Some(&avatar(id, text(&user, "/avatar"), discriminator)),
        )
        .text("email", text(&user, "/email"))
        .value(
            "email_verified",
            json!(user.get("verified").and_then(Value::as_bool) == Some(true)),
        )
        .text("locale", text(&user, "/locale"));
    Ok(claims.done())
}

/// The user's avatar URL, or Discord's default avatar for them.
fn avatar(id: &str, hash: Option<&str>, discriminator: &str) -> String {
    match hash.filter(|h| !h.is_empty()) {
        Some(hash) => {
            let ext = if hash.starts_with("a_") { "gif" } else { "png" };
            format!("{CDN}/avatars/{id}/{hash}.{ext}")
        }
        None => {
            let index = match discriminator {
                "" | "0" => id.parse::<u64>().map_or(0, |id| (id >> 22) % 6),
                d => d.parse::<u64>().map_or(0, |d| d % 5),
            };
            format!("{CDN}/embed/avatars/{index}.png")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatars_are_the_users_or_discords_default() {
        assert_eq!(
            avatar(
                "80351110224678912",
                Some("8342729096ea3675442027381ff50dfe"),
                "1337"
            ),
            "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
        );
        assert!(avatar("1", Some("a_x"), "0").ends_with("/a_x.gif"));
        assert!(avatar("1", None, "1337").ends_with("/embed/avatars/2.png"));
        assert!(avatar("80351110224678912", None, "0").ends_with("/embed/avatars/5.png"));
    }
}
