//! The WebAuthn script browsers load (`/.well-known/ory/webauthn.js`): the
//! functions the trigger attributes of WebAuthn and passkey nodes name, and
//! its subresource integrity digest, which the script node carries.

use std::sync::LazyLock;

use base64::Engine as _;
use sha2::{Digest as _, Sha512};

use crate::flow::ui::Node;

/// The script.
pub const SOURCE: &str = include_str!("webauthn.js");

/// Where the public listener serves it, below the public base URL.
pub const PATH: &str = ".well-known/ory/webauthn.js";

/// `sha512-` and the base64 SHA-512 digest of the script.
pub fn integrity() -> &'static str {
    static DIGEST: LazyLock<String> = LazyLock::new(|| {
        let digest = Sha512::digest(SOURCE.as_bytes());
        format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    });
    &DIGEST
}

/// The script node a form with WebAuthn triggers carries (once).
pub(super) fn node(public_base_url: &str) -> Node {
    Node::script(
        "webauthn",
        "webauthn_script",
        format!("{public_base_url}{PATH}"),
        integrity().to_owned(),
    )
}

/// Adds the script node to `nodes` unless a node already loads it.
pub(super) fn add_once(nodes: &mut Vec<Node>, public_base_url: &str) {
    let present = nodes
        .iter()
        .any(|n| n.attributes.id.as_deref() == Some("webauthn_script"));
    if !present {
        nodes.push(node(public_base_url));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_defines_every_trigger_its_nodes_name() {
        for name in [
            "oryWebAuthnRegistration",
            "oryWebAuthnLogin",
            "oryPasskeyLogin",
            "oryPasskeyLoginAutocompleteInit",
            "oryPasskeyRegistration",
            "oryPasskeySettingsRegistration",
        ] {
            assert!(SOURCE.contains(&format!("{name}: {name}")), "{name}");
        }
        assert!(integrity().starts_with("sha512-"));
        assert_eq!(integrity().len(), "sha512-".len() + 88);
    }

    #[test]
    fn the_script_node_is_added_once() {
        let mut nodes = Vec::new();
        add_once(&mut nodes, "http://localhost:4433/");
        add_once(&mut nodes, "http://localhost:4433/");
        assert_eq!(nodes.len(), 1);
        let attributes = &nodes[0].attributes;
        assert_eq!(
            attributes.src.as_deref(),
            Some("http://localhost:4433/.well-known/ory/webauthn.js")
        );
        assert_eq!(nodes[0].node_type, "script");
    }
}
