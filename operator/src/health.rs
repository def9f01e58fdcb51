//! Rollout health of a server: from its Deployment and pods to the conditions the
//! server's status carries. Pure, so the controller and the tests share it.
//!
//! kstatus conditions: `Reconciling` (true while a rollout is under way) and `Stalled`
//! (true when it cannot finish without help) are abnormal-true; `Ready` and the older
//! `Progressing` and `Degraded` are kept beside them for `kubectl wait` and Argo CD.

use bia_crds::{Condition, ConditionStatus};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

/// Restarts after which a container that is not ready counts as crash-looping, even
/// between two `CrashLoopBackOff` waits.
pub const RESTART_LIMIT: i32 = 3;

/// Waiting reasons that do not clear up by themselves.
const STUCK_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// Where a rollout stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rollout {
    /// Every wanted replica runs the current template and is ready.
    Done {
        /// Ready replicas.
        ready: i32,
    },
    /// Pods are being replaced or started.
    Underway {
        /// Ready replicas.
        ready: i32,
    },
    /// The rollout will not finish without help.
    Stuck {
        /// Ready replicas.
        ready: i32,
        /// `CrashLoopBackOff`, `ImagePullBackOff`, ..., `ProgressDeadlineExceeded`.
        reason: String,
        /// Which pod and container, and what it said.
        message: String,
    },
}

impl Rollout {
    /// Whether the rollout is complete.
    pub fn is_done(&self) -> bool {
        matches!(self, Self::Done { .. })
    }
}

/// Judges a Deployment and the pods it selects, wanting `desired` replicas.
pub fn judge(deployment: &Deployment, pods: &[Pod], desired: i32) -> Rollout {
    let status = deployment.status.clone().unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or(0);
    let current = status.observed_generation >= deployment.metadata.generation;
    let done = current
        && status.updated_replicas.unwrap_or(0) >= desired
        && ready >= desired
        && status.replicas.unwrap_or(0) <= desired;
    if !done && let Some((reason, message)) = pods.iter().find_map(pod_trouble) {
        return Rollout::Stuck {
            ready,
            reason,
            message,
        };
    }
    let deadline = status.conditions.iter().flatten().find(|c| {
        c.type_ == "Progressing"
            && c.status == "False"
            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if let (Some(c), false) = (deadline, done) {
        return Rollout::Stuck {
            ready,
            reason: "ProgressDeadlineExceeded".into(),
            message: c
                .message
                .clone()
                .unwrap_or_else(|| "the Deployment exceeded its progress deadline".into()),
        };
    }
    if done {
        Rollout::Done { ready }
    } else {
        Rollout::Underway { ready }
    }
}

/// Why a pod will not become ready by itself, if it will not.
fn pod_trouble(pod: &Pod) -> Option<(String, String)> {
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref()?;
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    containers
        .filter_map(|c| container_trouble(c).map(|(r, m)| (r, format!("pod {name}: {m}"))))
        .next()
}

fn container_trouble(c: &ContainerStatus) -> Option<(String, String)> {
    let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
    let last_exit = c
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .map(|t| {
            format!(
                "; last exit code {}{}",
                t.exit_code,
                t.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let detail = |reason: &str, text: Option<&str>| {
        let text = text.map(|t| format!(": {t}")).unwrap_or_default();
        format!(
            "container {} is {reason} after {} restarts{last_exit}{text}",
            c.name, c.restart_count
        )
    };
    if let Some(reason) = waiting
        .and_then(|w| w.reason.as_deref())
        .filter(|r| STUCK_WAITING.contains(r))
    {
        let message = waiting.and_then(|w| w.message.as_deref());
        return Some((reason.to_owned(), detail(reason, message)));
    }
    if c.restart_count >= RESTART_LIMIT && !c.ready {
        return Some(("Restarting".into(), detail("restarting", None)));
    }
    None
}

/// The conditions of a server whose config is applied, given its rollout. `notes`
/// (fields this server version ignores) end the `Ready` message.
pub fn conditions(rollout: &Rollout, desired: i32, notes: &str) -> Vec<Condition> {
    use ConditionStatus::{False, True};
    match rollout {
        Rollout::Done { ready } => vec![
            Condition::new(
                "Ready",
                True,
                "Available",
                format!("{ready}/{desired} replicas ready{notes}"),
            ),
            Condition::new("Reconciling", False, "RolledOut", ""),
            Condition::new("Stalled", False, "AsExpected", ""),
            Condition::new(
                "Progressing",
                False,
                "RolledOut",
                "the current config is rolled out",
            ),
            Condition::new("Degraded", False, "AsExpected", ""),
        ],
        Rollout::Underway { ready } => vec![
            Condition::new(
                "Ready",
                False,
                "RollingOut",
                format!("{ready}/{desired} replicas ready{notes}"),
            ),
            Condition::new(
                "Reconciling",
                True,
                "RollingOut",
                "waiting for the Deployment to roll out",
            ),
            Condition::new("Stalled", False, "AsExpected", ""),
            Condition::new(
                "Progressing",
                True,
                "RollingOut",
                "waiting for the Deployment to roll out",
            ),
            Condition::new("Degraded", False, "AsExpected", ""),
        ],
        Rollout::Stuck {
            ready,
            reason,
            message,
        } => vec![
            Condition::new(
                "Ready",
                False,
                reason,
                format!("{ready}/{desired} replicas ready; {message}{notes}"),
            ),
            Condition::new(
                "Reconciling",
                False,
                reason,
                "the rollout cannot finish; see Stalled",
            ),
            Condition::new("Stalled", True, reason, message.clone()),
            Condition::new("Progressing", False, reason, message.clone()),
            Condition::new("Degraded", True, reason, message.clone()),
        ],
    }
}
