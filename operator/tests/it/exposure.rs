//! Exposure, NetworkPolicy, pod defaults and labels of the rendered children.

use std::collections::BTreeMap;

use bia_crds::{
    CertManagerIssuer, Exposure, GatewayRef, HttpRouteExposure, IngressExposure, IngressTls,
    IssuerKind, NetworkPolicySettings, Scheduling,
};
use bia_operator::capabilities::ServerCapabilities;
use bia_operator::render::{Inputs, Rendered, SERVER_LABEL, SecretValues, render};
use bia_operator::validate;
use k8s_openapi::api::core::v1::{LocalObjectReference, Toleration};
use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::{Value, json};

use crate::fixtures::*;

fn values() -> SecretValues {
    let mut v = SecretValues::new();
    v.insert_secret(&server_secrets());
    v
}

fn render_server(
    server: &bia_crds::IdentityServer,
    existing: Option<&BTreeMap<String, String>>,
) -> Rendered {
    let schemas = vec![schema("customer-v1", "customer-v1", GOOD_SCHEMA)];
    render(Inputs {
        server,
        schemas: &schemas,
        providers: &[],
        templates: &[],
        secrets: &values(),
        capabilities: ServerCapabilities::CURRENT,
        existing_selector: existing,
    })
    .unwrap()
}

fn exposed() -> bia_crds::IdentityServer {
    let mut s = server();
    s.spec.exposure = Some(Exposure {
        ingress: Some(IngressExposure {
            class_name: Some("nginx".into()),
            annotations: Some(BTreeMap::from([(
                "nginx.ingress.kubernetes.io/proxy-body-size".into(),
                "1m".into(),
            )])),
            tls: Some(IngressTls {
                secret_name: "id-example-com-tls".into(),
                cert_manager: Some(CertManagerIssuer {
                    name: "letsencrypt".into(),
                    kind: None,
                }),
            }),
        }),
        http_route: Some(HttpRouteExposure {
            parent_refs: vec![GatewayRef {
                name: "public".into(),
                namespace: Some("gateways".into()),
                section_name: Some("https".into()),
            }],
        }),
        trusted_proxies: Some(vec!["10.0.0.0/8".into(), "fd00::/8".into()]),
    });
    s
}

/// Problems the controller reports for a server (nothing is rendered while there are any).
fn problems(server: &bia_crds::IdentityServer) -> Vec<(&'static str, String)> {
    let schemas = vec![schema("customer-v1", "customer-v1", GOOD_SCHEMA)];
    validate::plan(
        server,
        &schemas,
        &[],
        &[],
        &values(),
        ServerCapabilities::CURRENT,
    )
    .server_problems
    .into_iter()
    .map(|p| (p.reason, p.message))
    .collect()
}

#[test]
fn exposure_golden() {
    let r = render_server(&exposed(), None);
    insta::assert_yaml_snapshot!("ingress", r.ingress.unwrap());
    insta::assert_yaml_snapshot!("http_route", r.http_route.unwrap());
    insta::assert_yaml_snapshot!("network_policy", r.network_policy.unwrap());
}

#[test]
fn ingress_carries_tls_host_and_the_cert_manager_issuer() {
    let mut s = exposed();
    let r = render_server(&s, None);
    let ingress = serde_json::to_value(r.ingress.unwrap()).unwrap();
    assert_eq!(ingress["spec"]["rules"][0]["host"], "id.example.com");
    assert_eq!(
        ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"],
        json!({"name": "bia-public", "port": {"name": "public"}})
    );
    assert_eq!(
        ingress["spec"]["tls"],
        json!([{"hosts": ["id.example.com"], "secretName": "id-example-com-tls"}])
    );
    let annotations = &ingress["metadata"]["annotations"];
    assert_eq!(annotations["cert-manager.io/cluster-issuer"], "letsencrypt");
    assert_eq!(
        annotations["nginx.ingress.kubernetes.io/proxy-body-size"],
        "1m"
    );
    // A namespaced issuer takes the other annotation.
    let tls = s.spec.exposure.as_mut().unwrap().ingress.as_mut().unwrap();
    tls.tls
        .as_mut()
        .unwrap()
        .cert_manager
        .as_mut()
        .unwrap()
        .kind = Some(IssuerKind::Issuer);
    let ingress = serde_json::to_value(render_server(&s, None).ingress.unwrap()).unwrap();
    assert_eq!(
        ingress["metadata"]["annotations"]["cert-manager.io/issuer"],
        "letsencrypt"
    );
    assert!(ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"].is_null());
}

#[test]
fn http_route_attaches_to_the_gateway_and_sends_to_the_public_service() {
    let route = serde_json::to_value(render_server(&exposed(), None).http_route.unwrap()).unwrap();
    assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1");
    assert_eq!(route["kind"], "HTTPRoute");
    assert_eq!(route["metadata"]["namespace"], NS);
    assert_eq!(route["spec"]["hostnames"], json!(["id.example.com"]));
    assert_eq!(
        route["spec"]["parentRefs"],
        json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public",
                "namespace": "gateways", "sectionName": "https"}])
    );
    assert_eq!(
        route["spec"]["rules"][0]["backendRefs"][0],
        json!({"group": "", "kind": "Service", "name": "bia-public", "port": 4433})
    );
}

#[test]
fn trusted_proxies_reach_the_config_and_the_server_loader_accepts_them() {
    let r = render_server(&exposed(), None);
    let tree = bia_config::parse_yaml(&r.config).unwrap();
    let loaded = bia_config::parse(&tree).unwrap();
    assert_eq!(
        loaded.config.serve.public.trusted_proxies,
        vec!["10.0.0.0/8".to_owned(), "fd00::/8".to_owned()]
    );
    assert!(loaded.warnings.iter().all(|w| w.key == "courier"));
    // Without exposure nothing is trusted.
    let plain = render_server(&server(), None);
    assert!(!plain.config.contains("trusted_proxies"));
    assert!(plain.ingress.is_none() && plain.http_route.is_none());
}

/// One change to a server spec.
type Change = Box<dyn Fn(&mut bia_crds::IdentityServer)>;

#[test]
fn bad_exposure_is_refused_with_a_reason() {
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|s| {
                s.spec.exposure.as_mut().unwrap().trusted_proxies =
                    Some(vec!["10.0.0.0/8".into(), "nope".into()]);
            }),
            "trustedProxies[1]",
        ),
        (
            Box::new(|s| {
                s.spec.exposure.as_mut().unwrap().trusted_proxies =
                    Some(vec!["10.0.0.0/33".into()]);
            }),
            "trustedProxies[0]",
        ),
        (
            Box::new(|s| {
                s.spec.exposure.as_mut().unwrap().trusted_proxies = Some(vec!["10.0.0.1/".into()]);
            }),
            "trustedProxies[0]",
        ),
        (
            Box::new(|s| s.spec.public_base_url = "https://10.1.2.3/".into()),
            "DNS host name",
        ),
        (
            Box::new(|s| s.spec.public_base_url = "https://id.example.com/auth/".into()),
            "no path",
        ),
        (
            Box::new(|s| s.spec.public_base_url = "https://id.exa mple.com/".into()),
            "DNS host name",
        ),
        (
            Box::new(|s| s.spec.public_base_url = "https://[::1]:4433/".into()),
            "DNS host name",
        ),
    ];
    for (change, needle) in cases {
        let mut s = exposed();
        change(&mut s);
        let found = problems(&s);
        assert!(
            found
                .iter()
                .any(|(r, m)| *r == "InvalidExposure" && m.contains(needle)),
            "{needle}: {found:?}"
        );
        // Render refuses too, so nothing half-valid is ever applied.
        let schemas = vec![schema("customer-v1", "customer-v1", GOOD_SCHEMA)];
        let result = render(Inputs {
            server: &s,
            schemas: &schemas,
            providers: &[],
            templates: &[],
            secrets: &values(),
            capabilities: ServerCapabilities::CURRENT,
            existing_selector: None,
        });
        assert!(result.is_err(), "{needle}");
    }
    // A port in the URL is fine.
    let mut s = exposed();
    s.spec.public_base_url = "https://id.example.com:8443".into();
    assert!(problems(&s).is_empty(), "{:?}", problems(&s));
}

#[test]
fn network_policy_opens_public_and_keeps_admin_in_the_namespace() {
    let policy =
        serde_json::to_value(render_server(&server(), None).network_policy.unwrap()).unwrap();
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        json!({"app.kubernetes.io/name": "bia", SERVER_LABEL: "bia"})
    );
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress"]));
    let rules = policy["spec"]["ingress"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[0]["ports"],
        json!([{"port": 4433, "protocol": "TCP"}])
    );
    assert!(rules[0]["from"].is_null(), "public port from anywhere");
    assert_eq!(
        rules[1]["ports"],
        json!([{"port": 4434, "protocol": "TCP"}])
    );
    assert_eq!(rules[1]["from"], json!([{"podSelector": {}}]));

    // Chosen namespaces are added; turning the policy off renders none.
    let mut s = server();
    s.spec.network_policy = Some(NetworkPolicySettings {
        enabled: None,
        admin_from: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "kubernetes.io/metadata.name".into(),
                    "monitoring".into(),
                )])),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        }]),
    });
    let policy = serde_json::to_value(render_server(&s, None).network_policy.unwrap()).unwrap();
    assert_eq!(
        policy["spec"]["ingress"][1]["from"][1]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );
    s.spec.network_policy.as_mut().unwrap().enabled = Some(false);
    assert!(render_server(&s, None).network_policy.is_none());
}

fn pod_spec(r: &Rendered) -> Value {
    serde_json::to_value(&r.deployment).unwrap()["spec"]["template"]["spec"].clone()
}

#[test]
fn pods_get_default_resources_a_startup_probe_and_a_soft_spread() {
    let spec = pod_spec(&render_server(&server(), None));
    for c in [&spec["containers"][0], &spec["initContainers"][0]] {
        assert_eq!(
            c["resources"],
            json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}})
        );
    }
    let startup = &spec["containers"][0]["startupProbe"];
    assert_eq!(startup["httpGet"]["path"], "/health/alive");
    assert_eq!(startup["failureThreshold"], 60);
    let spread = spec["topologySpreadConstraints"].as_array().unwrap();
    let keys: Vec<_> = spread.iter().map(|c| c["topologyKey"].clone()).collect();
    assert_eq!(
        keys,
        vec![
            json!("kubernetes.io/hostname"),
            json!("topology.kubernetes.io/zone")
        ]
    );
    assert!(
        spread
            .iter()
            .all(|c| c["whenUnsatisfiable"] == "ScheduleAnyway")
    );
    assert_eq!(spread[0]["matchLabelKeys"], json!(["pod-template-hash"]));
}

#[test]
fn scheduling_and_pull_secrets_pass_through() {
    let mut s = server();
    s.spec.image_pull_secrets = Some(vec![LocalObjectReference {
        name: "registry".into(),
    }]);
    s.spec.scheduling = Some(Scheduling {
        node_selector: Some(BTreeMap::from([("pool".into(), "identity".into())])),
        tolerations: Some(vec![Toleration {
            key: Some("dedicated".into()),
            operator: Some("Equal".into()),
            value: Some("identity".into()),
            effect: Some("NoSchedule".into()),
            ..Toleration::default()
        }]),
        affinity: None,
        topology_spread_constraints: Some(vec![]),
        priority_class_name: Some("critical".into()),
    });
    let spec = pod_spec(&render_server(&s, None));
    assert_eq!(spec["imagePullSecrets"], json!([{"name": "registry"}]));
    assert_eq!(spec["nodeSelector"], json!({"pool": "identity"}));
    assert_eq!(spec["tolerations"][0]["key"], "dedicated");
    assert_eq!(spec["priorityClassName"], "critical");
    assert!(
        spec["topologySpreadConstraints"].is_null(),
        "an empty list turns spreading off"
    );
}

#[test]
fn children_never_carry_the_argo_cd_tracking_label() {
    let r = render_server(&exposed(), None);
    let all = [
        serde_json::to_value(&r.secret).unwrap(),
        serde_json::to_value(&r.deployment).unwrap(),
        serde_json::to_value(&r.public_service).unwrap(),
        serde_json::to_value(&r.admin_service).unwrap(),
        serde_json::to_value(&r.pdb).unwrap(),
        serde_json::to_value(r.network_policy.as_ref().unwrap()).unwrap(),
        serde_json::to_value(r.ingress.as_ref().unwrap()).unwrap(),
        serde_json::to_value(r.http_route.as_ref().unwrap()).unwrap(),
    ];
    for obj in all {
        let text = obj.to_string();
        assert!(!text.contains("app.kubernetes.io/instance"), "{text}");
        assert_eq!(obj["metadata"]["labels"][SERVER_LABEL], "bia", "{text}");
    }
}

#[test]
fn an_existing_deployment_keeps_its_selector_everywhere() {
    let legacy = BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "bia".to_owned()),
        ("app.kubernetes.io/instance".to_owned(), "bia".to_owned()),
    ]);
    let r = render_server(&server(), Some(&legacy));
    let d = serde_json::to_value(&r.deployment).unwrap();
    assert_eq!(d["spec"]["selector"]["matchLabels"], json!(legacy));
    // The pods carry the old selector's labels and the new one.
    let pod_labels = &d["spec"]["template"]["metadata"]["labels"];
    assert_eq!(pod_labels["app.kubernetes.io/instance"], "bia");
    assert_eq!(pod_labels[SERVER_LABEL], "bia");
    // The Deployment's own labels do not.
    assert!(d["metadata"]["labels"]["app.kubernetes.io/instance"].is_null());
    // Services, PDB and NetworkPolicy select the running pods, so no endpoint drops.
    for selected in [
        serde_json::to_value(&r.public_service).unwrap()["spec"]["selector"].clone(),
        serde_json::to_value(&r.admin_service).unwrap()["spec"]["selector"].clone(),
        serde_json::to_value(&r.pdb).unwrap()["spec"]["selector"]["matchLabels"].clone(),
        serde_json::to_value(r.network_policy.as_ref().unwrap()).unwrap()["spec"]["podSelector"]
            ["matchLabels"]
            .clone(),
    ] {
        assert_eq!(selected, json!(legacy));
    }
    // A new Deployment selects by the operator's label.
    let fresh = serde_json::to_value(&render_server(&server(), None).deployment).unwrap();
    assert_eq!(
        fresh["spec"]["selector"]["matchLabels"],
        json!({"app.kubernetes.io/name": "bia", SERVER_LABEL: "bia"})
    );
}
