"""End-to-end: the operator against a real cluster. Skipped unless KUBECONFIG is set.

See README.md in this folder for running it with kind or k3d.
"""

import base64
import json
import os
import pathlib
import shutil
import subprocess
import time
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not os.environ.get("KUBECONFIG") or shutil.which("kubectl") is None,
    reason="needs KUBECONFIG and kubectl (a real cluster)",
)

IMAGE = os.environ.get("BIA_IMAGE", "bia:dev")
# A database every server replica can reach; unset: a PostgreSQL deployed in the test namespace.
EXTERNAL_DSN = os.environ.get("BIA_E2E_DSN")
POSTGRES_IMAGE = os.environ.get("BIA_E2E_POSTGRES_IMAGE", "postgres:17-alpine")
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
OPERATOR = os.environ.get("BIA_OPERATOR_BIN", str(TARGET / "debug" / "bia-operator"))
# "1": an operator installed with the chart (clusterWide=true) serves the test namespace;
# "0": start the local binary; unset: the former when a cluster-wide one is installed.
IN_CLUSTER = os.environ.get("BIA_OPERATOR_IN_CLUSTER")
TIMEOUT = os.environ.get("BIA_E2E_TIMEOUT", "180s")


def kubectl(*args, stdin=None, check=True):
    result = subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}")
    return result


def apply(ns, manifest):
    kubectl("-n", ns, "apply", "-f", "-", stdin=json.dumps(manifest))


def get(ns, kind, name):
    return json.loads(kubectl("-n", ns, "get", kind, name, "-o", "json").stdout)


def wait(ns, what, condition, timeout=TIMEOUT):
    kubectl("-n", ns, "wait", f"--for={condition}", what, f"--timeout={timeout}")


def cluster_wide_operator_installed():
    """Whether a chart-installed operator watches every namespace (no WATCH_NAMESPACE)."""
    result = kubectl("get", "deployments", "-A", "-l", "app.kubernetes.io/name=bia-operator", "-o", "json", check=False)
    if result.returncode != 0:
        return False
    for deployment in json.loads(result.stdout)["items"]:
        if not deployment.get("status", {}).get("availableReplicas"):
            continue
        containers = deployment["spec"]["template"]["spec"]["containers"]
        if not any(e["name"] == "WATCH_NAMESPACE" for c in containers for e in c.get("env", [])):
            return True
    return False


def deploy_postgres(ns):
    """A throwaway PostgreSQL (official image, data in an emptyDir) and its DSN."""
    labels = {"app.kubernetes.io/name": "postgres"}
    password = uuid.uuid4().hex
    apply(ns, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "postgres", "labels": labels},
        "spec": {
            "replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{
                    "name": "postgres", "image": POSTGRES_IMAGE,
                    "env": [
                        {"name": "POSTGRES_USER", "value": "bia"},
                        {"name": "POSTGRES_PASSWORD", "value": password},
                        {"name": "POSTGRES_DB", "value": "bia"},
                        {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
                    ],
                    "ports": [{"name": "postgres", "containerPort": 5432}],
                    # Over TCP: during initdb the server listens on its Unix socket only,
                    # so this answers once the final server is up.
                    "readinessProbe": {
                        "exec": {"command": ["pg_isready", "-h", "127.0.0.1", "-U", "bia", "-d", "bia"]},
                        "periodSeconds": 2,
                    },
                    "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql"}],
                }],
                "volumes": [{"name": "data", "emptyDir": {}}],
            }},
        },
    })
    apply(ns, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "postgres", "labels": labels},
        "spec": {"selector": labels, "ports": [{"name": "postgres", "port": 5432, "targetPort": "postgres"}]},
    })
    kubectl("-n", ns, "rollout", "status", "deployment/postgres", f"--timeout={TIMEOUT}")
    return f"postgres://bia:{password}@postgres.{ns}.svc:5432/bia?sslmode=disable"


@pytest.fixture(scope="module")
def namespace():
    kubectl("apply", "--server-side", "-f", str(ROOT / "charts" / "bia" / "crds"))
    ns = f"bia-e2e-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", ns)
    operator = None
    try:
        choice = (IN_CLUSTER or "").strip().lower()
        if choice in ("1", "true", "yes"):
            in_cluster = True
        elif choice in ("0", "false", "no"):
            in_cluster = False
        else:
            in_cluster = cluster_wide_operator_installed()
        if not in_cluster:
            if not os.access(OPERATOR, os.X_OK):
                pytest.fail(
                    f"no operator binary at {OPERATOR}: run `cargo build -p bia-operator`, set "
                    "BIA_OPERATOR_BIN, or install the chart with clusterWide=true (BIA_OPERATOR_IN_CLUSTER=1)"
                )
            env = dict(os.environ, WATCH_NAMESPACE=ns, LEADER_ELECTION="false", LISTEN_ADDR="127.0.0.1:0", RUST_LOG="info")
            operator = subprocess.Popen([OPERATOR], env=env)
        yield ns
    finally:
        if operator is not None:
            operator.terminate()
            operator.wait(timeout=30)
        kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture(scope="module")
def dsn(namespace):
    """The DSN written to the test Secret."""
    return EXTERNAL_DSN or deploy_postgres(namespace)


def secret(ns, name, data):
    apply(ns, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    })


SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
    "properties": {"traits": {"type": "object", "properties": {"email": {
        "type": "string", "format": "email",
        "ory.sh/kratos": {"credentials": {"password": {"identifier": True}}}}}}},
}


def server(ns, policy="Delete"):
    return {
        "apiVersion": "bia.dev/v1alpha1", "kind": "IdentityServer", "metadata": {"name": "bia"},
        "spec": {
            "image": IMAGE, "replicas": 1, "dsn": {"name": "bia-secrets", "key": "dsn"},
            "secrets": {"cookie": [{"name": "bia-secrets", "key": "cookie"}]},
            "publicBaseUrl": "http://127.0.0.1:4433/", "defaultSchemaId": "customer-v1",
            "deletionPolicy": policy,
        },
    }


def schema(name, schema_id, body):
    return {"apiVersion": "bia.dev/v1alpha1", "kind": "IdentitySchema", "metadata": {"name": name},
            "spec": {"schemaId": schema_id, "schema": body, "serverRef": {"name": "bia"}}}


def test_server_waits_for_its_schema_and_secret_then_becomes_ready(namespace, dsn):
    ns = namespace
    apply(ns, server(ns))
    wait(ns, "identityserver/bia", "condition=Degraded=True", "60s")
    secret(ns, "bia-secrets", {"dsn": dsn, "cookie": "e2e-cookie-secret-one"})
    apply(ns, schema("customer-v1", "customer-v1", json.dumps(SCHEMA)))
    wait(ns, "identityschema/customer-v1", "condition=Accepted=True", "60s")
    wait(ns, "identityserver/bia", "condition=Ready=True")


def test_invalid_schema_is_refused_and_the_server_keeps_serving(namespace):
    ns = namespace
    before = get(ns, "secret", "bia-config")["data"]["kratos.yml"]
    apply(ns, schema("broken", "broken-v1", "{ not json"))
    wait(ns, "identityschema/broken", "condition=Accepted=False", "60s")
    assert get(ns, "identityschema", "broken")["status"]["conditions"][0]["reason"] == "InvalidJSON"
    assert get(ns, "secret", "bia-config")["data"]["kratos.yml"] == before
    wait(ns, "identityserver/bia", "condition=Ready=True", "30s")


def test_schema_is_immutable(namespace):
    ns = namespace
    changed = schema("customer-v1", "customer-v1", json.dumps({**SCHEMA, "title": "changed"}))
    result = kubectl("-n", ns, "apply", "-f", "-", stdin=json.dumps(changed), check=False)
    assert result.returncode != 0 and "immutable" in result.stderr


def test_secret_rotation_rolls_out(namespace, dsn):
    ns = namespace
    annotation = lambda: get(ns, "deployment", "bia")["spec"]["template"]["metadata"]["annotations"]["bia.dev/config-hash"]
    before = annotation()
    secret(ns, "bia-secrets", {"dsn": dsn, "cookie": "e2e-cookie-secret-two"})
    deadline = time.time() + 60
    while annotation() == before and time.time() < deadline:
        time.sleep(2)
    assert annotation() != before
    wait(ns, "identityserver/bia", "condition=Ready=True")


def patch_server(ns, spec):
    kubectl("-n", ns, "patch", "identityserver", "bia", "--type", "merge", "-p", json.dumps({"spec": spec}))


def exists(ns, kind, name):
    return kubectl("-n", ns, "get", kind, name, check=False).returncode == 0


def eventually(predicate, seconds=90):
    deadline = time.time() + seconds
    while not predicate() and time.time() < deadline:
        time.sleep(2)
    return predicate()


def test_children_use_operator_labels_and_the_admin_port_is_fenced(namespace):
    ns = namespace
    deployment = get(ns, "deployment", "bia")
    assert "app.kubernetes.io/instance" not in deployment["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"]["bia.dev/server"] == "bia"
    policy = get(ns, "networkpolicy", "bia")
    ports = [[p["port"] for p in rule["ports"]] for rule in policy["spec"]["ingress"]]
    assert ports == [[4433], [4434]]
    assert policy["spec"]["ingress"][1]["from"] == [{"podSelector": {}}]
    server = get(ns, "identityserver", "bia")
    assert server["status"]["observedGeneration"] == server["metadata"]["generation"]
    types = {c["type"]: c["status"] for c in server["status"]["conditions"]}
    assert types["Reconciling"] == "False" and types["Stalled"] == "False"


def admin_api(ns, path):
    """GET on the server's admin API through the API server's Service proxy, as the operator reaches it."""
    result = kubectl("get", "--raw", f"/api/v1/namespaces/{ns}/services/bia-admin:admin/proxy{path}", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def declared_identity(name, email, **spec):
    return {"apiVersion": "bia.dev/v1alpha1", "kind": "Identity", "metadata": {"name": name},
            "spec": {"serverRef": {"name": "bia"}, "schemaId": "customer-v1",
                     "traits": {"email": email},
                     "credentials": {"password": {"secretRef": {"name": f"{name}-password", "key": "password"}}},
                     **spec}}


def condition(ns, kind, name, type_):
    conditions = get(ns, kind, name).get("status", {}).get("conditions", [])
    return next((c for c in conditions if c["type"] == type_), {})


def test_declared_identity_is_kept_in_the_server(namespace):
    ns = namespace
    secret(ns, "ops-password", {"password": "a declared e2e password"})
    apply(ns, declared_identity("ops", "ops@e2e.example"))
    wait(ns, "identity/ops", "condition=Ready=True", "90s")
    identity_id = get(ns, "identity", "ops")["status"]["identityId"]
    assert admin_api(ns, f"/admin/identities/{identity_id}")["traits"] == {"email": "ops@e2e.example"}

    # A change made through the admin API is reverted on the next pass.
    proxy = f"/api/v1/namespaces/{ns}/services/bia-admin:admin/proxy/admin/identities/{identity_id}"
    tampered = {"schema_id": "customer-v1", "state": "inactive", "traits": {"email": "ops@e2e.example"}}
    kubectl("replace", "--raw", proxy, "-f", "-", stdin=json.dumps(tampered))
    kubectl("-n", ns, "annotate", "identity", "ops", f"e2e/poke={uuid.uuid4().hex[:6]}", "--overwrite")
    assert eventually(lambda: admin_api(ns, f"/admin/identities/{identity_id}")["state"] == "active")

    # A second resource declaring the same identifier is refused; the first keeps it.
    secret(ns, "ops2-password", {"password": "another e2e password"})
    apply(ns, declared_identity("ops2", "ops@e2e.example", existingPolicy="Adopt"))
    wait(ns, "identity/ops2", "condition=Accepted=False", "60s")
    assert condition(ns, "identity", "ops2", "Accepted")["reason"] == "IdentifierConflict"
    assert get(ns, "identity", "ops")["status"]["identityId"] == identity_id

    # Deleting the refused one leaves the identity; deleting the owner deletes it.
    kubectl("-n", ns, "delete", "identity", "ops2", "--timeout=60s")
    assert admin_api(ns, f"/admin/identities/{identity_id}") is not None
    kubectl("-n", ns, "delete", "identity", "ops", "--timeout=60s")
    assert admin_api(ns, f"/admin/identities/{identity_id}") is None


def superseding_schema():
    """customer-v2: customer-v1 plus a required handle, which its transform takes from the email."""
    v2 = json.loads(json.dumps(SCHEMA))
    v2["properties"]["traits"]["properties"]["handle"] = {"type": "string", "minLength": 1}
    v2["properties"]["traits"]["required"] = ["email", "handle"]
    manifest = schema("customer-v2", "customer-v2", json.dumps(v2))
    manifest["spec"]["supersedes"] = "customer-v1"
    manifest["spec"]["transform"] = (
        "function(ctx) { traits: ctx.identity.traits + "
        "{ handle: std.split(ctx.identity.traits.email, '@')[0] } }")
    return manifest


def test_a_superseding_schema_moves_identities_and_retires_the_old_one(namespace):
    ns = namespace
    proxy = f"/api/v1/namespaces/{ns}/services/bia-admin:admin/proxy/admin/identities"
    ids = []
    for n in range(5):
        body = {"schema_id": "customer-v1", "traits": {"email": f"move{n}@e2e.example"}}
        created = kubectl("create", "--raw", proxy, "-f", "-", stdin=json.dumps(body))
        ids.append(json.loads(created.stdout)["id"])
    apply(ns, superseding_schema())
    wait(ns, "identityschema/customer-v2", "jsonpath={.status.migration.phase}=Completed", "180s")
    migration = get(ns, "identityschema", "customer-v2")["status"]["migration"]
    assert migration["migrated"] >= 5 and migration["failed"] == 0, migration
    assert migration["dryRun"]["wouldFail"] == 0, migration
    for n, identity_id in enumerate(ids):
        identity = admin_api(ns, f"/admin/identities/{identity_id}")
        assert identity["schema_id"] == "customer-v2"
        assert identity["traits"]["handle"] == f"move{n}"
    wait(ns, "identityschema/customer-v1", "condition=Superseded=True", "60s")
    assert condition(ns, "identityschema", "customer-v1", "Superseded")["reason"] == "AllMigrated"
    assert exists(ns, "identityschema", "customer-v1"), "the old schema is never deleted"


def admin_batch(ns, creates):
    """PATCH /admin/identities (the batch import) through `kubectl proxy`; the created ids."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proxy = subprocess.Popen(["kubectl", "proxy", f"--port={port}"], stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/api/v1/namespaces/{ns}/services/bia-admin:admin/proxy"
        def alive():
            try:
                return urllib.request.urlopen(f"{base}/health/alive", timeout=5).status == 200
            except OSError:
                return False
        assert eventually(alive, 30)
        ids = []
        for first in range(0, len(creates), 1000):
            body = json.dumps({"identities": [{"create": c} for c in creates[first:first + 1000]]})
            request = urllib.request.Request(f"{base}/admin/identities", data=body.encode(), method="PATCH",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=120) as answer:
                ids += [r["identity"] for r in json.load(answer)["identities"]]
        return ids
    finally:
        proxy.terminate()


def test_a_rollout_survives_its_server_pods_being_killed_midway(namespace):
    ns = namespace
    count = int(os.environ.get("BIA_E2E_ROLLOUT_IDENTITIES", "3000"))
    creates = [{"schema_id": "customer-v1", "traits": {"email": f"kill{n}@e2e.example"}} for n in range(count)]
    ids = admin_batch(ns, creates)
    assert len(ids) == count
    apply(ns, superseding_schema())

    def moving():
        migration = get(ns, "identityschema", "customer-v2").get("status", {}).get("migration", {})
        return migration.get("phase") == "Migrating" and migration.get("migrated", 0) > 0
    assert eventually(moving, 180), get(ns, "identityschema", "customer-v2").get("status")
    # Every server pod killed at once, in the middle of the rollout.
    kubectl("-n", ns, "delete", "pod", "-l", "bia.dev/server=bia", "--grace-period=0", "--force", "--wait=false")
    wait(ns, "identityschema/customer-v2", "jsonpath={.status.migration.phase}=Completed", "600s")
    migration = get(ns, "identityschema", "customer-v2")["status"]["migration"]
    assert migration["failed"] == 0 and migration["remaining"] == 0, migration
    left = [i for i in ids[:: max(1, count // 200)]
            if admin_api(ns, f"/admin/identities/{i}")["schema_id"] != "customer-v2"]
    assert left == [], f"{len(left)} sampled identities were not moved"
    wait(ns, "identityschema/customer-v1", "condition=Superseded=True", "60s")


def test_an_image_that_cannot_be_pulled_stalls_and_recovers(namespace):
    ns = namespace
    patch_server(ns, {"image": "bia-e2e-missing.invalid/bia:never"})
    wait(ns, "identityserver/bia", "condition=Stalled=True", "150s")
    stalled = next(c for c in get(ns, "identityserver", "bia")["status"]["conditions"] if c["type"] == "Stalled")
    assert stalled["reason"] in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName"), stalled
    patch_server(ns, {"image": IMAGE})
    wait(ns, "identityserver/bia", "condition=Ready=True")
    wait(ns, "identityserver/bia", "condition=Stalled=False", "60s")


def test_ingress_follows_the_spec(namespace):
    ns = namespace
    patch_server(ns, {"publicBaseUrl": "http://id.e2e.example/",
                      "exposure": {"ingress": {}, "trustedProxies": ["10.0.0.0/8"]}})
    assert eventually(lambda: exists(ns, "ingress", "bia"))
    ingress = get(ns, "ingress", "bia")
    assert ingress["spec"]["rules"][0]["host"] == "id.e2e.example"
    config = base64.b64decode(get(ns, "secret", "bia-config")["data"]["kratos.yml"]).decode()
    assert "10.0.0.0/8" in config
    patch_server(ns, {"publicBaseUrl": "http://127.0.0.1:4433/", "exposure": None})
    assert eventually(lambda: not exists(ns, "ingress", "bia"))
    wait(ns, "identityserver/bia", "condition=Ready=True")


def test_deletion_removes_children_but_not_user_secrets(namespace):
    ns = namespace
    kubectl("-n", ns, "delete", "identityserver", "bia", "--timeout=60s")
    deadline = time.time() + 90
    while kubectl("-n", ns, "get", "deployment", "bia", check=False).returncode == 0 and time.time() < deadline:
        time.sleep(2)
    assert kubectl("-n", ns, "get", "deployment", "bia", check=False).returncode != 0
    assert kubectl("-n", ns, "get", "secret", "bia-secrets", check=False).returncode == 0
