"""ServiceMonitors and the Grafana dashboard: off by default; when on, they select what the
operator renders and the dashboard queries only the metrics the server exports."""

import json
import re

import pytest
import yaml

from conftest import CHART, ROOT, all_objects, helm, render

SNAPSHOTS = ROOT / "operator" / "tests" / "it" / "snapshots"
DASHBOARD = CHART / "dashboards" / "bia.json"
ON = {"metrics": {"serviceMonitor": {"enabled": True}, "dashboard": {"enabled": True}}}

# The server's metrics (GET /admin/metrics/prometheus on the admin port) and their labels.
SERVER_METRICS = {
    "http_requests_total": {"listener", "method", "route", "status"},
    "http_request_duration_seconds_bucket": {"listener", "method", "route", "le"},
    "http_request_duration_seconds_sum": {"listener", "method", "route"},
    "http_request_duration_seconds_count": {"listener", "method", "route"},
    "bia_flows_created_total": {"flow", "type"},
    "bia_flow_submissions_total": {"flow", "result"},
    "bia_hash_pool_refusals_total": set(),
    "bia_hash_pool_jobs": set(),
    "bia_throttle_refusals_total": {"check"},
    "bia_db_pool_connections": {"state"},
}
# Labels Prometheus adds to every target of a ServiceMonitor, and the "server" relabeling.
TARGET_LABELS = {"namespace", "server", "pod", "instance", "job", "service", "endpoint", "container"}
# Metric families (a histogram's three series count as one).
FAMILIES = {re.sub(r"_(bucket|sum|count)$", "", m) if m.startswith("http_request_duration") else m
            for m in SERVER_METRICS}

PROMQL_FUNCTIONS = {
    "sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile", "rate", "irate",
    "increase", "delta", "histogram_quantile", "clamp_min", "clamp_max", "abs", "vector",
    "scalar", "label_replace", "avg_over_time", "max_over_time", "sum_over_time",
}
PROMQL_KEYWORDS = {"and", "or", "unless", "bool"}


def _objects(values=None, **kw):
    return all_objects(render(values, **kw))


def _kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def _golden(name):
    docs = [d for d in yaml.safe_load_all((SNAPSHOTS / name).read_text()) if d]
    return docs[-1]


def parse_promql(expr):
    """Metric names and label names in a PromQL expression (no full parser: enough for
    the selectors, aggregations and binary operators a dashboard uses)."""
    labels = set()
    text = expr
    for block in re.findall(r"\{([^}]*)\}", text):
        labels |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", block))
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\boffset\s+\S+", " ", text)
    for group in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", text):
        labels |= {g.strip() for g in group.split(",") if g.strip()}
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r'"[^"]*"', " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)
    text = re.sub(r"(?<![\w:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", " ", text)
    metrics, functions = set(), set()
    for m in re.finditer(r"[A-Za-z_:][\w:]*", text):
        name = m.group(0)
        if re.match(r"\s*\(", text[m.end():]):
            functions.add(name)
        elif name not in PROMQL_KEYWORDS:
            metrics.add(name)
    return metrics, labels, functions


def dashboard_queries(dashboard):
    """(where, PromQL) for every panel target and every query variable."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append((f"panel {p['title']!r} {t['refId']}", t["expr"]))
            walk(p.get("panels", []))

    walk(dashboard["panels"])
    for v in dashboard["templating"]["list"]:
        if v["type"] != "query":
            continue
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", v["query"])
        assert m, f"variable {v['name']}: expected label_values(selector, label)"
        out.append((f"variable {v['name']}", m.group(1)))
        out.append((f"variable {v['name']} label", f"x{{{m.group(2)}=\"\"}}"))
    return out


# --- off by default ---------------------------------------------------------------------


def test_defaults_render_no_service_monitor_and_no_dashboard():
    kinds = {o["kind"] for o in _objects()}
    assert "ServiceMonitor" not in kinds
    assert "ConfigMap" not in kinds


def test_each_switch_alone():
    only_sm = {o["kind"] for o in _objects({"metrics": {"serviceMonitor": {"enabled": True}}})}
    assert "ServiceMonitor" in only_sm and "ConfigMap" not in only_sm
    only_dash = {o["kind"] for o in _objects({"metrics": {"dashboard": {"enabled": True}}})}
    assert "ConfigMap" in only_dash and "ServiceMonitor" not in only_dash


# --- ServiceMonitors --------------------------------------------------------------------


def _monitors(values, **kw):
    monitors = {o["metadata"]["name"]: o for o in _kind(_objects(values, **kw), "ServiceMonitor")}
    assert set(monitors) == {"bia-operator-servers", "bia-operator"}, set(monitors)
    for m in monitors.values():
        assert m["apiVersion"] == "monitoring.coreos.com/v1"
        assert m["metadata"]["namespace"] == "identity"
        assert set(m["spec"]) <= {"selector", "namespaceSelector", "endpoints"}
        for e in m["spec"]["endpoints"]:
            assert set(e) <= {"port", "path", "interval", "scrapeTimeout", "relabelings"}, e
    return monitors["bia-operator-servers"], monitors["bia-operator"]


def _selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def test_server_monitor_selects_the_admin_service_the_operator_renders():
    servers, _ = _monitors(ON)
    admin, public = _golden("it__render__admin_service.snap"), _golden("it__render__public_service.snap")
    assert _selects(servers["spec"]["selector"], admin["metadata"]["labels"])
    (endpoint,) = servers["spec"]["endpoints"]
    admin_ports = {p["name"]: p["port"] for p in admin["spec"]["ports"]}
    assert endpoint["port"] == "admin" and admin_ports == {"admin": 4434}
    assert endpoint["path"] == "/admin/metrics/prometheus"
    assert endpoint["interval"] == "30s" and "scrapeTimeout" not in endpoint
    # The public Service matches the labels too, but has no port of that name.
    assert endpoint["port"] not in {p["name"] for p in public["spec"]["ports"]}
    # The server's name (its children's bia.dev/server label) becomes the "server" label.
    assert endpoint["relabelings"] == [{
        "sourceLabels": ["__meta_kubernetes_service_label_bia_dev_server"],
        "targetLabel": "server",
    }]
    assert admin["metadata"]["labels"]["bia.dev/server"] == "bia"
    assert "app.kubernetes.io/instance" not in admin["metadata"]["labels"]


def test_server_monitor_does_not_select_the_operator_service():
    objects = _objects(ON)
    servers = next(o for o in objects if o["metadata"]["name"] == "bia-operator-servers")
    operator_svc = next(o for o in _kind(objects, "Service"))
    assert not _selects(servers["spec"]["selector"], operator_svc["metadata"]["labels"])


def test_operator_monitor_selects_the_chart_metrics_service():
    objects = _objects(ON)
    _, operator = _monitors(ON)
    (svc,) = _kind(objects, "Service")
    assert _selects(operator["spec"]["selector"], svc["metadata"]["labels"])
    (endpoint,) = operator["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in svc["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]
    assert probe["port"] == endpoint["port"]  # /metrics is served next to /health
    assert operator["spec"]["namespaceSelector"] == {"matchNames": ["identity"]}


def test_operator_monitor_ignores_the_server_admin_service():
    _, operator = _monitors(ON)
    admin = _golden("it__render__admin_service.snap")
    assert not _selects(operator["spec"]["selector"], admin["metadata"]["labels"])


def test_interval_timeout_labels_and_server_selector():
    values = {"metrics": {"serviceMonitor": {
        "enabled": True, "interval": "15s", "scrapeTimeout": "10s",
        "labels": {"release": "prometheus"},
        "serverSelector": {"bia.dev/server": "customers"},
    }}}
    servers, operator = _monitors(values)
    for m in (servers, operator):
        assert m["metadata"]["labels"]["release"] == "prometheus"
        assert m["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        (endpoint,) = m["spec"]["endpoints"]
        assert endpoint["interval"] == "15s" and endpoint["scrapeTimeout"] == "10s"
    assert servers["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "bia",
        "app.kubernetes.io/managed-by": "bia-operator",
        "bia.dev/server": "customers",
    }


def test_server_namespaces_follow_the_watch_scope():
    servers, _ = _monitors(ON)
    assert servers["spec"]["namespaceSelector"] == {"matchNames": ["identity"]}
    wide = {**ON, "clusterWide": True}
    servers, operator = _monitors(wide)
    assert servers["spec"]["namespaceSelector"] == {"any": True}
    assert operator["spec"]["namespaceSelector"] == {"matchNames": ["identity"]}
    chosen = {"metrics": {"serviceMonitor": {"enabled": True, "namespaceSelector": {"matchNames": ["a", "b"]}}}}
    servers, _ = _monitors(chosen)
    assert servers["spec"]["namespaceSelector"] == {"matchNames": ["a", "b"]}


def test_values_schema_refuses_bad_monitoring_values():
    with helm.Chart.load(str(CHART)) as chart:
        for bad in (
            {"metrics": {"serviceMonitor": {"interval": "30"}}},
            {"metrics": {"serviceMonitor": {"scrapeTimeout": "soon"}}},
            {"metrics": {"serviceMonitor": {"labels": {"release": 1}}}},
            {"metrics": {"serviceMonitor": {"namespaceSelector": {"names": ["a"]}}}},
            {"metrics": {"serviceMonitor": {"enable": True}}},
            {"metrics": {"dashboard": {"labels": {"grafana_dashboard": 1}}}},
        ):
            with pytest.raises(Exception):
                chart.validate_schema(bad)
        chart.validate_schema({"metrics": {
            "serviceMonitor": {"enabled": True, "interval": "1m30s", "scrapeTimeout": "500ms",
                               "labels": {"release": "prometheus"}, "namespaceSelector": {"any": True}},
            "dashboard": {"enabled": True, "labels": {"grafana_dashboard": "1"},
                          "annotations": {"grafana_folder": "Identity"}, "namespace": "monitoring"},
        }})


@pytest.mark.parametrize("values", [ON, {**ON, "clusterWide": True}])
def test_lint_passes_strict_with_monitoring(values):
    result = helm.lint(str(CHART), values, strict=True, namespace="identity", kube_version="v1.33.0")
    assert not result["errors"], result
    assert not [m for m in result["messages"] if m["severity"] >= 2], result["messages"]


# --- dashboard ConfigMap ----------------------------------------------------------------


def test_dashboard_config_map_carries_the_file_and_the_sidecar_label():
    (cm,) = _kind(_objects(ON), "ConfigMap")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["namespace"] == "identity"
    assert "annotations" not in cm["metadata"]
    assert list(cm["data"]) == ["bia.json"]
    assert json.loads(cm["data"]["bia.json"]) == json.loads(DASHBOARD.read_text())


def test_dashboard_labels_annotations_and_namespace_are_configurable():
    values = {"metrics": {"dashboard": {
        "enabled": True, "labels": {"dashboards": "bia", "grafana_dashboard": None},
        "annotations": {"grafana_folder": "Identity"}, "namespace": "monitoring",
    }}}
    (cm,) = _kind(_objects(values), "ConfigMap")
    assert cm["metadata"]["labels"]["dashboards"] == "bia"
    assert "grafana_dashboard" not in cm["metadata"]["labels"]
    assert cm["metadata"]["annotations"] == {"grafana_folder": "Identity"}
    assert cm["metadata"]["namespace"] == "monitoring"


# --- dashboard content ------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard():
    return json.loads(DASHBOARD.read_text())


def _panels(dashboard):
    out = []

    def walk(panels):
        for p in panels:
            out.append(p)
            walk(p.get("panels", []))

    walk(dashboard["panels"])
    return out


def test_dashboard_shape(dashboard):
    assert dashboard["uid"] and dashboard["title"]
    panels = _panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for p in panels:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
        if p["type"] == "row":
            continue
        assert p["targets"], p["title"]
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"


def test_dashboard_has_the_panels_asked_for(dashboard):
    titles = {p["title"] for p in _panels(dashboard)}
    assert {
        "Request rate by route and status", "Error ratio (5xx)", "Latency p50 / p95 / p99",
        "Flows created", "Flow submissions by result", "Hash pool jobs", "Hash pool refusals",
        "Throttle refusals", "Database connections",
    } <= titles
    latency = next(p for p in _panels(dashboard) if p["title"] == "Latency p50 / p95 / p99")
    quantiles = {re.search(r"histogram_quantile\(([\d.]+)", t["expr"]).group(1) for t in latency["targets"]}
    assert quantiles == {"0.5", "0.95", "0.99"}
    errors = next(p for p in _panels(dashboard) if p["title"] == "Error ratio (5xx)")
    assert 'status=~"5.."' in errors["targets"][0]["expr"]


def test_dashboard_queries_use_only_server_metrics_and_their_labels(dashboard):
    used = set()
    known_labels = set().union(*SERVER_METRICS.values()) | TARGET_LABELS
    for where, expr in dashboard_queries(dashboard):
        metrics, labels, functions = parse_promql(expr)
        if where.endswith(" label"):
            assert labels <= known_labels, (where, labels - known_labels)
            continue
        assert metrics, (where, expr)
        assert metrics <= set(SERVER_METRICS), (where, metrics - set(SERVER_METRICS))
        assert functions <= PROMQL_FUNCTIONS, (where, functions - PROMQL_FUNCTIONS)
        allowed = set().union(*(SERVER_METRICS[m] for m in metrics)) | TARGET_LABELS
        assert labels <= allowed, (where, labels - allowed)
        used |= metrics
    families = {re.sub(r"_(bucket|sum|count)$", "", m) if m.startswith("http_request_duration") else m
                for m in used}
    assert families == FAMILIES, FAMILIES - families


def test_promql_parser_finds_metrics_and_labels():
    metrics, labels, functions = parse_promql(
        'histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket'
        '{namespace=~"$namespace", status=~"5.."}[$__rate_interval]))) / on (pod) kratos_x offset 5m'
        ' or vector(0) * 1e3'
    )
    assert metrics == {"http_request_duration_seconds_bucket", "kratos_x"}
    assert labels == {"le", "route", "namespace", "status", "pod"}
    assert functions == {"histogram_quantile", "sum", "rate", "vector"}
    assert parse_promql("sum(rate(foo_total[5m])) by (check)")[:2] == ({"foo_total"}, {"check"})
