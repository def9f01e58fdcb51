"""The chart renders, lints and validates against the Kubernetes schemas, in each mode."""

import pathlib
import subprocess
import sys

import pytest
import yaml

from conftest import CHART, ROOT, all_objects, helm, render

KUBE_VERSION = "1.33.0"

MODES = {
    "default": {},
    "cluster-wide": {"clusterWide": True, "replicas": 2},
    "no-leader-election": {"leaderElection": False, "serviceAccount": {"create": False, "name": "ops"}},
    "with-server": {"identityServer": {"enabled": True}},
    "monitoring": {"metrics": {"serviceMonitor": {"enabled": True}, "dashboard": {"enabled": True}}},
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_lint_passes_strict(mode):
    result = helm.lint(str(CHART), MODES[mode], strict=True, namespace="identity", kube_version="v1.33.0")
    assert result["total_charts_linted"] == 1
    assert not result["errors"], result
    # Severity: 1 info, 2 warning, 3 error. Only informational notes are allowed.
    problems = [m for m in result["messages"] if m["severity"] >= 2]
    assert not problems, problems


@pytest.mark.parametrize("mode", sorted(MODES))
def test_renders(mode):
    objects = all_objects(render(MODES[mode]))
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "ServiceAccount" if mode != "no-leader-election" else "Deployment", "Service"} <= kinds
    if mode == "with-server":
        assert "IdentityServer" in kinds
    assert ("ServiceMonitor" in kinds) == (mode == "monitoring")
    assert ("ConfigMap" in kinds) == (mode == "monitoring")


def test_namespaced_rbac_by_default_cluster_wide_on_request():
    default = {o["kind"] for o in all_objects(render())}
    assert "Role" in default and "ClusterRole" not in default
    wide = all_objects(render({"clusterWide": True}))
    cluster_roles = [o for o in wide if o["kind"] == "ClusterRole"]
    assert len(cluster_roles) == 1
    deployment = next(o for o in wide if o["kind"] == "Deployment")
    env = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "WATCH_NAMESPACE" not in env


def test_rbac_is_least_privilege():
    for values in ({}, {"clusterWide": True}):
        for o in all_objects(render(values)):
            if o["kind"] not in ("Role", "ClusterRole"):
                continue
            for rule in o["rules"]:
                assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
                # Only the optional exposure children are ever deleted by the operator; the
                # proxy's delete is an admin API call (a declared identity), no Kubernetes object.
                if "delete" in rule["verbs"]:
                    allowed = {"ingresses", "networkpolicies", "httproutes", "services/proxy"}
                    assert set(rule["resources"]) <= allowed, rule
                assert "escalate" not in rule["verbs"] and "bind" not in rule["verbs"], rule


def test_values_schema_refuses_bad_values():
    with helm.Chart.load(str(CHART)) as chart:
        with pytest.raises(Exception):
            chart.validate_schema({"logFormat": "xml"})
        with pytest.raises(Exception):
            chart.validate_schema({"replicas": -1})
        chart.validate_schema({"replicas": 2, "clusterWide": True})


def _validate(paths):
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--kubernetes-version", KUBE_VERSION, *paths],
        capture_output=True,
        text=True,
    )
    return result


@pytest.mark.parametrize("mode", sorted(MODES))
def test_manifests_pass_kubernetes_validate_strict(mode, tmp_path):
    pytest.importorskip("kubernetes_validate")
    paths = []
    for i, obj in enumerate(all_objects(render(MODES[mode]))):
        if obj["apiVersion"].startswith("bia.dev/"):
            continue  # custom resources are checked against the CRDs by the Rust tests
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # no schema ships for the Prometheus Operator's kinds; test_monitoring.py checks them
        p = tmp_path / f"{i}-{obj['kind']}.yaml"
        p.write_text(yaml.safe_dump(obj))
        paths.append(str(p))
    assert paths
    result = _validate(paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_crds_pass_kubernetes_validate_strict():
    pytest.importorskip("kubernetes_validate")
    crds = sorted(str(p) for p in (CHART / "crds").glob("*.yaml"))
    assert len(crds) == 5
    result = _validate(crds)
    assert result.returncode == 0, result.stdout + result.stderr


def test_chart_crds_are_the_generated_ones():
    for p in (CHART / "crds").glob("*.yaml"):
        assert p.read_text() == (ROOT / "crds" / p.name).read_text(), (
            f"{p} differs from crds/{p.name}; run `cargo run -p bia-crds --bin crdgen`"
        )


def test_strict_validation_catches_a_wrong_manifest(tmp_path):
    pytest.importorskip("kubernetes_validate")
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n")
    assert _validate([str(bad)]).returncode != 0


def test_operator_objects_do_not_collide_with_a_server_named_like_the_release():
    objects = all_objects(render({"identityServer": {"enabled": True, "name": "bia"}}, name="bia"))
    deployments = [o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"]
    assert deployments == ["bia-operator"]


def test_operator_may_read_pods_and_manage_exposure_objects():
    for values in ({}, {"clusterWide": True}):
        role = next(o for o in all_objects(render(values)) if o["kind"] in ("Role", "ClusterRole")
                    and not o["metadata"]["name"].endswith("-leader"))
        granted = {(g, r): set(rule["verbs"]) for rule in role["rules"]
                   for g in rule["apiGroups"] for r in rule["resources"]}
        assert granted[("", "pods")] == {"list"}
        for key in (("networking.k8s.io", "ingresses"), ("networking.k8s.io", "networkpolicies")):
            assert {"get", "list", "watch", "patch", "delete"} <= granted[key], key
        assert {"get", "patch", "delete"} <= granted[("gateway.networking.k8s.io", "httproutes")]
