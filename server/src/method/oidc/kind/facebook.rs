//! Facebook Login: the user from the Graph API's `GET /me` with the fields
//! Kratos asks for, signed with `appsecret_proof` (the HMAC-SHA256 of the
//! access token under the app secret), as Facebook recommends. Facebook
//! only gives addresses it confirmed: an address is `email_verified`.

use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::{Api, ClaimSet, Fixed, required_id, text};
use crate::method::oidc::provider::ProviderError;

/// Facebook's endpoints.
pub const FIXED: Fixed = Fixed {
    auth_url: "https://facebook.com/dialog/oauth",
    token_url: "https://graph.facebook.com/oauth/access_token",
    api_base: "https://graph.facebook.com",
};

/// The path and fields read (the unversioned Graph API, as Kratos reads it).
const ME: &str =
    "/me?fields=id,name,first_name,last_name,middle_name,email,picture,birthday,gender";

/// The claims of the token's user.
pub async fn claims(api: &Api<'_>, app_secret: &str) -> Result<Map<String, Value>, ProviderError> {
    let proof = appsecret_proof(app_secret, api.access_token);
    let user = api.get(&format!("{ME}&appsecret_proof={proof}")).await?;
    let id = required_id(&user, "/id")?;
    let name = text(&user, "/name");
    let email = text(&user, "/email").filter(|e| !e.is_empty());
    let mut claims = ClaimSet::default();
    claims
        .value("sub", json!(id))
        .value("iss", json!(format!("{}{ME}", FIXED.api_base)))
        .text("name", name)
        .text("given_name", text(&user, "/first_name"))
        .text("family_name", text(&user, "/last_name"))
        .text("middle_name", text(&user, "/middle_name"))
        .text("nickname", name)
        .text("preferred_username", name)
        .text("picture", text(&user, "/picture/data/url"))
        .text("email", email)
        .value("email_verified", json!(email.is_some()))
        .text("gender", text(&user, "/gender"))
        .text("birthdate", text(&user, "/birthday"));
    Ok(claims.done())
}

/// Facebook's `appsecret_proof`: hex of HMAC-SHA256(app secret, token).
fn appsecret_proof(secret: &str, access_token: &str) -> String {
    match <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(access_token.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length: this arm is never taken.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proof_is_the_hmac_of_the_token() {
        // HMAC-SHA256 of "The quick brown fox jumps over the lazy dog" under "key".
        assert_eq!(
            appsecret_proof("key", "The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
