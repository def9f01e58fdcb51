//! Types shared by the five kinds: references and status conditions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A key in a Kubernetes Secret in the namespace of the resource that names it.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    pub name: String,
    /// Key inside the Secret's data.
    pub key: String,
}

/// The IdentityServer a resource attaches to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct ServerRef {
    /// Name of the IdentityServer.
    pub name: String,
    /// Namespace of the IdentityServer; the resource's own namespace when unset.
    /// Another namespace is honoured only when the server's namespace selector admits this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl ServerRef {
    /// The namespace this reference points into, given the namespace of the referring resource.
    pub fn namespace_or<'a>(&'a self, own: &'a str) -> &'a str {
        self.namespace.as_deref().unwrap_or(own)
    }
}

/// Truth value of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known yet.
    Unknown,
}

/// One kstatus-style condition. Conditions form a list-map keyed by `type`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Ready` or `Accepted`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether the condition holds.
    pub status: ConditionStatus,
    /// Machine-readable reason in PascalCase.
    pub reason: String,
    /// What a person should know or do.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The generation this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When `status` last changed (RFC 3339); unchanged while the status stays the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

impl Condition {
    /// A condition without a transition time; [`merge_conditions`] fills it in.
    pub fn new(
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_: type_.to_owned(),
            status,
            reason: reason.to_owned(),
            message: message.into(),
            observed_generation: None,
            last_transition_time: None,
        }
    }
}

/// Merges freshly computed conditions with the previous ones: the transition time is
/// kept when a condition's status did not change and set to `now` when it did.
pub fn merge_conditions(
    previous: &[Condition],
    fresh: Vec<Condition>,
    now: &str,
) -> Vec<Condition> {
    fresh
        .into_iter()
        .map(|mut c| {
            let before = previous.iter().find(|p| p.type_ == c.type_);
            c.last_transition_time = match before {
                Some(p) if p.status == c.status => p
                    .last_transition_time
                    .clone()
                    .or_else(|| Some(now.to_owned())),
                _ => Some(now.to_owned()),
            };
            c
        })
        .collect()
}

/// As [`merge_conditions`], keeping the previous conditions of other types (those another
/// part of the operator owns); sorted by type so that the list compares stably.
pub fn merge_keeping_others(
    previous: &[Condition],
    fresh: Vec<Condition>,
    now: &str,
) -> Vec<Condition> {
    let mut merged = merge_conditions(previous, fresh, now);
    let others: Vec<Condition> = previous
        .iter()
        .filter(|p| !merged.iter().any(|c| c.type_ == p.type_))
        .cloned()
        .collect();
    merged.extend(others);
    merged.sort_by(|a, b| a.type_.cmp(&b.type_));
    merged
}

/// Finds a condition by type.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Status shared by the attached kinds (schemas, providers, templates).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachedStatus {
    /// The generation the operator last processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Accepted` tells whether the resource is part of its server's config, and why not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_is_kept_while_status_holds() {
        let before = merge_conditions(
            &[],
            vec![Condition::new("Ready", ConditionStatus::True, "Ok", "")],
            "t1",
        );
        let same = merge_conditions(
            &before,
            vec![Condition::new("Ready", ConditionStatus::True, "Ok", "x")],
            "t2",
        );
        assert_eq!(same[0].last_transition_time.as_deref(), Some("t1"));
        let flipped = merge_conditions(
            &same,
            vec![Condition::new("Ready", ConditionStatus::False, "No", "")],
            "t3",
        );
        assert_eq!(flipped[0].last_transition_time.as_deref(), Some("t3"));
    }
}
