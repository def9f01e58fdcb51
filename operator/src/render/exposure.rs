//! The objects that expose a server: the Ingress or `HTTPRoute` of the public API and the
//! NetworkPolicy that admits the admin port only from the server's namespace and the
//! peers the server names.

use std::collections::BTreeMap;

use bia_crds::{Exposure, IdentityServer, IssuerKind};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyIngressRule,
    NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

use super::{ADMIN_PORT, PUBLIC_PORT, RenderError};

/// API group of the Gateway API.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// The `HTTPRoute` kind, as the dynamic client addresses it.
pub fn http_route_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GATEWAY_GROUP, "v1", "HTTPRoute"),
        "httproutes",
    )
}

/// Host and path of an `http(s)://` URL; `None` when it is not one.
pub fn host_and_path(url: &str) -> Option<(String, String)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    Some((host.to_ascii_lowercase(), path.to_owned()))
}

/// Why a server's exposure cannot be rendered as given; `None` when it can.
pub fn exposure_problem(server: &IdentityServer) -> Option<String> {
    let exposure = server.spec.exposure.as_ref()?;
    for (i, proxy) in exposure.trusted_proxies.iter().flatten().enumerate() {
        if !is_address_or_cidr(proxy) {
            return Some(format!(
                "spec.exposure.trustedProxies[{i}]: {proxy:?} is not an IP address or CIDR range"
            ));
        }
    }
    if exposure.ingress.is_none() && exposure.http_route.is_none() {
        return None;
    }
    let Some((host, path)) = host_and_path(&server.spec.public_base_url) else {
        return Some("spec.publicBaseUrl is not an http(s) URL".into());
    };
    if host.is_empty()
        || host.starts_with('[')
        || host.parse::<std::net::IpAddr>().is_ok()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Some(format!(
            "spec.publicBaseUrl: an Ingress or HTTPRoute needs a DNS host name, not {host:?}"
        ));
    }
    if !(path.is_empty() || path == "/") {
        return Some(format!(
            "spec.publicBaseUrl: an Ingress or HTTPRoute serves the whole host, so the URL must have no path (found {path:?})"
        ));
    }
    None
}

/// Whether a text is an IPv4 or IPv6 address, or such an address with a prefix length.
pub fn is_address_or_cidr(text: &str) -> bool {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.is_none_or(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok_and(|n| n <= max))
}

/// The trusted proxies written to `serve.public.trusted_proxies`.
pub fn trusted_proxies(server: &IdentityServer) -> Vec<String> {
    server
        .spec
        .exposure
        .as_ref()
        .and_then(|e| e.trusted_proxies.clone())
        .unwrap_or_default()
}

fn host_of(server: &IdentityServer) -> Result<String, RenderError> {
    if let Some(problem) = exposure_problem(server) {
        return Err(RenderError::Invalid {
            field: "spec.exposure".into(),
            reason: problem,
        });
    }
    host_and_path(&server.spec.public_base_url)
        .map(|(host, _)| host)
        .ok_or_else(|| RenderError::Invalid {
            field: "spec.publicBaseUrl".into(),
            reason: "not an http(s) URL".into(),
        })
}

/// The Ingress of the public API, when the server asks for one.
pub fn ingress(
    server: &IdentityServer,
    meta: ObjectMeta,
    public_service: &str,
) -> Result<Option<Ingress>, RenderError> {
    let Some(settings) = server
        .spec
        .exposure
        .as_ref()
        .and_then(|e| e.ingress.as_ref())
    else {
        return Ok(None);
    };
    let host = host_of(server)?;
    let mut annotations = settings.annotations.clone().unwrap_or_default();
    if let Some(issuer) = settings.tls.as_ref().and_then(|t| t.cert_manager.as_ref()) {
        let key = match issuer.kind.unwrap_or_default() {
            IssuerKind::ClusterIssuer => "cert-manager.io/cluster-issuer",
            IssuerKind::Issuer => "cert-manager.io/issuer",
        };
        annotations.insert(key.to_owned(), issuer.name.clone());
    }
    let backend = IngressBackend {
        service: Some(IngressServiceBackend {
            name: public_service.to_owned(),
            port: Some(ServiceBackendPort {
                name: Some("public".into()),
                ..ServiceBackendPort::default()
            }),
        }),
        ..IngressBackend::default()
    };
    Ok(Some(Ingress {
        metadata: ObjectMeta {
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..meta
        },
        spec: Some(IngressSpec {
            ingress_class_name: settings.class_name.clone(),
            tls: settings.tls.as_ref().map(|t| {
                vec![IngressTLS {
                    hosts: Some(vec![host.clone()]),
                    secret_name: Some(t.secret_name.clone()),
                }]
            }),
            rules: Some(vec![IngressRule {
                host: Some(host),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend,
                    }],
                }),
            }]),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    }))
}

/// The `HTTPRoute` of the public API, when the server asks for one.
pub fn http_route(
    server: &IdentityServer,
    meta: ObjectMeta,
    public_service: &str,
) -> Result<Option<DynamicObject>, RenderError> {
    let Some(settings) = server
        .spec
        .exposure
        .as_ref()
        .and_then(|e: &Exposure| e.http_route.as_ref())
    else {
        return Ok(None);
    };
    let host = host_of(server)?;
    let parents: Vec<_> = settings
        .parent_refs
        .iter()
        .map(|p| {
            let mut parent = json!({"group": GATEWAY_GROUP, "kind": "Gateway", "name": p.name});
            if let Some(ns) = &p.namespace {
                parent["namespace"] = json!(ns);
            }
            if let Some(section) = &p.section_name {
                parent["sectionName"] = json!(section);
            }
            parent
        })
        .collect();
    let mut route = DynamicObject::new(
        meta.name.as_deref().unwrap_or_default(),
        &http_route_resource(),
    );
    route.metadata = meta;
    route.data = json!({"spec": {
        "parentRefs": parents,
        "hostnames": [host],
        "rules": [{
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [{"group": "", "kind": "Service", "name": public_service, "port": PUBLIC_PORT}],
        }],
    }});
    Ok(Some(route))
}

/// The NetworkPolicy of the server pods, unless the server turns it off: the public port
/// from anywhere, the admin port from pods of the same namespace and the listed peers.
pub fn network_policy(
    server: &IdentityServer,
    meta: ObjectMeta,
    pods: &BTreeMap<String, String>,
) -> Option<NetworkPolicy> {
    let settings = server.spec.network_policy.clone().unwrap_or_default();
    if !settings.is_enabled() {
        return None;
    }
    // Ports by number: every CNI matches a number the same way.
    let port = |number: i32| NetworkPolicyPort {
        port: Some(IntOrString::Int(number)),
        protocol: Some("TCP".into()),
        ..NetworkPolicyPort::default()
    };
    let mut admin_from = vec![NetworkPolicyPeer {
        pod_selector: Some(LabelSelector::default()),
        ..NetworkPolicyPeer::default()
    }];
    admin_from.extend(settings.admin_from.unwrap_or_default());
    Some(NetworkPolicy {
        metadata: meta,
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(pods.clone()),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![
                NetworkPolicyIngressRule {
                    ports: Some(vec![port(PUBLIC_PORT)]),
                    from: None,
                },
                NetworkPolicyIngressRule {
                    ports: Some(vec![port(ADMIN_PORT)]),
                    from: Some(admin_from),
                },
            ]),
            ..NetworkPolicySpec::default()
        }),
    })
}
