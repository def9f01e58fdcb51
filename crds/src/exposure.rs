//! How an `IdentityServer` is reached: an Ingress or a Gateway API `HTTPRoute` for the
//! public API, the proxies whose forwarded addresses the server believes, and the
//! NetworkPolicy that keeps the admin port closed to other namespaces.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How clients outside the cluster reach the public API. Host and path come from
/// `spec.publicBaseUrl`; the admin API is never exposed by these objects.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Exposure {
    /// An Ingress (`networking.k8s.io/v1`) named like the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressExposure>,
    /// A Gateway API `HTTPRoute` (`gateway.networking.k8s.io/v1`) named like the server;
    /// TLS is terminated by the Gateway's listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_route: Option<HttpRouteExposure>,
    /// Addresses or CIDR ranges of the proxies in front of the public port (ingress
    /// controller or gateway pods), written to `serve.public.trusted_proxies`: their
    /// `X-Forwarded-For` is believed, so throttling and sessions see the real client
    /// address instead of the proxy's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_proxies: Option<Vec<String>>,
}

/// The Ingress of the public API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressExposure {
    /// `spec.ingressClassName`; the cluster's default class when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// Extra annotations for the ingress controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// TLS for the public host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<IngressTls>,
}

/// TLS of the Ingress: a certificate Secret, written by you or by cert-manager.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressTls {
    /// The `kubernetes.io/tls` Secret holding the certificate.
    pub secret_name: String,
    /// Have cert-manager issue the certificate into `secretName` (adds its
    /// `cert-manager.io/issuer` or `cert-manager.io/cluster-issuer` annotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_manager: Option<CertManagerIssuer>,
}

/// The cert-manager issuer that signs the Ingress certificate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertManagerIssuer {
    /// Name of the issuer.
    pub name: String,
    /// `ClusterIssuer` (the default) or `Issuer` (in the server's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<IssuerKind>,
}

/// The kind of a cert-manager issuer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum IssuerKind {
    /// A cluster-wide `ClusterIssuer`.
    #[default]
    ClusterIssuer,
    /// A namespaced `Issuer`.
    Issuer,
}

/// The `HTTPRoute` of the public API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteExposure {
    /// Gateways the route attaches to; at least one.
    pub parent_refs: Vec<GatewayRef>,
}

/// A Gateway (and optionally one of its listeners) an `HTTPRoute` attaches to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayRef {
    /// Name of the Gateway.
    pub name: String,
    /// Namespace of the Gateway; the server's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Listener of the Gateway (`sectionName`); any that admits the route when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

/// The NetworkPolicy of the server pods: the public port is open, the admin port admits
/// pods of the server's own namespace and the peers listed here.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySettings {
    /// Whether the operator writes the NetworkPolicy; true when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Further peers (namespaces, pods, address blocks) admitted to the admin port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_from: Option<Vec<NetworkPolicyPeer>>,
}

impl NetworkPolicySettings {
    /// Whether the NetworkPolicy is written.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}
