"""Sign-in and sign-up with OpenID Connect providers, on every backend.

Two providers run on loopback next to each server: a real one (npm
`oidc-provider`, `tests/oidc-provider/provider.mjs`, which signs in whatever
account the test chose and grants consent at once) and a hostile one
(`hostile.mjs`, one misbehaviour per client id). A browser is a cookie jar
that follows redirects by hand, so every hop between Bia and the provider
is visible; flows, sessions and identities are read back through the SDK.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import ory_kratos_client
import pytest
import requests
from ory_kratos_client.api.frontend_api import FrontendApi
from ory_kratos_client.api.identity_api import IdentityApi
from ory_kratos_client.models.create_identity_body import CreateIdentityBody
from ory_kratos_client.models.identity_with_credentials import IdentityWithCredentials
from ory_kratos_client.models.identity_with_credentials_oidc import IdentityWithCredentialsOidc
from ory_kratos_client.models.identity_with_credentials_oidc_config import (
    IdentityWithCredentialsOidcConfig,
)
from ory_kratos_client.models.identity_with_credentials_oidc_config_provider import (
    IdentityWithCredentialsOidcConfigProvider,
)

from support import (
    DEFAULT_RETURN_URL,
    SCHEMAS,
    bia_bin,
    create,
    free_port,
    password_credentials,
    stop_server,
    unique_email,
    wait_ready,
)

HERE = Path(__file__).resolve().parent
PROVIDER_DIR = HERE.parent / "oidc-provider"
MAPPER = HERE / "oidc" / "mapper.jsonnet"
CLIENT_SECRET = "bia-test-client-secret-0123456789"
HOSTILE_MODES = [
    "wrong-aud",
    "wrong-iss",
    "wrong-nonce",
    "expired",
    "other-key",
    "alg-none",
    "hs256",
    "no-id-token",
    "token-500",
    "token-not-json",
    "provider-error",
]


def _sdk_conftest():
    """This folder's conftest, by path (another folder's may be `conftest`)."""
    spec = importlib.util.spec_from_file_location("bia_sdk_conftest", HERE / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_conftest = _sdk_conftest()
BACKENDS, READY_TIMEOUT, run = _conftest.BACKENDS, _conftest.READY_TIMEOUT, _conftest.run
create_sqlite, create_postgres, create_mysql = _conftest.create_sqlite, _conftest.create_postgres, _conftest.create_mysql


def start_node(script: str, options: dict) -> tuple[subprocess.Popen, str]:
    """Starts a provider script; returns the process and its issuer."""
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        pytest.fail("run `npm ci` in tests/oidc-provider first", pytrace=False)
    proc = subprocess.Popen(
        ["node", str(PROVIDER_DIR / script), json.dumps(options)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail(f"{script} did not start", pytrace=False)
    return proc, json.loads(line)["issuer"]


def b64(text: str) -> str:
    return "base64://" + base64.b64encode(text.encode()).decode()


def provider(id: str, issuer: str, client_id: str, mapper: str | None = None, **extra) -> dict:
    return {
        "id": id,
        "provider": "generic",
        "client_id": client_id,
        "client_secret": CLIENT_SECRET,
        "issuer_url": issuer,
        "mapper_url": mapper or MAPPER.as_uri(),
        "scope": ["email", "profile"],
        **extra,
    }


class Bia:
    """A server with social sign-in against the two test providers."""

    def __init__(self, public_url: str, admin_url: str, idp_issuer: str, log_path: Path):
        self.public_url = public_url
        self.admin_url = admin_url
        self.idp_issuer = idp_issuer
        self.log_path = log_path
        admin = ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=admin_url.rstrip("/")))
        public = ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=public_url.rstrip("/")))
        self.identities = IdentityApi(admin)
        self.frontend = FrontendApi(public)

    def choose_account(self, sub: str, **claims) -> None:
        """The account the real provider signs in next."""
        answer = requests.post(self.idp_issuer + "/_test/next-account", json={"sub": sub, "claims": claims}, timeout=10)
        assert answer.status_code == 204

    def oidc_identities(self, identifier: str) -> list:
        return self.identities.list_identities(credentials_identifier=identifier)


@pytest.fixture(scope="module", params=BACKENDS)
def bia(request, tmp_path_factory):
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"bia-oidc-{backend}")
    db = {"sqlite": lambda: create_sqlite(workdir), "postgres": create_postgres, "mysql": create_mysql}[backend]()
    public_port, admin_port = free_port(), free_port()
    public_url = f"http://127.0.0.1:{public_port}/"
    admin_url = f"http://127.0.0.1:{admin_port}/"
    callback = public_url + "self-service/methods/oidc/callback/"
    idp, idp_issuer = start_node("provider.mjs", {"clients": [{
        "client_id": "bia", "client_secret": CLIENT_SECRET,
        "redirect_uris": [callback + "idp"],
    }]})
    hostile, hostile_issuer = start_node("hostile.mjs", {})
    proc = None
    try:
        run([bia_bin(), "migrate", "sql", "-e", "--yes"], env={"DSN": db.dsn})
        providers = [
            provider("idp", idp_issuer, "bia", label="Test Provider",
                     requested_claims={"id_token": {"email": {"essential": True}}},
                     upstream_parameters={"prompt": "login"}),
            provider("honest", hostile_issuer, "honest"),
            provider("throws", hostile_issuer, "honest", mapper=b64("error 'the mapper gave up'")),
            provider("badtraits", hostile_issuer, "honest",
                     mapper=b64("{ identity: { traits: { email: 42 } } }")),
            provider("down", f"http://127.0.0.1:{free_port()}", "down"),
            provider("broken", hostile_issuer + "/broken", "broken"),
            *[provider(mode, hostile_issuer, mode) for mode in HOSTILE_MODES],
        ]
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
                "default_browser_return_url": DEFAULT_RETURN_URL,
                "methods": {"oidc": {"enabled": True, "config": {"providers": providers}}},
            },
        }
        config_path = workdir / "config.yml"
        config_path.write_text(json.dumps(config, indent=2))
        log_path = workdir / "bia.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([bia_bin(), "serve", "-c", str(config_path)],
                                    stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        try:
            wait_ready(admin_url, proc, READY_TIMEOUT)
        except RuntimeError as err:
            pytest.fail(f"{err}\n--- server log ---\n{log_path.read_text(errors='replace')[-4000:]}", pytrace=False)
        yield Bia(public_url, admin_url, idp_issuer, log_path)
    finally:
        if proc is not None:
            stop_server(proc)
        for node in (idp, hostile):
            node.kill()
            node.wait(timeout=5)
        db.drop()


# --------------------------------------------------------------------------- a browser


class Browser:
    """Cookies per host and port, redirects followed one by one (cookies are
    sent over plain HTTP too: the servers are on loopback)."""

    def __init__(self) -> None:
        self.jars: dict[str, dict[str, str]] = {}
        self.visited: list[str] = []

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        netloc = urllib.parse.urlsplit(url).netloc
        jar = self.jars.setdefault(netloc, {})
        headers = dict(kwargs.pop("headers", {}))
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        answer = requests.request(method, url, headers=headers, allow_redirects=False, timeout=30, **kwargs)
        for line in answer.raw.headers.getlist("Set-Cookie"):
            pair, _, attributes = line.partition(";")
            name, _, value = pair.strip().partition("=")
            if not value or "max-age=0" in attributes.lower():
                jar.pop(name, None)
            else:
                jar[name] = value
        self.visited.append(url)
        return answer

    def follow(self, url: str, bia: Bia) -> str:
        """Follows redirects from `url` until one leaves Bia and the provider
        for the app (the return URL) or lands on one of Bia's UI pages."""
        for _ in range(20):
            if url.startswith(DEFAULT_RETURN_URL) or urllib.parse.urlsplit(url).path.startswith("/ui/"):
                return url
            answer = self.request("GET", url, headers={"Accept": "text/html"})
            assert answer.status_code in (302, 303), f"{url}: {answer.status_code} {answer.text[:300]}"
            url = urllib.parse.urljoin(url, answer.headers["Location"])
        raise AssertionError(f"too many redirects: {self.visited[-5:]}")

    def session_cookie(self, bia: Bia) -> str | None:
        jar = self.jars.get(urllib.parse.urlsplit(bia.public_url).netloc, {})
        value = jar.get("ory_kratos_session")
        return f"ory_kratos_session={value}" if value else None

    def cookie_for(self, bia: Bia) -> str:
        jar = self.jars.get(urllib.parse.urlsplit(bia.public_url).netloc, {})
        return "; ".join(f"{k}={v}" for k, v in jar.items())


def new_flow(browser: Browser, bia: Bia, kind: str) -> dict:
    answer = browser.request("GET", f"{bia.public_url}self-service/{kind}/browser",
                             headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def choose_provider(browser: Browser, bia: Bia, kind: str, provider_id: str,
                    accept: str = "text/html") -> tuple[dict, requests.Response]:
    flow = new_flow(browser, bia, kind)
    csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")
    answer = browser.request(
        "POST", f"{bia.public_url}self-service/{kind}?flow={flow['id']}",
        data={"csrf_token": csrf, "method": "oidc", "provider": provider_id},
        headers={"Accept": accept},
    )
    return flow, answer


def sign_with(browser: Browser, bia: Bia, kind: str, provider_id: str) -> tuple[dict, str]:
    """Runs a flow through a provider; returns the flow and where it ended."""
    flow, answer = choose_provider(browser, bia, kind, provider_id)
    assert answer.status_code == 303, answer.text
    return flow, browser.follow(answer.headers["Location"], bia)


def flow_messages(bia: Bia, browser: Browser, kind: str, flow_id: str) -> list[int]:
    get = bia.frontend.get_registration_flow if kind == "registration" else bia.frontend.get_login_flow
    flow = get(flow_id, cookie=browser.cookie_for(bia))
    ids = [m.id for m in (flow.ui.messages or [])]
    for node in flow.ui.nodes:
        ids += [m.id for m in node.messages]
    return ids


def callback_url(browser: Browser) -> str:
    return next(u for u in reversed(browser.visited) if "/self-service/methods/oidc/callback/" in u)


# --------------------------------------------------------------------------- tests


def test_the_forms_offer_each_provider(bia):
    browser = Browser()
    for kind, message_id, verb in [("login", 1010002, "Sign in"), ("registration", 1040002, "Sign up")]:
        flow = new_flow(browser, bia, kind)
        buttons = [n for n in flow["ui"]["nodes"] if n["group"] == "oidc"]
        assert [b["attributes"]["value"] for b in buttons][:3] == ["idp", "honest", "throws"]
        first = buttons[0]
        assert first["attributes"]["name"] == "provider"
        assert first["attributes"]["type"] == "submit"
        assert first["meta"]["label"] == {
            "id": message_id, "text": f"{verb} with Test Provider", "type": "info",
            "context": {"provider": "Test Provider", "provider_id": "idp"},
        }


def test_sign_up_then_sign_in_with_the_provider(bia):
    sub, email = f"user-{uuid.uuid4().hex[:8]}", unique_email("social")
    bia.choose_account(sub, email=email, email_verified=True, given_name="Ada", groups=["admins"])
    browser = Browser()
    _, ended = sign_with(browser, bia, "registration", "idp")
    assert ended == DEFAULT_RETURN_URL
    session = bia.frontend.to_session(cookie=browser.session_cookie(bia))
    assert session.identity.traits == {"email": email, "name": {"given": "Ada"}}
    assert [m.method for m in session.authentication_methods] == ["oidc"]
    identity = bia.identities.get_identity(session.identity.id, include_credential=["oidc"])
    oidc = identity.credentials["oidc"]
    assert oidc.identifiers == [f"idp:{sub}"]
    assert oidc.config["providers"][0]["subject"] == sub
    assert oidc.config["providers"][0]["provider"] == "idp"
    assert identity.metadata_public == {"groups": ["admins"]}
    assert identity.metadata_admin == {"subject": sub}
    assert [(a.value, a.verified) for a in identity.verifiable_addresses] == [(email, True)]

    # Later, in another browser: the same account signs in to the same identity.
    again = Browser()
    _, ended = sign_with(again, bia, "login", "idp")
    assert ended == DEFAULT_RETURN_URL
    later = bia.frontend.to_session(cookie=again.session_cookie(bia))
    assert later.identity.id == identity.id
    assert later.id != session.id
    # Signing up again with a linked account signs in instead of creating another identity.
    third = Browser()
    _, ended = sign_with(third, bia, "registration", "idp")
    assert ended == DEFAULT_RETURN_URL
    assert bia.frontend.to_session(cookie=third.session_cookie(bia)).identity.id == identity.id
    assert len(bia.oidc_identities(f"idp:{sub}")) == 1


def test_the_authorization_request_carries_state_nonce_pkce_and_parameters(bia):
    browser = Browser()
    flow, answer = choose_provider(browser, bia, "login", "idp", accept="application/json")
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["error"]["id"] == "browser_location_change_required"
    to = error["redirect_browser_to"]
    assert to.startswith(bia.idp_issuer + "/auth?")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(to).query))
    assert query["client_id"] == "bia"
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == bia.public_url + "self-service/methods/oidc/callback/idp"
    assert query["scope"].split() == ["openid", "email", "profile"]
    assert query["state"].startswith(f"login.{flow['id']}.")
    assert len(query["nonce"]) >= 43
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["prompt"] == "login"
    assert json.loads(query["claims"]) == {"id_token": {"email": {"essential": True}}}
    # The verifier, nonce and state secret stay on the server.
    fetched = bia.frontend.get_login_flow(flow["id"], cookie=browser.cookie_for(bia))
    assert query["nonce"] not in json.dumps(fetched.to_dict(), default=str)


def test_an_unknown_account_cannot_sign_in(bia):
    bia.choose_account(f"nobody-{uuid.uuid4().hex[:8]}", email=unique_email("nobody"))
    browser = Browser()
    flow, ended = sign_with(browser, bia, "login", "idp")
    assert "/ui/login" in ended
    assert 4000037 in flow_messages(bia, browser, "login", flow["id"])
    assert browser.session_cookie(bia) is None


def test_an_imported_oidc_credential_signs_in(bia):
    sub, email = f"imported-{uuid.uuid4().hex[:8]}", unique_email("imported")
    credentials = IdentityWithCredentials(oidc=IdentityWithCredentialsOidc(config=IdentityWithCredentialsOidcConfig(
        providers=[IdentityWithCredentialsOidcConfigProvider(provider="idp", subject=sub)])))
    created = bia.identities.create_identity(CreateIdentityBody(
        schema_id="default", traits={"email": email}, credentials=credentials))
    bia.choose_account(sub, email=email)
    browser = Browser()
    _, ended = sign_with(browser, bia, "login", "idp")
    assert ended == DEFAULT_RETURN_URL
    assert bia.frontend.to_session(cookie=browser.session_cookie(bia)).identity.id == created.id


def test_an_address_of_another_identity_is_refused(bia):
    email = unique_email("taken")
    create(bia.identities, email, credentials=password_credentials("a long enough passphrase"))
    sub = f"dup-{uuid.uuid4().hex[:8]}"
    bia.choose_account(sub, email=email, email_verified=True)
    browser = Browser()
    flow, ended = sign_with(browser, bia, "registration", "idp")
    assert "/ui/registration" in ended
    assert 4000027 in flow_messages(bia, browser, "registration", flow["id"])
    assert browser.session_cookie(bia) is None
    assert bia.oidc_identities(f"idp:{sub}") == []


def test_a_replayed_callback_is_refused(bia):
    sub = f"replay-{uuid.uuid4().hex[:8]}"
    bia.choose_account(sub, email=unique_email("replay"))
    browser = Browser()
    flow, ended = sign_with(browser, bia, "registration", "idp")
    assert ended == DEFAULT_RETURN_URL
    replay = callback_url(browser)
    first_session = browser.session_cookie(bia)

    # The same browser: the flow is completed.
    answer = browser.request("GET", replay, headers={"Accept": "application/json"})
    assert answer.status_code == 400, answer.text
    ids = [m["id"] for m in answer.json()["ui"]["messages"]]
    assert ids == [4040002]
    assert browser.session_cookie(bia) == first_session

    # Another browser: its anti-CSRF cookie is not the flow's.
    thief = Browser()
    answer = thief.request("GET", replay, headers={"Accept": "application/json"})
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["id"] == "security_csrf_violation"
    assert thief.session_cookie(bia) is None
    assert len(bia.oidc_identities(f"idp:{sub}")) == 1


def test_a_failed_callback_uses_its_state_up(bia):
    browser = Browser()
    flow, answer = choose_provider(browser, bia, "registration", "provider-error")
    ended = browser.follow(answer.headers["Location"], bia)
    assert "/ui/registration" in ended
    replay = callback_url(browser)
    answer = browser.request("GET", replay, headers={"Accept": "application/json"})
    assert answer.status_code == 400
    texts = [m["text"] for m in answer.json()["ui"]["messages"]]
    assert any("already used" in t for t in texts), texts


def test_forged_states_are_refused(bia):
    browser = Browser()
    flow, answer = choose_provider(browser, bia, "registration", "honest")
    assert answer.status_code == 303
    callback = bia.public_url + "self-service/methods/oidc/callback/honest"
    forged_secret = base64.urlsafe_b64encode(hashlib.sha256(b"guess").digest()).decode().rstrip("=")
    forged = f"registration.{flow['id']}.{forged_secret}"
    answer = browser.request("GET", callback, params={"state": forged, "code": "x"},
                             headers={"Accept": "application/json"})
    assert answer.status_code == 400, answer.text
    assert [m["id"] for m in answer.json()["ui"]["messages"]] == [5000001]
    assert browser.session_cookie(bia) is None
    for state in ["", "garbage", "settings." + flow["id"] + ".x", "registration.not-a-uuid.x", "x" * 5000]:
        answer = browser.request("GET", callback, params={"state": state, "code": "x"},
                                 headers={"Accept": "application/json"})
        assert answer.status_code == 400, (state[:40], answer.text)
        assert answer.json()["error"]["code"] == 400
    # A state for a flow that does not exist.
    answer = browser.request("GET", callback, params={"state": f"login.{uuid.uuid4()}.abc"},
                             headers={"Accept": "application/json"})
    assert answer.status_code == 404


def test_the_honest_hostile_client_works(bia):
    """The control for the hostile cases: the same provider, behaving."""
    browser = Browser()
    _, ended = sign_with(browser, bia, "registration", "honest")
    assert ended == DEFAULT_RETURN_URL
    assert browser.session_cookie(bia) is not None


@pytest.mark.parametrize("mode", HOSTILE_MODES)
def test_hostile_provider_answers_are_refused(bia, mode):
    browser = Browser()
    flow, ended = sign_with(browser, bia, "registration", mode)
    assert "/ui/registration" in ended, ended
    assert flow_messages(bia, browser, "registration", flow["id"]) == [5000001]
    assert browser.session_cookie(bia) is None
    assert bia.oidc_identities(f"{mode}:hostile-user") == []


@pytest.mark.parametrize("provider_id", ["down", "broken"])
def test_an_unusable_provider_is_a_message(bia, provider_id):
    browser = Browser()
    flow, answer = choose_provider(browser, bia, "login", provider_id, accept="application/json")
    assert answer.status_code == 400, answer.text
    assert [m["id"] for m in answer.json()["ui"]["messages"]] == [5000001]


def test_a_mapper_that_fails_or_breaks_the_schema_creates_nothing(bia):
    for provider_id, expected in [("throws", [5000001]), ("badtraits", [4000001])]:
        browser = Browser()
        flow, ended = sign_with(browser, bia, "registration", provider_id)
        assert "/ui/registration" in ended
        ids = flow_messages(bia, browser, "registration", flow["id"])
        assert ids and set(ids) <= set(expected), (provider_id, ids)
        assert browser.session_cookie(bia) is None
        assert bia.oidc_identities(f"{provider_id}:hostile-user") == []


def test_an_unknown_provider_is_refused(bia):
    browser = Browser()
    flow, answer = choose_provider(browser, bia, "registration", "nope", accept="application/json")
    assert answer.status_code == 400
    provider_node = next(n for n in answer.json()["ui"]["nodes"] if n["attributes"]["name"] == "provider")
    assert [m["id"] for m in provider_node["messages"]] == [4000001]
