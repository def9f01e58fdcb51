"""Recovery and verification through the official SDK, on every backend.

A server per backend with recovery and verification on (method `code`, the
`link` method enabled too) runs `serve --watch-courier`, delivering every
message to a real SMTP sink (aiosmtpd). Codes are read from the received
mail or from the courier admin API (`list_courier_messages(recipient=)`),
as an operator would. Every answer goes through the SDK's models: a field
of the wrong type or a missing required one fails the test.

The same server signs in by code (`passwordless_enabled`) and takes a code
as a second factor (`mfa_enabled`): a password session steps up to aal2
with a code mailed to the address it chooses.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import ory_kratos_client
import pytest
from ory_kratos_client.api.courier_api import CourierApi
from ory_kratos_client.api.frontend_api import FrontendApi
from ory_kratos_client.api.identity_api import IdentityApi
from ory_kratos_client.exceptions import ApiException
from ory_kratos_client.models.continue_with_set_ory_session_token import (
    ContinueWithSetOrySessionToken,
)
from ory_kratos_client.models.continue_with_settings_ui import ContinueWithSettingsUi
from ory_kratos_client.models.continue_with_verification_ui import ContinueWithVerificationUi
from ory_kratos_client.models.create_recovery_code_for_identity_body import (
    CreateRecoveryCodeForIdentityBody,
)
from ory_kratos_client.models.create_recovery_link_for_identity_body import (
    CreateRecoveryLinkForIdentityBody,
)
from ory_kratos_client.models.generic_error import GenericError
from ory_kratos_client.models.login_flow import LoginFlow
from ory_kratos_client.models.message import Message
from ory_kratos_client.models.recovery_code_for_identity import RecoveryCodeForIdentity
from ory_kratos_client.models.recovery_flow import RecoveryFlow
from ory_kratos_client.models.recovery_link_for_identity import RecoveryLinkForIdentity
from ory_kratos_client.models.session import Session
from ory_kratos_client.models.settings_flow import SettingsFlow
from ory_kratos_client.models.successful_native_registration import SuccessfulNativeRegistration
from ory_kratos_client.models.update_login_flow_body import UpdateLoginFlowBody
from ory_kratos_client.models.update_login_flow_with_code_method import UpdateLoginFlowWithCodeMethod
from ory_kratos_client.models.update_recovery_flow_body import UpdateRecoveryFlowBody
from ory_kratos_client.models.update_recovery_flow_with_code_method import (
    UpdateRecoveryFlowWithCodeMethod,
)
from ory_kratos_client.models.update_verification_flow_body import UpdateVerificationFlowBody
from ory_kratos_client.models.update_verification_flow_with_code_method import (
    UpdateVerificationFlowWithCodeMethod,
)
from ory_kratos_client.models.verification_flow import VerificationFlow

from selfservice import (
    SESSION_COOKIE,
    Browser,
    csrf_token,
    login_body,
    message_ids,
    node,
    node_message_ids,
    page_request,
    password_settings,
    registration_body,
)
from support import SCHEMAS, bia_bin, free_port, stop_server, unique_email, wait_ready

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "courier"))
from courier_support import Sink, SinkServer, wait_for  # noqa: E402


def _sdk_conftest():
    """This folder's conftest, by path: with several test folders in one run,
    the module named `conftest` may be another folder's."""
    spec = importlib.util.spec_from_file_location("bia_sdk_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_conftest = _sdk_conftest()
BACKENDS, READY_TIMEOUT, run = _conftest.BACKENDS, _conftest.READY_TIMEOUT, _conftest.run
create_sqlite, create_postgres, create_mysql = _conftest.create_sqlite, _conftest.create_postgres, _conftest.create_mysql

OLD_PASSWORD = "the old long passphrase"
NEW_PASSWORD = "a brand new long passphrase"
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class Bia:
    """A server with recovery and verification on, its SMTP sink and SDK clients."""

    def __init__(self, backend: str, public_url: str, admin_url: str, sink: Sink, log_path: Path):
        self.backend = backend
        self.public_url = public_url
        self.admin_url = admin_url
        self.sink = sink
        self.log_path = log_path
        admin = ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=admin_url.rstrip("/")))
        public = ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=public_url.rstrip("/")))
        self.identities = IdentityApi(admin)
        self.courier = CourierApi(admin)
        self.frontend = FrontendApi(public)

    def identity(self, email: str, schema_id: str = "default") -> str:
        """An identity with OLD_PASSWORD, made through the SDK."""
        from support import create, password_credentials

        credentials = password_credentials(OLD_PASSWORD)
        return create(self.identities, email, schema_id=schema_id, credentials=credentials).id

    def courier_messages(self, recipient: str, template: str, count: int = 1) -> list[Message]:
        """The queued messages of `template` to `recipient`, oldest first, once there are `count`."""
        found: list[Message] = []

        def enough() -> bool:
            nonlocal found
            listed = self.courier.list_courier_messages(recipient=recipient, page_size=100)
            found = sorted((m for m in listed if m.template_type == template), key=lambda m: m.created_at)
            return len(found) >= count

        wait_for(enough, 15, f"{count} {template} message(s) to {recipient}")
        return found

    def code_from_courier(self, recipient: str, template: str, count: int = 1) -> str:
        return code_in(self.courier_messages(recipient, template, count)[-1].body)

    def mails_to(self, recipient: str) -> list:
        with self.sink.lock:
            return [m for m in self.sink.messages if m["To"] == recipient]

    def code_from_mail(self, recipient: str, count: int = 1) -> str:
        """The code in the newest of at least `count` mails the SMTP sink received for `recipient`."""
        wait_for(lambda: len(self.mails_to(recipient)) >= count, 20, f"{count} mail(s) to {recipient}")
        mail = self.mails_to(recipient)[-1]
        return code_in(mail.get_body(("plain",)).get_content())


def code_in(text: str) -> str:
    found = CODE.search(text)
    assert found, f"no six-digit code in {text!r}"
    return found.group(1)


def other_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


@pytest.fixture(scope="module", params=BACKENDS)
def bia(request, tmp_path_factory):
    """`bia serve --watch-courier` on a fresh database of the backend, mailing an SMTP sink."""
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"bia-rv-{backend}")
    db = {"sqlite": lambda: create_sqlite(workdir), "postgres": create_postgres, "mysql": create_mysql}[backend]()
    sink = SinkServer(Sink(), free_port()).start()
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
            "secrets": {"cookie": ["sdk-suite-cookie-secret-0123456789"]},
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
            "identity": {
                "default_schema_id": "default",
                "schemas": [{"id": sid, "url": path.as_uri()} for sid, path in SCHEMAS.items()],
            },
            "selfservice": {
                "flows": {"recovery": {"enabled": True}, "verification": {"enabled": True}},
                "methods": {
                    "link": {"enabled": True},
                    "code": {"passwordless_enabled": True, "mfa_enabled": True},
                },
            },
            "courier": {
                "smtp": {
                    "connection_uri": f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true",
                    "from_address": "accounts@bia.example",
                },
                "worker": {"pull_wait": "100ms"},
            },
        }
        config_path = workdir / "config.yml"
        config_path.write_text(json.dumps(config, indent=2))
        log_path = workdir / "bia.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [bia_bin(), "serve", "-c", str(config_path), "--watch-courier"],
                stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
            )
        try:
            wait_ready(admin_url, proc, READY_TIMEOUT)
        except RuntimeError as err:
            pytest.fail(f"{err}\n--- server log ---\n{log_path.read_text(errors='replace')[-4000:]}", pytrace=False)
        yield Bia(backend, public_url, admin_url, sink.sink, log_path)
    finally:
        if proc is not None:
            stop_server(proc)
        sink.stop()
        db.drop()


def recovery_code_body(email: str | None = None, code: str | None = None, csrf: str | None = None):
    return UpdateRecoveryFlowBody(
        UpdateRecoveryFlowWithCodeMethod(method="code", email=email, code=code, csrf_token=csrf)
    )


def verification_code_body(email: str | None = None, code: str | None = None, csrf: str | None = None):
    return UpdateVerificationFlowBody(
        UpdateVerificationFlowWithCodeMethod(method="code", email=email, code=code, csrf_token=csrf)
    )


def refused_flow(model, call, *args, **kwargs):
    """Calls the SDK expecting 400 with the flow in the body; the flow, parsed by `model`."""
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)
    assert caught.value.status == 400, caught.value.body
    return model.from_json(caught.value.body)


def location_change(body: str) -> LocationChange:
    """A 422 `browser_location_change_required` answer.

    Kratos answers `{"error": {<generic error>}, "redirect_browser_to": ...}`;
    the SDK's `ErrorBrowserLocationChangeRequired` model nests one envelope too
    many (`error.error`) and cannot parse Kratos's own answer, so the inner
    error goes through the SDK's `GenericError` instead.
    """
    data = json.loads(body)
    error = GenericError.from_dict(data["error"])
    assert error.id == "browser_location_change_required", body
    assert error.code == 422, body
    assert isinstance(data["redirect_browser_to"], str), body
    return LocationChange(error, data["redirect_browser_to"])


@dataclass
class LocationChange:
    error: GenericError
    redirect_browser_to: str


def field_names(flow) -> list[tuple[str, str, str]]:
    return [(n["group"], n["attributes"].get("name"), n["attributes"].get("type")) for n in flow.to_dict()["ui"]["nodes"]]


def actions(items) -> list:
    """The `continue_with` items as the SDK's concrete models."""
    return [item.actual_instance for item in items or []]


# --------------------------------------------------------------------------- recovery


def test_native_recovery_by_code_from_the_smtp_sink(bia):
    email = unique_email("forgot")
    identity_id = bia.identity(email)
    flow = bia.frontend.create_native_recovery_flow()
    assert isinstance(flow, RecoveryFlow)
    assert flow.type == "api" and flow.state == "choose_method"
    assert flow.active == "code", "the method is named from the start, as Kratos does"
    assert field_names(flow) == [
        ("default", "csrf_token", "hidden"), ("code", "email", "email"), ("code", "method", "submit")
    ]

    # The address as the person types it: case does not matter.
    sent = bia.frontend.update_recovery_flow(flow.id, recovery_code_body(email=email.upper().replace("@EXAMPLE.ORG", "@Example.org")))
    assert isinstance(sent, RecoveryFlow)
    assert sent.state == "sent_email" and sent.active == "code"
    assert message_ids(sent) == [1060003]
    assert [n[1] for n in field_names(sent)] == ["csrf_token", "code", "method", "method", "email"]

    # The code arrives by real mail, from the configured sender.
    code = bia.code_from_mail(email)
    mail = bia.mails_to(email)[-1]
    assert mail["From"].endswith("accounts@bia.example") or "accounts@bia.example" in mail["From"]
    assert "\n" not in mail["Subject"] and mail["Subject"]
    assert bia.code_from_courier(email, "recovery_code_valid") == code

    wrong = refused_flow(RecoveryFlow, bia.frontend.update_recovery_flow, flow.id, recovery_code_body(code=other_code(code)))
    assert message_ids(wrong) == [4060006]
    assert wrong.state == "sent_email"

    done = bia.frontend.update_recovery_flow(flow.id, recovery_code_body(code=code))
    assert isinstance(done, RecoveryFlow)
    assert done.state == "passed_challenge"
    items = actions(done.continue_with)
    assert [type(i) for i in items] == [ContinueWithSetOrySessionToken, ContinueWithSettingsUi], items
    token = items[0].ory_session_token
    settings_id = items[1].flow.id
    assert token.startswith("ory_st_")

    session = bia.frontend.to_session(x_session_token=token)
    assert isinstance(session, Session)
    assert session.identity.id == identity_id
    assert [m.method for m in session.authentication_methods] == ["code_recovery"]

    settings = bia.frontend.get_settings_flow(settings_id, x_session_token=token)
    assert isinstance(settings, SettingsFlow)
    assert message_ids(settings)[0] == 1060001
    saved = bia.frontend.update_settings_flow(settings_id, password_settings(NEW_PASSWORD), x_session_token=token)
    assert isinstance(saved, SettingsFlow) and saved.state == "success"

    login = bia.frontend.create_native_login_flow()
    signed_in = bia.frontend.update_login_flow(login.id, login_body(email, NEW_PASSWORD))
    assert signed_in.session.identity.id == identity_id
    login = bia.frontend.create_native_login_flow()
    with pytest.raises(ApiException) as old:
        bia.frontend.update_login_flow(login.id, login_body(email, OLD_PASSWORD))
    assert old.value.status == 400

    # Replayed: the used code completes nothing twice and gives no new session.
    replay = refused_flow(RecoveryFlow, bia.frontend.update_recovery_flow, flow.id, recovery_code_body(code=code))
    assert message_ids(replay) == [4060001]
    assert replay.continue_with is None


def test_a_resend_voids_the_previous_code(bia):
    email = unique_email("resend")
    bia.identity(email)
    flow = bia.frontend.create_native_recovery_flow()
    bia.frontend.update_recovery_flow(flow.id, recovery_code_body(email=email))
    first = bia.code_from_courier(email, "recovery_code_valid", 1)
    bia.frontend.update_recovery_flow(flow.id, recovery_code_body(email=email))
    second = bia.code_from_courier(email, "recovery_code_valid", 2)
    if first != second:
        stale = refused_flow(RecoveryFlow, bia.frontend.update_recovery_flow, flow.id, recovery_code_body(code=first))
        assert message_ids(stale) == [4060006]
    done = bia.frontend.update_recovery_flow(flow.id, recovery_code_body(code=second))
    assert done.state == "passed_challenge"
    # A code from another flow of the same person does not work in this one.
    other = bia.frontend.create_native_recovery_flow()
    bia.frontend.update_recovery_flow(other.id, recovery_code_body(email=email))
    third = bia.code_from_courier(email, "recovery_code_valid", 3)
    fresh = bia.frontend.create_native_recovery_flow()
    bia.frontend.update_recovery_flow(fresh.id, recovery_code_body(email=unique_email("nobody")))
    if third != second:
        wrong = refused_flow(RecoveryFlow, bia.frontend.update_recovery_flow, fresh.id, recovery_code_body(code=third))
        assert message_ids(wrong) == [4060006]


def test_unknown_addresses_are_answered_like_known_ones(bia):
    known = unique_email("known")
    unknown = unique_email("ghost")
    bia.identity(known)
    shapes = []
    for email in (known, unknown):
        flow = bia.frontend.create_native_recovery_flow()
        sent = bia.frontend.update_recovery_flow(flow.id, recovery_code_body(email=email))
        assert isinstance(sent, RecoveryFlow)
        shape = sent.to_dict()
        for key in ("id", "issued_at", "expires_at", "request_url"):
            shape.pop(key, None)
        shape["ui"].pop("action")
        for n in shape["ui"]["nodes"]:
            if n["attributes"].get("name") == "email":
                assert n["attributes"]["value"] == email
                n["attributes"]["value"] = None
        shapes.append(shape)
    assert shapes[0] == shapes[1], "known and unknown addresses look alike"
    bia.code_from_courier(known, "recovery_code_valid")
    # Nothing went to the unknown address, by the courier or by mail.
    time.sleep(0.3)
    assert bia.courier.list_courier_messages(recipient=unknown) == []
    assert bia.mails_to(unknown) == []

    # Verification too: a code for a known address, the same answer for an unknown one.
    answers = []
    for email in (known, unknown):
        flow = bia.frontend.create_native_verification_flow()
        sent = bia.frontend.update_verification_flow(flow.id, verification_code_body(email=email))
        assert isinstance(sent, VerificationFlow)
        assert sent.state == "sent_email"
        answers.append(message_ids(sent))
    assert answers == [[1080003], [1080003]]
    assert bia.code_from_courier(known, "verification_code_valid")


def test_hostile_addresses_and_codes(bia):
    victim = unique_email("victim")
    bia.identity(victim)
    flow = bia.frontend.create_native_recovery_flow()
    for email in (f"{victim}\r\nBcc: all@example.org", f"{victim}\nBcc: all@example.org", f"a\r\n@{victim}"):
        refused = refused_flow(RecoveryFlow, bia.frontend.update_recovery_flow, flow.id, recovery_code_body(email=email))
        assert node_message_ids(refused, "email") == [4000001], refused.to_dict()
        assert refused.state == "choose_method"
    flow = bia.frontend.create_native_verification_flow()
    refused = refused_flow(
        VerificationFlow, bia.frontend.update_verification_flow, flow.id,
        verification_code_body(email=f"{victim}\r\nBcc: all@example.org"),
    )
    assert node_message_ids(refused, "email") == [4000001], refused.to_dict()
    time.sleep(0.3)
    assert bia.courier.list_courier_messages(recipient=victim) == []
    with bia.sink.lock:
        assert all("all@example.org" not in rcpts for _, rcpts in bia.sink.envelopes)

    # Codes of any shape are just wrong codes.
    flow = bia.frontend.create_native_recovery_flow()
    bia.frontend.update_recovery_flow(flow.id, recovery_code_body(email=victim))
    real = bia.code_from_courier(victim, "recovery_code_valid")
    # (Four of them: a fifth wrong code would void the flow.)
    for code in (f"{real[:3]}\r\n{real[3:]}", f"{real}0", "x" * 5000, "💥"):
        wrong = refused_flow(RecoveryFlow, bia.frontend.update_recovery_flow, flow.id, recovery_code_body(code=code))
        assert message_ids(wrong) == [4060006], code
    # Whitespace around a pasted code is ignored (the server trims it).
    done = bia.frontend.update_recovery_flow(flow.id, recovery_code_body(code=f" {real}\r\n"))
    assert done.state == "passed_challenge"


# --------------------------------------------------------------------------- admin


def test_admin_recovery_code_in_a_browser(bia, new_browser_for):
    email = unique_email("lost")
    identity_id = bia.identity(email)
    created = bia.identities.create_recovery_code_for_identity(
        CreateRecoveryCodeForIdentityBody(identity_id=identity_id, expires_in="10m")
    )
    assert isinstance(created, RecoveryCodeForIdentity)
    assert re.fullmatch(r"\d{6}", created.recovery_code)
    assert created.recovery_link.startswith(f"{bia.public_url}self-service/recovery?flow=")
    flow_id = created.recovery_link.split("flow=")[1]

    browser = new_browser_for(bia.public_url)
    flow = browser.api.get_recovery_flow(flow_id, cookie=browser.cookie)
    assert isinstance(flow, RecoveryFlow)
    assert flow.type == "browser" and flow.state == "sent_email"
    assert node(flow, "code")["attributes"]["type"] == "text"

    wrong = refused_flow(
        RecoveryFlow, browser.api.update_recovery_flow, flow_id,
        recovery_code_body(code=other_code(created.recovery_code)), cookie=browser.cookie,
    )
    assert message_ids(wrong) == [4060006]
    assert SESSION_COOKIE not in browser.cookies

    # The right code: a JSON-speaking browser is told to go to the settings flow.
    with pytest.raises(ApiException) as moved:
        browser.api.update_recovery_flow(flow_id, recovery_code_body(code=created.recovery_code), cookie=browser.cookie)
    assert moved.value.status == 422, moved.value.body
    change = location_change(moved.value.body)
    assert f"{bia.public_url}ui/settings?flow=" in change.redirect_browser_to
    assert SESSION_COOKIE in browser.cookies

    session = browser.api.to_session(cookie=browser.cookie)
    assert session.identity.id == identity_id
    settings_id = change.redirect_browser_to.split("flow=")[1]
    settings = browser.api.get_settings_flow(settings_id, cookie=browser.cookie)
    assert message_ids(settings)[0] == 1060001
    saved = browser.api.update_settings_flow(
        settings_id, password_settings(NEW_PASSWORD, csrf_token(settings)), cookie=browser.cookie
    )
    assert saved.state == "success"
    login = bia.frontend.create_native_login_flow()
    assert bia.frontend.update_login_flow(login.id, login_body(email, NEW_PASSWORD)).session.identity.id == identity_id

    # Replayed in another browser: refused, no session.
    other = new_browser_for(bia.public_url)
    replay = refused_flow(
        RecoveryFlow, other.api.update_recovery_flow, flow_id,
        recovery_code_body(code=created.recovery_code), cookie=other.cookie,
    )
    assert message_ids(replay) == [4060001]
    assert SESSION_COOKIE not in other.cookies


def test_admin_recovery_link_opened_by_a_browser(bia, new_browser_for):
    email = unique_email("linked")
    identity_id = bia.identity(email)
    created = bia.identities.create_recovery_link_for_identity(
        create_recovery_link_for_identity_body=CreateRecoveryLinkForIdentityBody(identity_id=identity_id, expires_in="1h")
    )
    assert isinstance(created, RecoveryLinkForIdentity)
    assert created.recovery_link.startswith(f"{bia.public_url}self-service/recovery?flow=")
    assert "&token=" in created.recovery_link
    assert created.expires_at is not None

    browser = new_browser_for(bia.public_url)
    tampered = page_request(browser, created.recovery_link + "x")
    assert tampered.status == 303
    assert SESSION_COOKIE not in browser.cookies

    opened = page_request(browser, created.recovery_link)
    assert opened.status == 303
    assert "/ui/settings?flow=" in opened.location
    assert SESSION_COOKIE in browser.cookies
    session = browser.api.to_session(cookie=browser.cookie)
    assert session.identity.id == identity_id
    assert [m.method for m in session.authentication_methods] == ["link_recovery"]

    again = new_browser_for(bia.public_url)
    assert page_request(again, created.recovery_link).status == 303
    assert SESSION_COOKIE not in again.cookies

    # Unknown identities and hostile lifespans are refused with Kratos's error envelope.
    with pytest.raises(ApiException) as missing:
        bia.identities.create_recovery_link_for_identity(
            create_recovery_link_for_identity_body=CreateRecoveryLinkForIdentityBody(identity_id="6c8e4a5e-0000-4000-8000-000000000000")
        )
    assert missing.value.status == 404
    with pytest.raises(ApiException) as forever:
        bia.identities.create_recovery_code_for_identity(
            CreateRecoveryCodeForIdentityBody(identity_id=identity_id, expires_in="100000h")
        )
    assert forever.value.status == 400


# --------------------------------------------------------------------------- browser self-service


def test_browser_json_recovery_by_code(bia, new_browser_for):
    email = unique_email("spa")
    identity_id = bia.identity(email)
    browser = new_browser_for(bia.public_url)
    flow = browser.api.create_browser_recovery_flow()
    assert isinstance(flow, RecoveryFlow) and flow.type == "browser"
    csrf = csrf_token(flow)
    sent = browser.api.update_recovery_flow(flow.id, recovery_code_body(email=email, csrf=csrf), cookie=browser.cookie)
    assert sent.state == "sent_email"
    code = bia.code_from_courier(email, "recovery_code_valid")

    # Without the browser's cookie (another site posting the code): refused.
    with pytest.raises(ApiException) as forged:
        browser.api.update_recovery_flow(flow.id, recovery_code_body(code=code, csrf=csrf))
    assert forged.value.status in (400, 403), forged.value.body

    with pytest.raises(ApiException) as moved:
        browser.api.update_recovery_flow(flow.id, recovery_code_body(code=code, csrf=csrf), cookie=browser.cookie)
    assert moved.value.status == 422, moved.value.body
    change = location_change(moved.value.body)
    assert "/ui/settings?flow=" in change.redirect_browser_to
    assert browser.api.to_session(cookie=browser.cookie).identity.id == identity_id


# --------------------------------------------------------------------------- verification


def test_verification_after_native_registration(bia):
    email = unique_email("new")
    registration = bia.frontend.create_native_registration_flow()
    result = bia.frontend.update_registration_flow(registration.id, registration_body(email, OLD_PASSWORD))
    assert isinstance(result, SuccessfulNativeRegistration)
    shows = [i for i in actions(result.continue_with) if isinstance(i, ContinueWithVerificationUi)]
    assert len(shows) == 1, result.continue_with
    show = shows[0]
    assert show.action == "show_verification_ui"
    assert show.flow.verifiable_address == email
    identity_id = result.identity.id

    before = bia.identities.get_identity(identity_id)
    assert [(a.value, a.verified, a.status) for a in before.verifiable_addresses] == [(email, False, "sent")]

    flow = bia.frontend.get_verification_flow(show.flow.id)
    assert isinstance(flow, VerificationFlow)
    assert flow.state == "sent_email"
    # The code arrives by real mail, and the courier lists the same one.
    code = bia.code_from_mail(email)
    assert bia.code_from_courier(email, "verification_code_valid") == code

    wrong = refused_flow(VerificationFlow, bia.frontend.update_verification_flow, flow.id, verification_code_body(code=other_code(code)))
    assert message_ids(wrong) == [4070006]
    assert not bia.identities.get_identity(identity_id).verifiable_addresses[0].verified

    done = bia.frontend.update_verification_flow(flow.id, verification_code_body(code=code))
    assert isinstance(done, VerificationFlow)
    assert done.state == "passed_challenge"
    assert message_ids(done) == [1080002]
    anchors = [n for n in done.to_dict()["ui"]["nodes"] if n["type"] == "a"]
    assert [a["attributes"]["id"] for a in anchors] == ["continue"]

    after = bia.identities.get_identity(identity_id)
    address = after.verifiable_addresses[0]
    assert (address.value, address.verified, address.status) == (email, True, "completed")
    assert address.verified_at is not None

    replay = refused_flow(VerificationFlow, bia.frontend.update_verification_flow, flow.id, verification_code_body(code=code))
    assert message_ids(replay) == [4070002]


def test_browser_registration_leads_to_a_verification_the_browser_can_submit(bia, new_browser_for):
    email = unique_email("spa-new")
    browser = new_browser_for(bia.public_url)
    registration = browser.api.create_browser_registration_flow()
    result = browser.api.update_registration_flow(
        registration.id, registration_body(email, OLD_PASSWORD, csrf_token(registration)), cookie=browser.cookie
    )
    assert isinstance(result, SuccessfulNativeRegistration)
    shows = [i for i in actions(result.continue_with) if isinstance(i, ContinueWithVerificationUi)]
    assert [s.flow.verifiable_address for s in shows] == [email]
    assert shows[0].flow.url == f"{bia.public_url}ui/verification?flow={shows[0].flow.id}"
    flow = browser.api.get_verification_flow(shows[0].flow.id, cookie=browser.cookie)
    assert flow.type == "browser" and flow.state == "sent_email"
    # The flow's form carries the browser's anti-CSRF token (it was empty once).
    csrf = csrf_token(flow)
    code = bia.code_from_courier(email, "verification_code_valid")
    done = browser.api.update_verification_flow(flow.id, verification_code_body(code=code, csrf=csrf), cookie=browser.cookie)
    assert done.state == "passed_challenge"
    address = bia.identities.get_identity(result.identity.id).verifiable_addresses[0]
    assert (address.value, address.verified) == (email, True)


def test_browser_verification_of_a_known_address(bia, new_browser_for):
    email = unique_email("verify")
    identity_id = bia.identity(email)
    browser = new_browser_for(bia.public_url)
    flow = browser.api.create_browser_verification_flow()
    assert isinstance(flow, VerificationFlow) and flow.type == "browser"
    csrf = csrf_token(flow)
    sent = browser.api.update_verification_flow(flow.id, verification_code_body(email=email, csrf=csrf), cookie=browser.cookie)
    assert sent.state == "sent_email"
    code = bia.code_from_courier(email, "verification_code_valid")
    done = browser.api.update_verification_flow(flow.id, verification_code_body(code=code, csrf=csrf), cookie=browser.cookie)
    assert done.state == "passed_challenge"
    address = bia.identities.get_identity(identity_id).verifiable_addresses[0]
    assert address.verified and address.status == "completed"


@pytest.fixture
def new_browser_for():
    made: list[Browser] = []

    def make(public_url: str) -> Browser:
        browser = Browser(public_url)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        browser.close()


def code_login(**fields) -> UpdateLoginFlowBody:
    return UpdateLoginFlowBody(UpdateLoginFlowWithCodeMethod(method="code", csrf_token="", **fields))


def test_sign_in_by_code_from_the_smtp_sink(bia):
    email = unique_email("by-code")
    identity_id = bia.identity(email)
    flow = bia.frontend.create_native_login_flow()
    sent = refused_flow(LoginFlow, bia.frontend.update_login_flow, flow.id, code_login(identifier=email))
    assert sent.state == "sent_email" and sent.active == "code"
    code = bia.code_from_mail(email)
    assert bia.code_from_courier(email, "login_code_valid") == code
    wrong = refused_flow(LoginFlow, bia.frontend.update_login_flow, flow.id, code_login(code=other_code(code)))
    assert message_ids(wrong) == [4010008]
    done = bia.frontend.update_login_flow(flow.id, code_login(code=code))
    assert done.session.identity.id == identity_id
    assert [(m.method, m.aal) for m in done.session.authentication_methods] == [("code", "aal1")]
    refused_flow(LoginFlow, bia.frontend.update_login_flow, flow.id, code_login(code=code))


def test_a_code_steps_a_password_session_up(bia):
    email = unique_email("code-mfa")
    bia.identity(email, schema_id="code")
    login = bia.frontend.create_native_login_flow()
    token = bia.frontend.update_login_flow(login.id, login_body(email, OLD_PASSWORD)).session_token
    flow = bia.frontend.create_native_login_flow(aal="aal2", x_session_token=token)
    assert isinstance(flow, LoginFlow) and flow.requested_aal == "aal2"
    buttons = [n for n in flow.to_dict()["ui"]["nodes"] if n["attributes"].get("name") == "address"]
    assert [b["attributes"]["value"] for b in buttons] == [email]
    assert buttons[0]["meta"]["label"]["id"] == 1010023

    # Another account's address, and a header injection, send nothing.
    for address in ["someone-else@example.org", email + "\r\nBcc: x@example.org"]:
        refused = refused_flow(
            LoginFlow, bia.frontend.update_login_flow, flow.id, code_login(address=address), x_session_token=token
        )
        assert node_message_ids(refused, "address"), refused
    sent = refused_flow(
        LoginFlow, bia.frontend.update_login_flow, flow.id, code_login(address=email), x_session_token=token
    )
    assert sent.state == "sent_email"
    code = bia.code_from_mail(email)
    done = bia.frontend.update_login_flow(flow.id, code_login(code=code), x_session_token=token)
    assert done.session.authenticator_assurance_level == "aal2"
    assert [(m.method, m.aal) for m in done.session.authentication_methods] == [
        ("password", "aal1"), ("code", "aal2")
    ]
    assert bia.frontend.to_session(x_session_token=token).authenticator_assurance_level == "aal2"
    refused_flow(LoginFlow, bia.frontend.update_login_flow, flow.id, code_login(code=code), x_session_token=token)
