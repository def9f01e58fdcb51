//! Helpers: per-object backoff, finalizer patches, event publishing.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Context, Error};

/// Consecutive failures per object, for exponential backoff.
#[derive(Clone, Debug, Default)]
pub struct Backoffs(Arc<Mutex<HashMap<String, u32>>>);

impl Backoffs {
    /// Counts a failure and returns the delay before the next try (5 s doubling to 5 min).
    pub fn fail(&self, key: &str) -> Duration {
        let n = self
            .0
            .lock()
            .map(|mut m| {
                let n = m.entry(key.to_owned()).or_insert(0);
                *n = n.saturating_add(1);
                *n
            })
            .unwrap_or(1);
        error_backoff(n)
    }

    /// Forgets the failures of an object after a success.
    pub fn succeed(&self, key: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(key);
        }
    }
}

/// Delay after the n-th consecutive failure: 5 s, 10 s, 20 s, ... at most 300 s.
pub fn error_backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(6);
    Duration::from_secs((5u64 << exp).min(300))
}

/// The backoff key of an object.
pub fn object_key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// The action after an error: requeue with this object's backoff.
pub fn requeue_after_error<K: Resource<DynamicType = ()>>(obj: &K, ctx: &Context) -> Action {
    Action::requeue(ctx.backoffs.fail(&object_key(obj)))
}

/// Adds (`present = true`) or removes a finalizer, guarded by the resourceVersion.
pub async fn set_finalizer<K>(
    api: &Api<K>,
    obj: &K,
    finalizer: &str,
    present: bool,
) -> Result<(), Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let mut list: Vec<String> = obj.finalizers().to_vec();
    let has = list.iter().any(|f| f == finalizer);
    if has == present {
        return Ok(());
    }
    if present {
        list.push(finalizer.to_owned());
    } else {
        list.retain(|f| f != finalizer);
    }
    let patch =
        json!({"metadata": {"finalizers": list, "resourceVersion": obj.resource_version()}});
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Publishes an event on an object; a failure is logged, never fatal.
pub async fn publish<K>(ctx: &Context, obj: &K, warning: bool, reason: &str, note: String)
where
    K: Resource<DynamicType = ()>,
{
    let event = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.to_owned(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::warn!(error = %e, "cannot publish event");
    }
}

#[cfg(test)]
mod tests {
    use super::error_backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(error_backoff(1), Duration::from_secs(5));
        assert_eq!(error_backoff(2), Duration::from_secs(10));
        assert_eq!(error_backoff(20), Duration::from_secs(300));
    }
}
