//! `/.well-known/ory/webauthn.js`: the script browsers run WebAuthn and
//! passkey ceremonies with.

use utoipa::OpenApi;

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(get_web_authn_java_script))]
pub struct Api;

operations! {
    tag = "frontend";

    fn get_web_authn_java_script(get "/.well-known/ory/webauthn.js", "getWebAuthnJavaScript")
        "Get the WebAuthn script"
        description "The functions that the `onclickTrigger` and `onloadTrigger` attributes of \
            WebAuthn and passkey nodes name (`oryWebAuthnRegistration`, `oryWebAuthnLogin`, \
            `oryPasskeyLogin`, `oryPasskeyLoginAutocompleteInit`, `oryPasskeyRegistration`, \
            `oryPasskeySettingsRegistration`, each also as `__` and the name). The script node \
            carries its subresource integrity digest."
        answers((status = 200, description = "The script.", content_type = "text/javascript", body = String))
        errors[];
}
