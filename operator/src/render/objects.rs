//! The child objects: config Secret, Deployment, Services, PodDisruptionBudget, and the
//! exposure objects of [`super::exposure`].

use std::collections::BTreeMap;

use bia_crds::IdentityServer;
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile, Secret, SecretKeySelector,
    SecretVolumeSource, SecurityContext, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Resource;
use kube::api::DynamicObject;

use super::{
    ADMIN_PORT, CONFIG_DIR, CONFIG_KEY, DSN_KEY, HASH_ANNOTATION, PUBLIC_PORT, RenderError,
};
use super::{exposure, pod};

/// Names of a server's children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildNames {
    /// Deployment and PodDisruptionBudget.
    pub deployment: String,
    /// Config Secret.
    pub config_secret: String,
    /// Public API Service.
    pub public_service: String,
    /// Admin API Service.
    pub admin_service: String,
}

/// Child names of a server, `None` when it has no name.
pub fn names(server: &IdentityServer) -> Option<ChildNames> {
    let name = server.metadata.name.as_deref()?;
    Some(ChildNames {
        deployment: name.to_owned(),
        config_secret: format!("{name}-config"),
        public_service: format!("{name}-public"),
        admin_service: format!("{name}-admin"),
    })
}

/// The operator's own label naming the server a child belongs to. Children never carry
/// `app.kubernetes.io/instance`: Argo CD tracks its applications by that label, and a
/// server named like its application would have its children pruned as strays.
pub const SERVER_LABEL: &str = "bia.dev/server";

/// The labels every child carries. Fixed: the server's own labels are never copied,
/// so tools that prune by their tracking label leave the children alone.
pub fn child_labels(server_name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "bia".to_owned()),
        (SERVER_LABEL.to_owned(), server_name.to_owned()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "bia-operator".to_owned(),
        ),
    ])
}

/// The pod labels a new server's Deployment, Services, PodDisruptionBudget and
/// NetworkPolicy select. A Deployment created before keeps its own selector (a
/// Deployment's selector cannot change): see [`super::Inputs::existing_selector`].
pub fn selector_labels(server_name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "bia".to_owned()),
        (SERVER_LABEL.to_owned(), server_name.to_owned()),
    ])
}

pub(super) struct Objects {
    pub secret: Secret,
    pub deployment: Deployment,
    pub public_service: Service,
    pub admin_service: Service,
    pub pdb: PodDisruptionBudget,
    pub network_policy: Option<NetworkPolicy>,
    pub ingress: Option<Ingress>,
    pub http_route: Option<DynamicObject>,
}

pub(super) fn render_objects(
    server: &IdentityServer,
    config: &str,
    dsn: &str,
    restart_hash: &str,
    existing_selector: Option<&BTreeMap<String, String>>,
) -> Result<Objects, RenderError> {
    let name = server.metadata.name.clone().ok_or(RenderError::Unnamed)?;
    let namespace = server
        .metadata
        .namespace
        .clone()
        .ok_or(RenderError::Unnamed)?;
    let child = names(server).ok_or(RenderError::Unnamed)?;
    let selector = existing_selector
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| selector_labels(&name));
    let mut pod_labels = child_labels(&name);
    pod_labels.extend(selector.clone());
    let owner = server
        .controller_owner_ref(&())
        .into_iter()
        .collect::<Vec<_>>();
    let meta = |n: &str| ObjectMeta {
        name: Some(n.to_owned()),
        namespace: Some(namespace.clone()),
        labels: Some(child_labels(&name)),
        owner_references: if owner.is_empty() {
            None
        } else {
            Some(owner.clone())
        },
        ..ObjectMeta::default()
    };

    let secret = Secret {
        metadata: meta(&child.config_secret),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([
            (
                CONFIG_KEY.to_owned(),
                ByteString(config.as_bytes().to_vec()),
            ),
            (DSN_KEY.to_owned(), ByteString(dsn.as_bytes().to_vec())),
        ])),
        ..Secret::default()
    };

    let config_file = format!("{CONFIG_DIR}/{CONFIG_KEY}");
    let mount = VolumeMount {
        name: "config".into(),
        mount_path: CONFIG_DIR.into(),
        read_only: Some(true),
        ..VolumeMount::default()
    };
    let security = SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    };
    let probe = |path: &str| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("admin".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(10),
        ..Probe::default()
    };
    let migrate = Container {
        name: "migrate".into(),
        image: Some(server.spec.image.clone()),
        command: Some(vec!["bia".into()]),
        args: Some(
            ["migrate", "sql", "-e", "--yes", "-c", &config_file]
                .map(String::from)
                .to_vec(),
        ),
        env: Some(vec![EnvVar {
            name: "DSN".into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: child.config_secret.clone(),
                    key: DSN_KEY.into(),
                    ..SecretKeySelector::default()
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        }]),
        volume_mounts: Some(vec![mount.clone()]),
        security_context: Some(security.clone()),
        resources: Some(pod::resources(server)),
        ..Container::default()
    };
    let serve = Container {
        name: "bia".into(),
        image: Some(server.spec.image.clone()),
        command: Some(vec!["bia".into()]),
        args: Some(["serve", "-c", &config_file].map(String::from).to_vec()),
        ports: Some(vec![
            ContainerPort {
                name: Some("public".into()),
                container_port: PUBLIC_PORT,
                ..ContainerPort::default()
            },
            ContainerPort {
                name: Some("admin".into()),
                container_port: ADMIN_PORT,
                ..ContainerPort::default()
            },
        ]),
        readiness_probe: Some(probe("/health/ready")),
        liveness_probe: Some(probe("/health/alive")),
        // Liveness waits until the server first answers, for up to two minutes.
        startup_probe: Some(Probe {
            period_seconds: Some(2),
            failure_threshold: Some(60),
            ..probe("/health/alive")
        }),
        volume_mounts: Some(vec![mount]),
        security_context: Some(security),
        resources: Some(pod::resources(server)),
        ..Container::default()
    };
    let mut pod_meta = ObjectMeta {
        labels: Some(pod_labels),
        annotations: Some(BTreeMap::from([(
            HASH_ANNOTATION.to_owned(),
            restart_hash.to_owned(),
        )])),
        ..ObjectMeta::default()
    };
    pod_meta.namespace = None;
    let scheduling = server.spec.scheduling.clone().unwrap_or_default();
    let deployment = Deployment {
        metadata: meta(&child.deployment),
        spec: Some(DeploymentSpec {
            replicas: Some(server.spec.replicas.unwrap_or(1)),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(pod_meta),
                spec: Some(PodSpec {
                    init_containers: Some(vec![migrate]),
                    containers: vec![serve],
                    // The whole Secret is mounted as a directory (no subPath) so that
                    // the kubelet refreshes the file in place and the server can reload it.
                    volumes: Some(vec![Volume {
                        name: "config".into(),
                        secret: Some(SecretVolumeSource {
                            secret_name: Some(child.config_secret.clone()),
                            items: Some(vec![k8s_openapi::api::core::v1::KeyToPath {
                                key: CONFIG_KEY.into(),
                                path: CONFIG_KEY.into(),
                                ..Default::default()
                            }]),
                            ..SecretVolumeSource::default()
                        }),
                        ..Volume::default()
                    }]),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..Default::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    automount_service_account_token: Some(false),
                    image_pull_secrets: server.spec.image_pull_secrets.clone(),
                    node_selector: scheduling.node_selector.clone(),
                    tolerations: scheduling.tolerations.clone(),
                    affinity: scheduling.affinity.clone(),
                    priority_class_name: scheduling.priority_class_name.clone(),
                    topology_spread_constraints: pod::spread(&scheduling, &selector),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };

    let service = |n: &str, port_name: &str, port: i32| Service {
        metadata: meta(n),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector.clone()),
            ports: Some(vec![ServicePort {
                name: Some(port_name.into()),
                port,
                target_port: Some(IntOrString::String(port_name.into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };

    let pdb = PodDisruptionBudget {
        metadata: meta(&child.deployment),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector.clone()),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    };

    Ok(Objects {
        network_policy: exposure::network_policy(server, meta(&child.deployment), &selector),
        ingress: exposure::ingress(server, meta(&child.deployment), &child.public_service)?,
        http_route: exposure::http_route(server, meta(&child.deployment), &child.public_service)?,
        secret,
        deployment,
        public_service: service(&child.public_service, "public", PUBLIC_PORT),
        admin_service: service(&child.admin_service, "admin", ADMIN_PORT),
        pdb,
    })
}
