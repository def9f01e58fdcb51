"""The GitOps pre-merge check the README shows: `bia-operator render` on the example
resources, its config fed to `bia config validate --strict`. Both binaries come from
the workspace build (`CARGO_TARGET_DIR`)."""

import os
import pathlib
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
OPERATOR = TARGET / "bia-operator"
BIA = pathlib.Path(os.environ.get("BIA_BIN", TARGET / "bia"))

pytestmark = pytest.mark.skipif(
    not (OPERATOR.exists() and BIA.exists()), reason="build the workspace first"
)


def render(*files):
    args = [str(OPERATOR), "render"]
    for f in files:
        args += ["-f", str(f)]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def rendered_config(stdout):
    for doc in yaml.safe_load_all(stdout):
        if doc and doc.get("kind") == "Secret" and "kratos.yml" in doc.get("stringData", {}):
            return doc["stringData"]["kratos.yml"]
    raise AssertionError("no config Secret in the render output")


def test_rendered_examples_pass_strict_validation(tmp_path):
    out = render(ROOT / "config" / "examples")
    assert out.returncode == 0, out.stderr
    # Every example is acted on: the provider is in the config, nothing is unsupported.
    assert "Unsupported" not in out.stderr, out.stderr
    text = rendered_config(out.stdout)
    assert "issuer_url: https://accounts.google.com" in text, text
    config = tmp_path / "kratos.yml"
    config.write_text(text)
    check = subprocess.run(
        [str(BIA), "config", "validate", "--strict", "-c", str(config)],
        capture_output=True, text=True, timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_an_invalid_resource_fails_the_check(tmp_path):
    broken = tmp_path / "broken-schema.yaml"
    broken.write_text(
        (ROOT / "config" / "examples" / "20-identityschema.yaml")
        .read_text()
        .replace('"identifier": true', '"identifier": false')
    )
    files = [ROOT / "config" / "examples" / n for n in ("00-secrets.yaml", "10-identityserver.yaml")]
    out = render(*files, broken)
    assert out.returncode != 0
    assert "IdentitySchema" in out.stderr, out.stderr


def test_a_broken_config_names_its_key(tmp_path):
    config = tmp_path / "kratos.yml"
    config.write_text("dsn: memory\nserve:\n  public:\n    port: not-a-port\n")
    check = subprocess.run(
        [str(BIA), "config", "validate", "-c", str(config)],
        capture_output=True, text=True, timeout=60,
    )
    assert check.returncode != 0
    assert "serve.public.port" in check.stdout + check.stderr


def test_rendered_children_pass_kubernetes_validate_strict(tmp_path):
    """The objects the operator applies (NetworkPolicy and Ingress included) are valid
    Kubernetes 1.33 objects, and none carries Argo CD's tracking label."""
    pytest.importorskip("kubernetes_validate")
    import sys

    out = render(ROOT / "config" / "examples")
    assert out.returncode == 0, out.stderr
    paths, kinds = [], set()
    for i, doc in enumerate(yaml.safe_load_all(out.stdout)):
        if not doc or doc["apiVersion"].startswith("bia.dev/"):
            continue
        assert "app.kubernetes.io/instance" not in yaml.safe_dump(doc), doc["kind"]
        kinds.add(doc["kind"])
        p = tmp_path / f"{i}-{doc['kind']}.yaml"
        p.write_text(yaml.safe_dump(doc))
        paths.append(str(p))
    assert {"NetworkPolicy", "Ingress", "Deployment", "Service", "PodDisruptionBudget"} <= kinds
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--kubernetes-version", "1.33.0", *paths],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
