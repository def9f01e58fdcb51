//! Defaults of the server pods: compute resources and topology spreading.

use std::collections::BTreeMap;

use bia_crds::{IdentityServer, Scheduling};
use k8s_openapi::api::core::v1::{ResourceRequirements, TopologySpreadConstraint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// CPU requested by a server container when `spec.resources` is unset.
pub const DEFAULT_CPU_REQUEST: &str = "100m";
/// Memory requested by a server container when `spec.resources` is unset.
pub const DEFAULT_MEMORY_REQUEST: &str = "128Mi";
/// Memory limit of a server container when `spec.resources` is unset.
pub const DEFAULT_MEMORY_LIMIT: &str = "512Mi";

/// The server's `spec.resources`, or requests that let the scheduler place the pods
/// sensibly and a memory limit that stops a leak before it starves the node.
pub fn resources(server: &IdentityServer) -> ResourceRequirements {
    server
        .spec
        .resources
        .clone()
        .unwrap_or_else(|| ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), Quantity(DEFAULT_CPU_REQUEST.into())),
                ("memory".to_owned(), Quantity(DEFAULT_MEMORY_REQUEST.into())),
            ])),
            limits: Some(BTreeMap::from([(
                "memory".to_owned(),
                Quantity(DEFAULT_MEMORY_LIMIT.into()),
            )])),
            ..ResourceRequirements::default()
        })
}

/// The pods' topology spread constraints: the server's own when it gives a list (an
/// empty one means none), else a soft spread over nodes and zones, counted per rollout
/// (`pod-template-hash`) so old pods do not skew where new ones go.
pub fn spread(
    scheduling: &Scheduling,
    selector: &BTreeMap<String, String>,
) -> Option<Vec<TopologySpreadConstraint>> {
    if let Some(own) = &scheduling.topology_spread_constraints {
        return (!own.is_empty()).then(|| own.clone());
    }
    let soft = |key: &str| TopologySpreadConstraint {
        max_skew: 1,
        topology_key: key.to_owned(),
        when_unsatisfiable: "ScheduleAnyway".into(),
        label_selector: Some(LabelSelector {
            match_labels: Some(selector.clone()),
            ..LabelSelector::default()
        }),
        match_label_keys: Some(vec!["pod-template-hash".into()]),
        ..TopologySpreadConstraint::default()
    };
    Some(vec![
        soft("kubernetes.io/hostname"),
        soft("topology.kubernetes.io/zone"),
    ])
}
