"""API fuzzing with schemathesis against Bia's own OpenAPI document
(`server/openapi.json`), on both listeners of a server of its own (SQLite): no
5xx, no answer that breaks its documented schema, status or content type, and the
server alive afterwards. The budget is bounded and the seed fixed, so a run is
repeatable; `BIA_FUZZ_SECONDS` and `BIA_FUZZ_EXAMPLES` widen it for longer runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from support import bia_bin, free_port, stop_server, wait_ready

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "server" / "openapi.json"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
SECONDS = os.environ.get("BIA_FUZZ_SECONDS", "20")
EXAMPLES = os.environ.get("BIA_FUZZ_EXAMPLES", "25")


def schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("schemathesis is not installed in this environment")
    return found


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bia-fuzz")
    public_port, admin_port = free_port(), free_port()
    admin_url = f"http://127.0.0.1:{admin_port}/"
    config = {
        "dsn": f"sqlite://{workdir / 'bia.sqlite'}?mode=rwc",
        "serve": {
            "public": {"port": public_port, "base_url": f"http://127.0.0.1:{public_port}/"},
            "admin": {"port": admin_port, "base_url": admin_url},
        },
        "secrets": {"cookie": ["fuzz-suite-cookie-secret-0123456789"]},
        "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
        "identity": {
            "default_schema_id": "default",
            "schemas": [{"id": "default", "url": (ROOT / "config" / "identity.schema.json").as_uri()}],
        },
        # Fuzzing is one client sending thousands of requests.
        "throttle": {"enabled": False},
    }
    path = workdir / "config.yml"
    path.write_text(json.dumps(config))
    log_path = workdir / "bia.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [bia_bin(), "serve", "--dev", "-c", str(path)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(admin_url, proc, 60.0)
        yield {"public": public_port, "admin": admin_port, "proc": proc, "log": log_path}
    finally:
        stop_server(proc)


@pytest.mark.parametrize("listener", ["admin", "public"])
def test_no_operation_breaks_its_contract(fuzz_server, listener, tmp_path):
    port = fuzz_server[listener]
    paths = ["--include-path-regex", "^/admin"] if listener == "admin" else [
        "--exclude-path-regex", "^/admin"]
    result = subprocess.run(
        [
            schemathesis(), "run", str(DOCUMENT), "--url", f"http://127.0.0.1:{port}",
            *paths, "--checks", CHECKS, "--seed", "20261203", "--max-examples", EXAMPLES,
            "--max-time", SECONDS, "--workers", "2", "--report-dir", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=int(SECONDS) * 4 + 120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    summary = result.stdout[-3000:]
    print(summary)  # shown with `pytest -s`: how many cases ran, per operation
    assert result.returncode == 0, summary
    assert fuzz_server["proc"].poll() is None, "the server died"
    with urllib.request.urlopen(f"http://127.0.0.1:{fuzz_server['public']}/health/alive") as r:
        assert r.status == 200
    assert b"panicked" not in fuzz_server["log"].read_bytes(), "a request panicked"
