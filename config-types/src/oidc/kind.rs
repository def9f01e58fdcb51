//! The keys only some provider kinds read (`microsoft_tenant`,
//! `subject_source`, the `apple_*` keys, and the keys the OAuth 2.0 kinds,
//! `github-app` and `linkedin` leave unread) and their checks: a key set on a
//! kind that does not read it is refused by name rather than ignored.

use p256::pkcs8::DecodePrivateKey as _;

use super::{MICROSOFT_MULTI_TENANTS, OidcProvider, PROVIDER_KINDS, is_oauth2_kind};

/// The longest Microsoft tenant (a domain name's length).
const MAX_TENANT_BYTES: usize = 253;

/// The problems of the kind-specific keys of `provider`, each with its key.
pub(super) fn problems(provider: &OidcProvider) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let kind = provider.provider.as_str();
    let set = |value: &Option<String>| value.is_some();
    let own_keys = [
        (
            "microsoft_tenant",
            set(&provider.microsoft_tenant),
            "microsoft",
        ),
        ("subject_source", set(&provider.subject_source), "microsoft"),
        ("apple_team_id", set(&provider.apple_team_id), "apple"),
        (
            "apple_private_key_id",
            set(&provider.apple_private_key_id),
            "apple",
        ),
        (
            "apple_private_key",
            set(&provider.apple_private_key),
            "apple",
        ),
    ];
    for (key, set, owner) in own_keys {
        if set && kind != owner {
            problems.push((
                key,
                format!("is only read by {owner} providers, not {kind}"),
            ));
        }
    }
    match kind {
        "microsoft" => microsoft_problems(provider, &mut problems),
        "apple" => apple_problems(provider, &mut problems),
        _ => {}
    }
    problems
}

/// The keys set on `provider` that its kind does not read: OAuth 2.0 kinds
/// have no issuer, ID token or `claims` parameter; `github-app` takes its
/// permissions from the app, not from scopes; `linkedin` always reads
/// userinfo; only the OAuth 2.0 kinds have an `api_base_url`.
pub(super) fn unread_keys(provider: &OidcProvider) -> Vec<&'static str> {
    let kind = provider.provider.as_str();
    let mut unread = Vec::new();
    if is_oauth2_kind(kind) {
        let set = [
            ("issuer_url", provider.issuer_url.is_some()),
            ("claims_source", provider.claims_source.is_some()),
            ("requested_claims", provider.requested_claims.is_some()),
        ];
        unread.extend(set.iter().filter(|(_, set)| *set).map(|(key, _)| *key));
    } else if provider.api_base_url.is_some() && PROVIDER_KINDS.contains(&kind) {
        unread.push("api_base_url");
    }
    if kind == "github-app" && !provider.scope.is_empty() {
        unread.push("scope");
    }
    if kind == "linkedin" && provider.claims_source.is_some() {
        unread.push("claims_source");
    }
    unread
}

fn microsoft_problems(provider: &OidcProvider, problems: &mut Vec<(&'static str, String)>) {
    if let Some(tenant) = &provider.microsoft_tenant
        && !is_tenant(tenant)
    {
        problems.push((
            "microsoft_tenant",
            format!(
                "must be {}, a tenant id or a domain",
                MICROSOFT_MULTI_TENANTS.join(", ")
            ),
        ));
    }
    if let Some(source) = &provider.subject_source
        && !matches!(source.as_str(), "userinfo" | "me")
    {
        problems.push((
            "subject_source",
            format!("{source:?} is not one of userinfo, me"),
        ));
    }
}

fn apple_problems(provider: &OidcProvider, problems: &mut Vec<(&'static str, String)>) {
    let keys = [
        ("apple_team_id", &provider.apple_team_id),
        ("apple_private_key_id", &provider.apple_private_key_id),
        ("apple_private_key", &provider.apple_private_key),
    ];
    let any = keys.iter().any(|(_, value)| value.is_some());
    if !any && provider.client_secret.is_none() {
        problems.push((
            "client_secret",
            "is required unless apple_team_id, apple_private_key_id and apple_private_key are given"
                .into(),
        ));
        return;
    }
    if !any {
        return;
    }
    for (key, value) in keys {
        match value.as_deref() {
            None => problems.push((key, "is required with the other apple_* keys".into())),
            Some("") => problems.push((key, "must not be empty".into())),
            Some(_) => {}
        }
    }
    for (key, value) in &keys[..2] {
        if value
            .as_deref()
            .is_some_and(|v| !v.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            problems.push((key, "must be letters and digits (as Apple shows it)".into()));
        }
    }
    if let Some(pem) = provider
        .apple_private_key
        .as_deref()
        .filter(|p| !p.is_empty())
        && let Err(reason) = apple_signing_key(pem)
    {
        problems.push(("apple_private_key", reason));
    }
}

/// The P-256 key of an `apple_private_key` (PKCS#8 PEM, as in Apple's
/// `.p8` files), or why it is not one.
pub fn apple_signing_key(pem: &str) -> Result<p256::ecdsa::SigningKey, String> {
    p256::ecdsa::SigningKey::from_pkcs8_pem(pem.trim()).map_err(|_| {
        "is not a P-256 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)".to_owned()
    })
}

/// A tenant name, id or domain: letters, digits, '-' and '.'.
fn is_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= MAX_TENANT_BYTES
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
}
