"""TOTP and lookup codes as second factors through the official SDK, on every backend: enrol
in settings (codes from pyotp), sign in with the password (aal1), whoami
requiring the highest available level answers 403 session_aal2_required, a
login flow with aal=aal2 steps the session up; replayed codes are refused.
Lookup codes: a regenerated set is confirmed, a code steps up once, disabling
lowers the available level."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest
import ory_kratos_client
from ory_kratos_client.api.frontend_api import FrontendApi
from ory_kratos_client.api.identity_api import IdentityApi
from ory_kratos_client.exceptions import ApiException
from ory_kratos_client.models.login_flow import LoginFlow
from ory_kratos_client.models.perform_native_logout_body import PerformNativeLogoutBody
from ory_kratos_client.models.settings_flow import SettingsFlow
from ory_kratos_client.models.update_login_flow_body import UpdateLoginFlowBody
from ory_kratos_client.models.update_login_flow_with_lookup_secret_method import (
    UpdateLoginFlowWithLookupSecretMethod,
)
from ory_kratos_client.models.update_login_flow_with_totp_method import UpdateLoginFlowWithTotpMethod
from ory_kratos_client.models.update_settings_flow_body import UpdateSettingsFlowBody
from ory_kratos_client.models.update_settings_flow_with_lookup_method import (
    UpdateSettingsFlowWithLookupMethod,
)
from ory_kratos_client.models.update_settings_flow_with_totp_method import (
    UpdateSettingsFlowWithTotpMethod,
)

from selfservice import error_body, login_body, message_ids, node_message_ids, nodes, registration_body
from support import SCHEMAS, bia_bin, expect_error, free_port, stop_server, unique_email, wait_ready


def _sdk_conftest():
    """This folder's conftest, by path (another folder's may be `conftest`)."""
    spec = importlib.util.spec_from_file_location("bia_sdk_conftest_mfa", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_conftest = _sdk_conftest()
BACKENDS, READY_TIMEOUT, run = _conftest.BACKENDS, _conftest.READY_TIMEOUT, _conftest.run
create_sqlite, create_postgres, create_mysql = _conftest.create_sqlite, _conftest.create_postgres, _conftest.create_mysql

PASSWORD = "a long enough secret"


class Bia:
    def __init__(self, public_url: str, admin_url: str):
        public = ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=public_url.rstrip("/")))
        admin = ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=admin_url.rstrip("/")))
        self.frontend = FrontendApi(public)
        self.identities = IdentityApi(admin)


@pytest.fixture(scope="module", params=BACKENDS)
def bia(request, tmp_path_factory):
    """`bia serve` with TOTP on, on a fresh database of the backend."""
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"bia-mfa-{backend}")
    db = {"sqlite": lambda: create_sqlite(workdir), "postgres": create_postgres, "mysql": create_mysql}[backend]()
    proc = None
    try:
        run([bia_bin(), "migrate", "sql", "-e", "--yes"], env={"DSN": db.dsn})
        public_port, admin_port = free_port(), free_port()
        public_url = f"http://127.0.0.1:{public_port}/"
        admin_url = f"http://127.0.0.1:{admin_port}/"
        config = {
            "dsn": db.dsn,
            "serve": {
                "public": {"port": public_port, "base_url": public_url},
                "admin": {"port": admin_port, "base_url": admin_url},
            },
            "secrets": {
                "cookie": ["sdk-suite-cookie-secret-0123456789"],
                "cipher": ["sdk-suite-cipher-secret-01234567"],
            },
            "ciphers": {"algorithm": "aes" if backend == "mysql" else "xchacha20-poly1305"},
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
            "identity": {
                "default_schema_id": "default",
                "schemas": [{"id": sid, "url": path.as_uri()} for sid, path in SCHEMAS.items()],
            },
            "session": {"whoami": {"required_aal": "highest_available"}},
            "selfservice": {
                "methods": {
                    "totp": {"enabled": True, "config": {"issuer": "Bia SDK"}},
                    "lookup_secret": {"enabled": True},
                }
            },
        }
        config_path = workdir / "config.yml"
        config_path.write_text(json.dumps(config, indent=2))
        log_path = workdir / "bia.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [bia_bin(), "serve", "-c", str(config_path)], stdout=log, stderr=subprocess.STDOUT, cwd=workdir
            )
        try:
            wait_ready(admin_url, proc, READY_TIMEOUT)
        except RuntimeError as err:
            pytest.fail(f"{err}\n--- server log ---\n{log_path.read_text(errors='replace')[-4000:]}", pytrace=False)
        yield Bia(public_url, admin_url)
    finally:
        if proc is not None:
            stop_server(proc)
        db.drop()


def totp_settings(code: str | None = None, unlink: bool | None = None) -> UpdateSettingsFlowBody:
    return UpdateSettingsFlowBody(
        UpdateSettingsFlowWithTotpMethod(method="totp", totp_code=code, totp_unlink=unlink)
    )


def totp_login(code: str) -> UpdateLoginFlowBody:
    return UpdateLoginFlowBody(UpdateLoginFlowWithTotpMethod(method="totp", totp_code=code))


def by_id(flow, node_id: str) -> dict:
    found = [n for n in nodes(flow) if n["attributes"].get("id") == node_id]
    assert found, f"no node with id {node_id!r}"
    return found[0]


def sign_up(bia: Bia, email: str) -> str:
    flow = bia.frontend.create_native_registration_flow()
    done = bia.frontend.update_registration_flow(flow=flow.id, update_registration_flow_body=registration_body(email, PASSWORD))
    return done.session_token


def sign_in(bia: Bia, email: str):
    flow = bia.frontend.create_native_login_flow()
    return bia.frontend.update_login_flow(flow=flow.id, update_login_flow_body=login_body(email, PASSWORD))


def enrol(bia: Bia, token: str) -> pyotp.TOTP:
    flow = bia.frontend.create_native_settings_flow(x_session_token=token)
    assert isinstance(flow, SettingsFlow)
    qr = by_id(flow, "totp_qr")
    assert qr["type"] == "img" and qr["attributes"]["src"].startswith("data:image/")
    secret = by_id(flow, "totp_secret_key")["attributes"]["text"]["context"]["secret"]
    totp = pyotp.TOTP(secret)
    with pytest.raises(ApiException) as refused:
        bia.frontend.update_settings_flow(flow=flow.id, x_session_token=token, update_settings_flow_body=totp_settings("000000" if totp.now() != "000000" else "111111"))
    assert refused.value.status == 400
    assert node_message_ids(error_body(refused.value), "totp_code") == [4000008]
    saved = bia.frontend.update_settings_flow(flow=flow.id, x_session_token=token, update_settings_flow_body=totp_settings(totp.now()))
    assert saved.state == "success"
    assert any(n["attributes"].get("name") == "totp_unlink" for n in nodes(saved))
    return totp


def step_up_refused(bia: Bia, token: str, flow: LoginFlow, code: str) -> None:
    with pytest.raises(ApiException) as refused:
        bia.frontend.update_login_flow(flow=flow.id, x_session_token=token, update_login_flow_body=totp_login(code))
    assert refused.value.status == 400, refused.value.body
    assert node_message_ids(error_body(refused.value), "totp_code") == [4000008]


def test_totp_steps_a_password_session_up_and_refuses_replays(bia):
    email = unique_email("mfa-totp")
    first = sign_up(bia, email)
    assert bia.frontend.to_session(x_session_token=first).authenticator_assurance_level == "aal1"
    totp = enrol(bia, first)

    # Log out, log in with the password: an aal1 session that whoami refuses.
    bia.frontend.perform_native_logout(perform_native_logout_body=PerformNativeLogoutBody(session_token=first))
    signed_in = sign_in(bia, email)
    token = signed_in.session_token
    assert signed_in.session.authenticator_assurance_level == "aal1"
    error = expect_error(403, bia.frontend.to_session, x_session_token=token)
    assert error["id"] == "session_aal2_required"

    # Step up with aal=aal2 and a code from the authenticator.
    flow = bia.frontend.create_native_login_flow(aal="aal2", x_session_token=token)
    assert flow.requested_aal == "aal2"
    assert 1010004 in message_ids(flow)
    # The enrolment's code is spent; the next step's code steps up.
    step_up_refused(bia, token, flow, totp.now())
    code = totp.at(time.time() + 30)
    done = bia.frontend.update_login_flow(flow=flow.id, x_session_token=token, update_login_flow_body=totp_login(code))
    assert done.session.authenticator_assurance_level == "aal2"
    assert [m.method for m in done.session.authentication_methods] == ["password", "totp"]
    whoami = bia.frontend.to_session(x_session_token=token)
    assert whoami.authenticator_assurance_level == "aal2"

    # The same code from another aal1 session: a replay, refused.
    other = sign_in(bia, email).session_token
    flow = bia.frontend.create_native_login_flow(aal="aal2", x_session_token=other)
    step_up_refused(bia, other, flow, code)
    expect_error(403, bia.frontend.to_session, x_session_token=other)

    # Unlinking lowers the available level: the aal1 session satisfies whoami.
    settings = bia.frontend.create_native_settings_flow(x_session_token=token)
    bia.frontend.update_settings_flow(flow=settings.id, x_session_token=token, update_settings_flow_body=totp_settings(unlink=True))
    assert bia.frontend.to_session(x_session_token=other).authenticator_assurance_level == "aal1"


def test_aal2_needs_a_session_and_a_second_factor(bia):
    error = expect_error(401, bia.frontend.create_native_login_flow, aal="aal2")
    assert error["id"] == "session_aal1_required"
    token = sign_up(bia, unique_email("mfa-none"))
    expect_error(400, bia.frontend.create_native_login_flow, aal="aal2", x_session_token=token)


def lookup_settings(**buttons) -> UpdateSettingsFlowBody:
    return UpdateSettingsFlowBody(UpdateSettingsFlowWithLookupMethod(method="lookup_secret", **buttons))


def lookup_login(code: str) -> UpdateLoginFlowBody:
    return UpdateLoginFlowBody(UpdateLoginFlowWithLookupSecretMethod(method="lookup_secret", lookup_secret=code))


def test_lookup_codes_step_up_once_each_and_disable_lowers_the_level(bia):
    email = unique_email("mfa-lookup")
    first = sign_up(bia, email)
    flow = bia.frontend.create_native_settings_flow(x_session_token=first)
    # Regenerating shows a set that is not active until confirmed.
    with pytest.raises(ApiException) as shown:
        bia.frontend.update_settings_flow(flow=flow.id, x_session_token=first, update_settings_flow_body=lookup_settings(lookup_secret_regenerate=True))
    assert shown.value.status == 400
    listed = by_id(error_body(shown.value), "lookup_secret_codes")["attributes"]["text"]
    assert listed["id"] == 1050015
    codes = [s["context"]["secret"] for s in listed["context"]["secrets"]]
    assert len(codes) == 12 and len(set(codes)) == 12
    assert bia.frontend.to_session(x_session_token=first).authenticator_assurance_level == "aal1"
    saved = bia.frontend.update_settings_flow(flow=flow.id, x_session_token=first, update_settings_flow_body=lookup_settings(lookup_secret_confirm=True))
    assert saved.state == "success"

    # Now aal2 is available: a password session must step up.
    token = sign_in(bia, email).session_token
    assert expect_error(403, bia.frontend.to_session, x_session_token=token)["id"] == "session_aal2_required"
    flow = bia.frontend.create_native_login_flow(aal="aal2", x_session_token=token)
    with pytest.raises(ApiException) as refused:
        bia.frontend.update_login_flow(flow=flow.id, x_session_token=token, update_login_flow_body=lookup_login("not-a-code"))
    assert node_message_ids(error_body(refused.value), "lookup_secret") == [4000016]
    done = bia.frontend.update_login_flow(flow=flow.id, x_session_token=token, update_login_flow_body=lookup_login(codes[3]))
    assert done.session.authenticator_assurance_level == "aal2"
    assert [m.method for m in done.session.authentication_methods] == ["password", "lookup_secret"]

    # The same code again, from another session: refused as used.
    other = sign_in(bia, email).session_token
    flow = bia.frontend.create_native_login_flow(aal="aal2", x_session_token=other)
    with pytest.raises(ApiException) as reused:
        bia.frontend.update_login_flow(flow=flow.id, x_session_token=other, update_login_flow_body=lookup_login(codes[3]))
    assert node_message_ids(error_body(reused.value), "lookup_secret") == [4000012]

    # Disabling the last second factor lowers the level: aal1 suffices again.
    settings = bia.frontend.create_native_settings_flow(x_session_token=token)
    bia.frontend.update_settings_flow(flow=settings.id, x_session_token=token, update_settings_flow_body=lookup_settings(lookup_secret_disable=True))
    assert bia.frontend.to_session(x_session_token=other).authenticator_assurance_level == "aal1"
