"""Helpers shared by the SDK tests."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable

from ory_kratos_client.exceptions import ApiException
from ory_kratos_client.models.create_identity_body import CreateIdentityBody
from ory_kratos_client.models.error_generic import ErrorGeneric
from ory_kratos_client.models.identity import Identity
from ory_kratos_client.models.identity_with_credentials import IdentityWithCredentials
from ory_kratos_client.models.identity_with_credentials_password import IdentityWithCredentialsPassword
from ory_kratos_client.models.identity_with_credentials_password_config import (
    IdentityWithCredentialsPasswordConfig,
)

HERE = Path(__file__).resolve().parent
SCHEMAS = {
    "default": HERE / "identity.schema.json",
    "operator": HERE / "username.schema.json",
    "code": HERE / "code.schema.json",
}

# Browser flows: where browsers go after a flow, and the only other site
# `return_to` may name (`selfservice.allowed_return_urls`).
DEFAULT_RETURN_URL = "https://app.example.test/home"
ALLOWED_RETURN_URL = "https://app.example.test/"
# `selfservice.flows.settings.privileged_session_max_age`, in seconds: short, so
# a test can wait for a session to grow too old for settings changes.
PRIVILEGED_SESSION_MAX_AGE = 3

# `session.earliest_possible_extend`: with the default 24h lifespan, the admin
# API extends a session only in its last hour, so fresh sessions stay as they are.
EARLIEST_POSSIBLE_EXTEND = "1h"


def bia_bin() -> str:
    return os.environ.get("BIA_BIN", "/var/tmp/bia-target/debug/bia")


LINK_PART = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.org"


def password_credentials(password: str | None = None, hashed: str | None = None) -> IdentityWithCredentials:
    return IdentityWithCredentials(
        password=IdentityWithCredentialsPassword(
            config=IdentityWithCredentialsPasswordConfig(password=password, hashed_password=hashed)
        )
    )


def create_body(email: str | None = None, **fields: Any) -> CreateIdentityBody:
    traits = fields.pop("traits", None) or {"email": email or unique_email()}
    return CreateIdentityBody(schema_id=fields.pop("schema_id", "default"), traits=traits, **fields)


def create(api, email: str | None = None, **fields: Any) -> Identity:
    response = api.create_identity_with_http_info(create_identity_body=create_body(email, **fields))
    assert response.status_code == 201, response.status_code
    assert isinstance(response.data, Identity)
    return response.data


def header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def links(headers: Any) -> dict[str, str]:
    """The Link header as {rel: url}."""
    value = header(headers, "link") or ""
    return {rel: url for url, rel in LINK_PART.findall(value)}


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}


def walk_pages(api, page_size: int, limit: int = 10_000, **params: Any) -> list[list[Identity]]:
    """Every page of GET /admin/identities, following rel="next" links."""
    pages: list[list[Identity]] = []
    token = None
    for _ in range(limit):
        response = api.list_identities_with_http_info(page_size=page_size, page_token=token, **params)
        assert response.status_code == 200
        pages.append(response.data)
        nxt = links(response.headers).get("next")
        if not nxt:
            return pages
        query = query_of(nxt)
        assert "page_token" in query, f"next link without page_token: {nxt}"
        assert query["page_token"] != token, "next link points at the same page"
        token = query["page_token"]
    raise AssertionError("pagination did not end")


def all_identities(api) -> dict[str, Identity]:
    found: dict[str, Identity] = {}
    for page in walk_pages(api, page_size=500):
        for identity in page:
            assert identity.id not in found, f"identity {identity.id} listed twice"
            found[identity.id] = identity
    return found


def dump(identity: Identity) -> dict:
    return identity.to_dict()


def expect_error(status: int, call: Callable, *args: Any, **kwargs: Any) -> dict:
    """Calls the SDK and asserts an ApiException with `status` and Kratos's error envelope."""
    try:
        result = call(*args, **kwargs)
    except ApiException as err:
        assert err.status == status, f"expected HTTP {status}, got {err.status}: {err.body}"
        body = json.loads(err.body) if err.body else None
        assert isinstance(body, dict) and isinstance(body.get("error"), dict), (
            f"error body is not the Kratos envelope: {err.body!r}"
        )
        error = body["error"]
        assert error.get("code") == status, f"error.code {error.get('code')} != {status}: {err.body}"
        assert isinstance(error.get("message"), str) and error["message"], err.body
        assert isinstance(error.get("status"), str) and error["status"], err.body
        # The SDK's own model of the envelope must accept the body.
        ErrorGeneric.from_json(err.body)
        if err.data is not None:
            assert isinstance(err.data, ErrorGeneric), type(err.data)
        return error
    raise AssertionError(f"expected HTTP {status}, the call succeeded with {result!r}")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> None:
    """Waits until `bia serve` at `url` (ending in `/`) answers ready, or fails."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bia serve exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + "health/ready", timeout=2) as resp:
                if resp.status == 200:
                    return
                last = f"status {resp.status}"
        except urllib.error.HTTPError as err:
            last = f"status {err.code}"
        except (urllib.error.URLError, OSError) as err:
            last = str(err)
        time.sleep(0.1)
    raise RuntimeError(f"bia serve not ready after {timeout}s: {last}")


def stop_server(proc: subprocess.Popen) -> None:
    """Stops a `bia serve` process: SIGTERM, then a kill after 15 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
