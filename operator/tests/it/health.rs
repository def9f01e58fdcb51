//! Rollout health: Deployments and pods judged into kstatus conditions.

use bia_crds::ConditionStatus;
use bia_operator::health::{Rollout, conditions, judge};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

fn deployment(generation: i64, status: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "bia", "namespace": "identity", "generation": generation},
        "spec": {"selector": {"matchLabels": {"bia.dev/server": "bia"}}, "template": {}},
        "status": status,
    }))
    .unwrap()
}

fn rolling() -> Deployment {
    deployment(
        2,
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1}),
    )
}

fn done() -> Deployment {
    deployment(
        2,
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2}),
    )
}

pub fn pod(name: &str, container: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "identity", "labels": {"bia.dev/server": "bia"}},
        "status": {"containerStatuses": [container]},
    }))
    .unwrap()
}

pub fn crash_looping(name: &str) -> Pod {
    pod(
        name,
        json!({"name": "bia", "image": "x", "imageID": "", "ready": false, "restartCount": 4,
               "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
               "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}),
    )
}

fn healthy(name: &str, restarts: i32) -> Pod {
    pod(
        name,
        json!({"name": "bia", "image": "x", "imageID": "", "ready": true, "restartCount": restarts,
               "state": {"running": {}}}),
    )
}

fn stuck_reason(r: &Rollout) -> &str {
    match r {
        Rollout::Stuck { reason, .. } => reason,
        other => panic!("not stuck: {other:?}"),
    }
}

#[test]
fn a_crash_looping_pod_stalls_the_rollout() {
    let r = judge(&rolling(), &[healthy("a", 0), crash_looping("b")], 2);
    assert_eq!(stuck_reason(&r), "CrashLoopBackOff");
    let Rollout::Stuck { message, ready, .. } = &r else {
        unreachable!()
    };
    assert_eq!(*ready, 1);
    assert!(message.contains("pod b: container bia is CrashLoopBackOff after 4 restarts"));
    assert!(message.contains("last exit code 1 (Error)"), "{message}");

    let c = conditions(&r, 2, "");
    let get = |t: &str| c.iter().find(|c| c.type_ == t).unwrap();
    assert_eq!(get("Stalled").status, ConditionStatus::True);
    assert_eq!(get("Stalled").reason, "CrashLoopBackOff");
    assert_eq!(get("Degraded").status, ConditionStatus::True);
    assert_eq!(get("Reconciling").status, ConditionStatus::False);
    assert_eq!(get("Ready").status, ConditionStatus::False);
    assert_eq!(get("Progressing").status, ConditionStatus::False);
}

#[test]
fn an_init_container_that_fails_stalls_too() {
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "m"},
        "status": {"initContainerStatuses": [{"name": "migrate", "image": "x", "imageID": "",
            "ready": false, "restartCount": 1,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]},
    }))
    .unwrap();
    let r = judge(&rolling(), &[p], 2);
    assert_eq!(stuck_reason(&r), "CrashLoopBackOff");
}

#[test]
fn unpullable_images_and_repeated_restarts_stall() {
    let pull = pod(
        "p",
        json!({"name": "bia", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
               "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}}),
    );
    assert_eq!(
        stuck_reason(&judge(&rolling(), &[pull], 2)),
        "ImagePullBackOff"
    );
    let restarting = pod(
        "r",
        json!({"name": "bia", "image": "x", "imageID": "", "ready": false, "restartCount": 3,
               "state": {"running": {}}}),
    );
    assert_eq!(
        stuck_reason(&judge(&rolling(), &[restarting], 2)),
        "Restarting"
    );
    // A transient wait (creating the container) is an ordinary rollout.
    let creating = pod(
        "c",
        json!({"name": "bia", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
               "state": {"waiting": {"reason": "ContainerCreating"}}}),
    );
    assert_eq!(
        judge(&rolling(), &[creating], 2),
        Rollout::Underway { ready: 1 }
    );
}

#[test]
fn an_exceeded_progress_deadline_stalls() {
    let d = deployment(
        2,
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1,
               "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                               "message": "ReplicaSet \"bia-6d\" has timed out progressing."}]}),
    );
    let r = judge(&d, &[], 2);
    assert_eq!(stuck_reason(&r), "ProgressDeadlineExceeded");
    let c = conditions(&r, 2, "");
    let stalled = c.iter().find(|c| c.type_ == "Stalled").unwrap();
    assert!(stalled.message.contains("timed out progressing"));
}

#[test]
fn a_finished_rollout_is_done_even_with_an_old_crash_on_record() {
    // Restarts of a pod that is ready now, and a terminating crashed pod, do not count.
    let mut gone = crash_looping("old");
    gone.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(1).unwrap(),
    ));
    let r = judge(&done(), &[healthy("a", 5), healthy("b", 0), gone], 2);
    assert_eq!(r, Rollout::Done { ready: 2 });
    let c = conditions(&r, 2, "; note");
    let get = |t: &str| c.iter().find(|c| c.type_ == t).unwrap();
    assert_eq!(get("Ready").status, ConditionStatus::True);
    assert_eq!(get("Ready").message, "2/2 replicas ready; note");
    assert_eq!(get("Reconciling").status, ConditionStatus::False);
    assert_eq!(get("Stalled").status, ConditionStatus::False);
}

#[test]
fn a_rollout_under_way_is_reconciling_not_stalled() {
    let r = judge(&rolling(), &[healthy("a", 0)], 2);
    assert_eq!(r, Rollout::Underway { ready: 1 });
    let c = conditions(&r, 2, "");
    let get = |t: &str| c.iter().find(|c| c.type_ == t).unwrap();
    assert_eq!(get("Reconciling").status, ConditionStatus::True);
    assert_eq!(get("Stalled").status, ConditionStatus::False);
    assert_eq!(get("Ready").reason, "RollingOut");
    // A Deployment whose controller has not seen the new generation is not done.
    let stale = deployment(
        3,
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2}),
    );
    assert!(!judge(&stale, &[], 2).is_done());
}
