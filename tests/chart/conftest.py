"""Shared helpers for the chart tests: render charts/bia offline with helm-python-sdk."""

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "bia"

helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed")


def render(values=None, namespace="identity", name="bia"):
    """Renders the chart and returns {template path: [manifest dicts]}."""
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values or {}, name=name, namespace=namespace)
    out = {}
    for path, text in manifests.items():
        if not path.endswith((".yaml", ".yml")):
            continue  # NOTES.txt and helpers
        docs = [d for d in yaml.safe_load_all(text) if d]
        if docs:
            out[path] = docs
    return out


def all_objects(rendered):
    """Every rendered manifest as a flat list."""
    return [doc for docs in rendered.values() for doc in docs]
