//! The conditions a verdict becomes: pure, shared by the controllers (which add
//! transition times and write them) and by `bia-operator render` (which prints them).

use bia_crds::{Condition, ConditionStatus, IdentityServer};
use kube::ResourceExt;

use crate::validate::{Refusal, Verdict};

/// The `Accepted` condition of an attached resource's verdict.
pub fn accepted_condition(verdict: &Verdict, server: &IdentityServer) -> Condition {
    match verdict {
        Verdict::Accepted => Condition::new(
            "Accepted",
            ConditionStatus::True,
            "Accepted",
            format!(
                "part of the config of IdentityServer {}/{}",
                server.namespace().unwrap_or_default(),
                server.name_any()
            ),
        ),
        Verdict::Refused(r) => refused_condition(r),
    }
}

/// The `Accepted=False` condition of a refusal.
pub fn refused_condition(refusal: &Refusal) -> Condition {
    Condition::new(
        "Accepted",
        ConditionStatus::False,
        refusal.reason,
        refusal.message.clone(),
    )
}

/// The refusal of a resource whose `serverRef` names no server.
pub fn server_not_found(server_namespace: &str, server_name: &str) -> Refusal {
    Refusal {
        reason: "ServerNotFound",
        message: format!(
            "IdentityServer {server_namespace}/{server_name} does not exist; this resource waits for it"
        ),
    }
}

/// The server's conditions while it has problems (nothing is rolled out); `None` when it
/// has none.
pub fn problem_conditions(problems: &[Refusal]) -> Option<Vec<Condition>> {
    let first = problems.first()?;
    let message = problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Some(vec![
        Condition::new(
            "Ready",
            ConditionStatus::False,
            first.reason,
            message.clone(),
        ),
        Condition::new(
            "Reconciling",
            ConditionStatus::False,
            first.reason,
            "nothing is rolled out until this is fixed; see Stalled",
        ),
        Condition::new(
            "Stalled",
            ConditionStatus::True,
            first.reason,
            message.clone(),
        ),
        Condition::new(
            "Progressing",
            ConditionStatus::False,
            first.reason,
            "nothing is rolled out until this is fixed",
        ),
        Condition::new("Degraded", ConditionStatus::True, first.reason, message),
    ])
}
