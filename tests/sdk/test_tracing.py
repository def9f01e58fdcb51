"""Request traces over OpenTelemetry (`tracing.provider: otel`), with a real
OTLP/HTTP collector stand-in on loopback that records what it is sent:
request spans arrive as OTLP JSON with the configured resource, continue a
caller's W3C `traceparent`, follow the sampling ratio, carry no query strings
or tokens, and a collector that is down costs the server nothing."""
from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support import bia_bin, free_port, stop_server, wait_ready

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


class Collector:
    """An OTLP/HTTP receiver: keeps every JSON body posted to /v1/traces."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.raw: list[bytes] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.path == "/v1/traces":
                    collector.raw.append(body)
                    collector.bodies.append(json.loads(body))
                    collector.auth = self.headers.get("Authorization")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.auth = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[tuple[dict, dict]]:
        """Every span received, with the attributes of its resource."""
        found = []
        for body in self.bodies:
            for resource_spans in body.get("resourceSpans", []):
                resource = attributes(resource_spans.get("resource", {}))
                for scope in resource_spans.get("scopeSpans", []):
                    for span in scope.get("spans", []):
                        found.append((span, resource))
        return found

    def wait_for(self, predicate, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matching = [s for s in self.spans() if predicate(s[0])]
            if matching:
                return matching
            time.sleep(0.1)
        raise AssertionError(f"no matching span within {timeout}s; received {[s[0].get('name') for s in self.spans()]}")


def attributes(holder: dict) -> dict:
    values = {}
    for item in holder.get("attributes", []):
        value = item.get("value", {})
        values[item["key"]] = next(iter(value.values()), None) if value else None
    return values


def start(tmp: Path, tracing: dict) -> tuple[subprocess.Popen, str, str]:
    public_port, admin_port = free_port(), free_port()
    config = {
        "dsn": f"sqlite://{tmp / 'bia.sqlite'}?mode=rwc",
        "serve": {
            "public": {"port": public_port, "base_url": f"http://127.0.0.1:{public_port}/"},
            "admin": {"port": admin_port, "base_url": f"http://127.0.0.1:{admin_port}/"},
        },
        "secrets": {"cookie": ["tracing-suite-cookie-secret-0123456789"]},
        "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
        "identity": {
            "default_schema_id": "default",
            "schemas": [{"id": "default", "url": (ROOT / "config" / "identity.schema.json").as_uri()}],
        },
        "tracing": tracing,
    }
    path = tmp / "config.yml"
    path.write_text(json.dumps(config))
    log = open(tmp / "bia.log", "wb")
    # Export batches every 100 ms rather than every 5 s.
    env = {"OTEL_BSP_SCHEDULE_DELAY": "100", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([bia_bin(), "serve", "--dev", "-c", str(path)], stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    log.close()
    admin = f"http://127.0.0.1:{admin_port}/"
    wait_ready(admin, proc, 60.0)
    return proc, f"http://127.0.0.1:{public_port}", admin


def call(url: str, method: str = "GET", body: dict | None = None, headers: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Accept": "application/json", "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def register(public: str, email: str) -> str:
    status, flow = call(f"{public}/self-service/registration/api")
    assert status == 200, flow
    status, done = call(f"{public}/self-service/registration?flow={flow['id']}", "POST", {
        "method": "password", "password": "a tracing passphrase 77", "traits": {"email": email}})
    assert status == 200, done
    return done["session_token"]


@pytest.fixture
def collector():
    collector = Collector()
    yield collector
    collector.server.shutdown()


def test_request_spans_reach_the_collector(tmp_path, collector):
    proc, public, _ = start(tmp_path, {
        "provider": "otel", "service_name": "bia-under-test", "deployment_environment": "ci",
        "providers": {"otlp": {"server_url": f"127.0.0.1:{collector.port}", "insecure": True,
                               "authorization_header": "Bearer collector-secret"}},
    })
    try:
        token = register(public, "traced@example.org")
        status, _ = call(f"{public}/sessions/whoami", headers={
            "X-Session-Token": token, "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
        assert status == 200
        (span, resource), = collector.wait_for(lambda s: s.get("traceId") == TRACE_ID)
        assert span["name"] == "GET /sessions/whoami", span
        assert span["parentSpanId"] == PARENT_ID, span
        assert span["kind"] in (2, "SPAN_KIND_SERVER"), span
        assert str(attributes(span)["http.response.status_code"]) == "200", span
        assert resource["service.name"] == "bia-under-test", resource
        assert resource["deployment.environment"] == "ci", resource
        # Unpropagated requests start traces of their own (sampling ratio 1).
        flows = collector.wait_for(lambda s: s.get("name") == "POST /self-service/registration")
        assert all(s[0]["traceId"] != TRACE_ID for s in flows)
        # Ids in paths are folded; queries, tokens and passwords never leave.
        status, _ = call(f"{public}/self-service/login/flows?id=00000000-0000-4000-8000-000000000000")
        collector.wait_for(lambda s: s.get("name") == "GET /self-service/login/flows")
        exported = b"".join(collector.raw)
        for secret in (token.encode(), b"a tracing passphrase", b"00000000-0000-4000-8000"):
            assert secret not in exported, secret
        assert collector.auth == "Bearer collector-secret"
    finally:
        stop_server(proc)


def test_sampling_keeps_a_callers_sampled_trace(tmp_path, collector):
    proc, public, _ = start(tmp_path, {
        "provider": "otel",
        "providers": {"otlp": {"server_url": f"127.0.0.1:{collector.port}", "insecure": True,
                               "sampling": {"sampling_ratio": 0}}},
    })
    try:
        call(f"{public}/health/alive")
        status, _ = call(f"{public}/self-service/login/api",
                         headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
        assert status == 200
        collector.wait_for(lambda s: s.get("traceId") == TRACE_ID)
        time.sleep(0.5)
        names = [s[0]["name"] for s in collector.spans()]
        assert "GET /health/alive" not in names, names
        assert {s[1]["service.name"] for s in collector.spans()} == {"bia"}
    finally:
        stop_server(proc)


def test_a_collector_that_is_down_costs_nothing(tmp_path):
    proc, public, admin = start(tmp_path, {
        "provider": "otel",
        "providers": {"otlp": {"server_url": f"127.0.0.1:{free_port()}", "insecure": True}},
    })
    try:
        began = time.monotonic()
        for n in range(20):
            token = register(public, f"untraced{n}@example.org")
            status, _ = call(f"{public}/sessions/whoami", headers={"X-Session-Token": token})
            assert status == 200
        assert time.monotonic() - began < 20
        time.sleep(0.5)
        assert proc.poll() is None, "the server died"
        with urllib.request.urlopen(admin + "health/ready") as response:
            assert response.status == 200
    finally:
        stop_server(proc)


@pytest.mark.parametrize("tracing, key", [
    ({"provider": "jaeger"}, "tracing.provider"),
    ({"provider": "otel", "providers": {"otlp": {"sampling": {"sampling_ratio": 2}}}},
     "tracing.providers.otlp.sampling.sampling_ratio"),
    ({"provider": "otel", "providers": {"otlp": {"server_url": "host name:4318"}}},
     "tracing.providers.otlp.server_url"),
])
def test_tracing_settings_the_server_cannot_honour_are_refused(tmp_path, tracing, key):
    path = tmp_path / "config.yml"
    path.write_text(json.dumps({"dsn": "memory", "tracing": tracing}))
    result = subprocess.run([bia_bin(), "config", "validate", "-c", str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0, result.stdout + result.stderr
    assert key in result.stdout + result.stderr
