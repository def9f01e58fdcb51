#!/usr/bin/env python3
"""Measures the operator's idle RSS without a cluster.

Starts a stub Kubernetes API server on 127.0.0.1 (empty lists, watches that stay open and
quiet), points the operator at it through a temporary kubeconfig, lets it settle, and
prints the resident set size from /proc. Usage:

    cargo build --release -p bia-operator
    python3 operator/benches/idle_rss.py [path/to/bia-operator] [seconds]
"""

import http.server
import json
import os
import pathlib
import socketserver
import subprocess
import sys
import tempfile
import threading
import time


SEEN = {"list": 0, "watch": 0}


class Stub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if "watch=true" in self.path or "watch=1" in self.path:
            SEEN["watch"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            time.sleep(3600)
            return
        SEEN["list"] += 1
        body = json.dumps({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BIA_OPERATOR_BIN", "target/release/bia-operator")
    settle = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    server = Server(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as kc:
        kc.write(
            "apiVersion: v1\nkind: Config\ncurrent-context: stub\n"
            f"clusters: [{{name: stub, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
            "users: [{name: stub, user: {}}]\n"
            "contexts: [{name: stub, context: {cluster: stub, user: stub, namespace: default}}]\n"
        )
    env = dict(os.environ, KUBECONFIG=kc.name, LEADER_ELECTION="false", LISTEN_ADDR="127.0.0.1:0", RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    proc = subprocess.Popen([binary], env=env)
    try:
        time.sleep(settle)
        if proc.poll() is not None:
            print(f"operator exited with {proc.returncode}")
            sys.exit(1)
        kib = rss_kib(proc.pid)
        print(f"operator idle RSS after {settle:.0f} s with {SEEN['list']} lists and {SEEN['watch']} open watches: {kib / 1024:.1f} MiB (goal <= 40 MiB)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        os.unlink(kc.name)


if __name__ == "__main__":
    main()
