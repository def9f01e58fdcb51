//! A software authenticator for the WebAuthn tests: P-256 ECDSA keys, CBOR
//! written by hand, answers shaped as the WebAuthn script sends them. Each
//! part of an answer can be bent (origin, challenge, counter, user handle)
//! to play a hostile or broken client.

use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Unpadded base64url, as browsers' scripts write bytes.
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn from_b64url(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .unwrap()
}

/// A CBOR item header.
fn head(major: u8, len: usize, out: &mut Vec<u8>) {
    let major = major << 5;
    match len {
        0..=23 => out.push(major | len as u8),
        24..=255 => out.extend([major | 24, len as u8]),
        256..=65535 => {
            out.push(major | 25);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(major | 26);
            out.extend((len as u32).to_be_bytes());
        }
    }
}

fn cbor_int(value: i64, out: &mut Vec<u8>) {
    if value >= 0 {
        head(0, value as usize, out);
    } else {
        head(1, (-1 - value) as usize, out);
    }
}

fn cbor_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    head(2, bytes.len(), out);
    out.extend(bytes);
}

fn cbor_text(text: &str, out: &mut Vec<u8>) {
    head(3, text.len(), out);
    out.extend(text.as_bytes());
}

/// How to bend an answer.
#[derive(Clone, Default)]
pub struct Bend {
    /// Another origin than the relying party's.
    pub origin: Option<String>,
    /// Another challenge than the options'.
    pub challenge: Option<String>,
    /// Another signature counter than the next one.
    pub counter: Option<u32>,
    /// Another relying party id in the authenticator data.
    pub rp_id: Option<String>,
}

/// One credential of the authenticator.
pub struct SoftKey {
    key: SigningKey,
    /// The credential id.
    pub id: Vec<u8>,
    /// The signature counter of the last answer.
    pub counter: u32,
    /// The user handle it was created for.
    pub user_handle: Vec<u8>,
    rp_id: String,
    origin: String,
}

impl SoftKey {
    /// A new credential for the relying party `rp_id` whose pages run on `origin`.
    pub fn new(rp_id: &str, origin: &str) -> Self {
        let seed: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
            .iter()
            .flat_map(|u| *u.as_bytes())
            .collect();
        Self {
            key: SigningKey::from_slice(&seed).unwrap(),
            id: uuid::Uuid::new_v4().as_bytes().to_vec(),
            counter: 0,
            user_handle: Vec::new(),
            rp_id: rp_id.into(),
            origin: origin.into(),
        }
    }

    fn client_data(&self, kind: &str, options: &Value, bend: &Bend) -> Vec<u8> {
        let challenge = bend.challenge.clone().unwrap_or_else(|| {
            options["publicKey"]["challenge"]
                .as_str()
                .unwrap()
                .to_owned()
        });
        let origin = bend.origin.clone().unwrap_or_else(|| self.origin.clone());
        json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn authenticator_data(&mut self, flags: u8, bend: &Bend) -> Vec<u8> {
        self.counter = bend.counter.unwrap_or(self.counter + 1);
        let rp_id = bend.rp_id.clone().unwrap_or_else(|| self.rp_id.clone());
        let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend(self.counter.to_be_bytes());
        data
    }

    /// The credential's public key as a COSE key (what an admin imports).
    pub fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let mut out = Vec::new();
        head(5, 5, &mut out);
        for (label, value) in [(1, 2), (3, -7), (-1, 1)] {
            cbor_int(label, &mut out);
            cbor_int(value, &mut out);
        }
        cbor_int(-2, &mut out);
        cbor_bytes(point.x().unwrap(), &mut out);
        cbor_int(-3, &mut out);
        cbor_bytes(point.y().unwrap(), &mut out);
        out
    }

    /// The answer to creation options (`{"publicKey": ...}`), as
    /// `navigator.credentials.create` gives it, with user verification.
    pub fn register(&mut self, options: &Value, bend: &Bend) -> Value {
        self.user_handle = from_b64url(options["publicKey"]["user"]["id"].as_str().unwrap());
        let client_data = self.client_data("webauthn.create", options, bend);
        // User present and verified, attested credential data.
        let mut auth_data = self.authenticator_data(0x45, bend);
        auth_data.extend([0u8; 16]);
        auth_data.extend((self.id.len() as u16).to_be_bytes());
        auth_data.extend(&self.id);
        auth_data.extend(self.cose_key());
        let mut attestation = Vec::new();
        head(5, 3, &mut attestation);
        cbor_text("fmt", &mut attestation);
        cbor_text("none", &mut attestation);
        cbor_text("attStmt", &mut attestation);
        head(5, 0, &mut attestation);
        cbor_text("authData", &mut attestation);
        cbor_bytes(&auth_data, &mut attestation);
        json!({
            "id": b64url(&self.id),
            "rawId": b64url(&self.id),
            "type": "public-key",
            "response": {
                "attestationObject": b64url(&attestation),
                "clientDataJSON": b64url(&client_data),
                "transports": ["usb"]
            },
            "extensions": {}
        })
    }

    /// The answer to request options, as `navigator.credentials.get` gives
    /// it, with user verification and the user handle.
    pub fn assert(&mut self, options: &Value, bend: &Bend) -> Value {
        let client_data = self.client_data("webauthn.get", options, bend);
        let auth_data = self.authenticator_data(0x05, bend);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": b64url(&self.id),
            "rawId": b64url(&self.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64url(&auth_data),
                "clientDataJSON": b64url(&client_data),
                "signature": b64url(signature.to_der().as_bytes()),
                "userHandle": b64url(&self.user_handle)
            },
            "extensions": {}
        })
    }
}
