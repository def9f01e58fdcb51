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
import contextlib
import hashlib
import importlib.util
import json
import sqlite3
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


def scratch(backend: str, tmp_path_factory, name: str):
    """A scratch folder and database on `backend`, and two free ports with their base URLs."""
    workdir = tmp_path_factory.mktemp(f"{name}-{backend}")
    db = {"sqlite": lambda: create_sqlite(workdir), "postgres": create_postgres, "mysql": create_mysql}[backend]()
    ports = [free_port(), free_port()]
    public, admin = [(port, f"http://127.0.0.1:{port}/") for port in ports]
    return workdir, db, public, admin


def serve(workdir: Path, admin_url: str, config: dict) -> tuple[subprocess.Popen, Path]:
    """Starts a server with `config` and waits until it answers; returns it and its log."""
    config_path = workdir / "config.yml"
    config_path.write_text(json.dumps(config, indent=2))
    log_path = workdir / "bia.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([bia_bin(), "serve", "-c", str(config_path)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        wait_ready(admin_url, proc, READY_TIMEOUT)
    except RuntimeError as err:
        stop_server(proc)
        pytest.fail(f"{err}\n--- server log ---\n{log_path.read_text(errors='replace')[-4000:]}", pytrace=False)
    return proc, log_path


def tear_down(proc: subprocess.Popen | None, nodes: tuple, db) -> None:
    """Stops the server and the providers and drops the database."""
    if proc is not None:
        stop_server(proc)
    for node in nodes:
        node.kill()
        node.wait(timeout=5)
    if db is not None:
        db.drop()


class Bia:
    """A server with social sign-in against the two test providers."""

    def __init__(self, public_url: str, admin_url: str, idp_issuer: str, log_path: Path, dsn: str):
        self.dsn = dsn
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

    def stored_credentials(self, identity_id: str) -> str:
        """The credential configs of an identity as the database holds them."""
        sql = f"SELECT config FROM identity_credentials WHERE identity_id = '{uuid.UUID(identity_id)}'"
        if self.dsn.startswith("sqlite://"):
            with sqlite3.connect(self.dsn.removeprefix("sqlite://").split("?")[0]) as db:
                return "\n".join(row[0] for row in db.execute(sql))
        url = urllib.parse.urlsplit(self.dsn)
        name = url.path.strip("/")
        if url.scheme.startswith("postgres"):
            command = ["psql", "-h", url.hostname, "-p", str(url.port or 5432), "-U", url.username or "postgres",
                       "-d", name, "-At", "-c", sql]
        else:
            command = ["mariadb", "-h", url.hostname, "-P", str(url.port or 3306), "-u", url.username or "root",
                       "-D", name, "-N", "-e", sql]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def oidc_identities(self, identifier: str) -> list:
        return self.identities.list_identities(credentials_identifier=identifier)


@contextlib.contextmanager
def serving(backend: str, workdir: Path, ports: tuple[int, int], providers: list, nodes: list,
            flows: dict | None = None):
    """Bia on a fresh `backend` database with `providers` (and
    `selfservice.flows`), on `ports` (public, admin); yields the DSN and the log path. Afterwards the server and the
    `nodes` (provider processes) are stopped and the database dropped."""
    public_port, admin_port = ports
    public_url = f"http://127.0.0.1:{public_port}/"
    admin_url = f"http://127.0.0.1:{admin_port}/"
    proc = None
    db = None
    try:
        db = {"sqlite": lambda: create_sqlite(workdir), "postgres": create_postgres, "mysql": create_mysql}[backend]()
        run([bia_bin(), "migrate", "sql", "-e", "--yes"], env={"DSN": db.dsn})
        config = {
            "dsn": db.dsn,
            "serve": {
                "public": {"port": public_port, "base_url": public_url},
                "admin": {"port": admin_port, "base_url": admin_url},
            },
            "secrets": {"cookie": ["sdk-suite-cookie-secret-0123456789"],
                        "cipher": ["sdk-suite-cipher-secret-0123456789"[:32]]},
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
            "identity": {
                "default_schema_id": "default",
                "schemas": [{"id": sid, "url": path.as_uri()} for sid, path in SCHEMAS.items()],
            },
            "selfservice": {
                "default_browser_return_url": DEFAULT_RETURN_URL,
                **({"flows": flows} if flows else {}),
                "methods": {"oidc": {"enabled": True, "config": {"providers": providers}}},
            },
        }
        proc, log_path = serve(workdir, admin_url, config)
        yield db.dsn, log_path
    finally:
        tear_down(proc, nodes, db)


def server_places(tmp_path_factory, name: str) -> tuple[Path, tuple[int, int], str, str]:
    """A work folder, free public and admin ports, and their base URLs."""
    workdir = tmp_path_factory.mktemp(name)
    ports = (free_port(), free_port())
    public_url, admin_url = (f"http://127.0.0.1:{port}/" for port in ports)
    return workdir, ports, public_url, admin_url


@pytest.fixture(scope="module", params=BACKENDS)
def bia(request, tmp_path_factory):
    backend = request.param
    workdir, ports, public_url, admin_url = server_places(tmp_path_factory, f"bia-oidc-{backend}")
    callback = public_url + "self-service/methods/oidc/callback/"
    idp, idp_issuer = start_node("provider.mjs", {"clients": [{
        "client_id": "bia", "client_secret": CLIENT_SECRET,
        "redirect_uris": [callback + "idp"],
    }]})
    hostile, hostile_issuer = start_node("hostile.mjs", {})
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
    with serving(backend, workdir, ports, providers, [idp, hostile]) as (dsn, log_path):
        yield Bia(public_url, admin_url, idp_issuer, log_path, dsn)


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


def form_value(flow: dict, name: str):
    return next((n["attributes"].get("value") for n in flow["ui"]["nodes"]
                 if n["attributes"].get("name") == name), None)


def flow_json(browser: Browser, bia: Bia, kind: str, flow_id: str) -> dict:
    answer = browser.request("GET", f"{bia.public_url}self-service/{kind}/flows?id={flow_id}",
                             headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def sign_in_with_password(browser: Browser, bia: Bia, flow: dict, identifier: str, password: str) -> str:
    """Submits a login flow's password form; returns where the browser ended."""
    answer = browser.request(
        "POST", f"{bia.public_url}self-service/login?flow={flow['id']}",
        data={"csrf_token": form_value(flow, "csrf_token"), "method": "password",
              "identifier": identifier, "password": password},
        headers={"Accept": "text/html"},
    )
    assert answer.status_code == 303, answer.text
    return browser.follow(urllib.parse.urljoin(bia.public_url, answer.headers["Location"]), bia)


def password_user(bia: Bia, password: str = "a long enough passphrase") -> tuple[str, str]:
    email = unique_email("linked")
    created = create(bia.identities, email, credentials=password_credentials(password))
    return email, created.id


def offered_link(bia: Bia, kind: str) -> tuple[Browser, dict, str, str, str]:
    """A provider account whose address a password identity has, through a
    flow of `kind`: the login flow offered instead, checked."""
    email, owner = password_user(bia)
    sub = f"dup-{uuid.uuid4().hex[:8]}"
    bia.choose_account(sub, email=email, email_verified=True)
    browser = Browser()
    _, ended = sign_with(browser, bia, kind, "idp")
    assert "/ui/login" in ended, ended
    login_id = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(ended).query))["flow"]
    login = flow_json(browser, bia, "login", login_id)
    assert login["active"] == "oidc"
    [message] = login["ui"]["messages"]
    assert message["id"] == 1010016 and message["type"] == "info"
    assert message["context"]["duplicate_identifier"] == email
    assert message["context"]["provider"] == "idp"
    assert message["context"]["available_credential_types"] == ["password"]
    identifier = next(n for n in login["ui"]["nodes"] if n["attributes"]["name"] == "identifier")
    assert identifier["attributes"]["type"] == "hidden"
    assert identifier["attributes"]["value"] == email
    assert {n["group"] for n in login["ui"]["nodes"]} == {"default", "password"}
    # Nothing was created or linked, and nobody is signed in.
    assert browser.session_cookie(bia) is None
    assert bia.oidc_identities(f"idp:{sub}") == []
    assert len(bia.identities.list_identities(credentials_identifier=email)) == 1
    return browser, login, email, owner, sub


@pytest.mark.parametrize("kind", ["registration", "login"])
def test_an_address_of_another_identity_links_after_signing_in(bia, kind):
    browser, login, email, owner, sub = offered_link(bia, kind)
    ended = sign_in_with_password(browser, bia, login, email, "a long enough passphrase")
    assert ended == DEFAULT_RETURN_URL
    session = bia.frontend.to_session(cookie=browser.session_cookie(bia))
    assert session.identity.id == owner
    identity = bia.identities.get_identity(owner, include_credential=["oidc"])
    assert identity.credentials["oidc"].identifiers == [f"idp:{sub}"]
    [entry] = identity.credentials["oidc"].config["providers"]
    assert entry["provider"] == "idp" and entry["subject"] == sub
    # Both ways work afterwards.
    again = Browser()
    _, ended = sign_with(again, bia, "login", "idp")
    assert ended == DEFAULT_RETURN_URL
    assert bia.frontend.to_session(cookie=again.session_cookie(bia)).identity.id == owner
    third = Browser()
    login = new_flow(third, bia, "login")
    assert sign_in_with_password(third, bia, login, email, "a long enough passphrase") == DEFAULT_RETURN_URL


def test_a_link_offer_is_not_taken_by_another_account(bia):
    browser, login, email, owner, sub = offered_link(bia, "registration")
    other_email, other = password_user(bia)
    ended = sign_in_with_password(browser, bia, login, other_email, "a long enough passphrase")
    assert ended == DEFAULT_RETURN_URL
    assert bia.frontend.to_session(cookie=browser.session_cookie(bia)).identity.id == other
    assert bia.oidc_identities(f"idp:{sub}") == []
    for identity_id in (owner, other):
        assert "oidc" not in (bia.identities.get_identity(identity_id).credentials or {})


def test_a_wrong_password_on_a_link_offer_links_nothing(bia):
    browser, login, email, owner, sub = offered_link(bia, "registration")
    answer = browser.request(
        "POST", f"{bia.public_url}self-service/login?flow={login['id']}",
        data={"csrf_token": form_value(login, "csrf_token"), "method": "password",
              "identifier": email, "password": "not the passphrase"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    assert [m["id"] for m in answer.json()["ui"]["messages"]] == [4000006]
    assert bia.oidc_identities(f"idp:{sub}") == []
    # The offer stays: the right password still links.
    assert sign_in_with_password(browser, bia, login, email, "a long enough passphrase") == DEFAULT_RETURN_URL
    assert [i.id for i in bia.oidc_identities(f"idp:{sub}")] == [owner]


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
    for state in ["", "garbage", "recovery." + flow["id"] + ".x", "registration.not-a-uuid.x", "x" * 5000]:
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


# --------------------------------------------------------------------------- settings: link and unlink


def settings_flow(browser: Browser, bia: Bia) -> dict:
    answer = browser.request("GET", f"{bia.public_url}self-service/settings/browser",
                             headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def oidc_buttons(flow: dict) -> list[tuple[str, str]]:
    return [(n["attributes"]["name"], n["attributes"]["value"]) for n in flow["ui"]["nodes"] if n["group"] == "oidc"]


def submit_settings(browser: Browser, bia: Bia, flow: dict, accept: str = "application/json",
                    **fields) -> requests.Response:
    return browser.request(
        "POST", f"{bia.public_url}self-service/settings?flow={flow['id']}",
        data={"csrf_token": form_value(flow, "csrf_token"), **fields},
        headers={"Accept": accept},
    )


def signed_in_password_user(bia: Bia) -> tuple[Browser, str, str]:
    email, owner = password_user(bia)
    browser = Browser()
    login = new_flow(browser, bia, "login")
    assert sign_in_with_password(browser, bia, login, email, "a long enough passphrase") == DEFAULT_RETURN_URL
    return browser, email, owner


def link_through_settings(browser: Browser, bia: Bia, provider_id: str = "idp") -> tuple[dict, str]:
    flow = settings_flow(browser, bia)
    answer = submit_settings(browser, bia, flow, accept="text/html", link=provider_id)
    assert answer.status_code == 303, answer.text
    return flow, browser.follow(answer.headers["Location"], bia)


def test_settings_link_then_unlink_a_provider(bia):
    browser, email, owner = signed_in_password_user(bia)
    flow = settings_flow(browser, bia)
    link = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "link" and n["attributes"]["value"] == "idp")
    assert link["group"] == "oidc" and link["attributes"]["type"] == "submit"
    assert link["meta"]["label"] == {"id": 1050002, "text": "Link Test Provider", "type": "info",
                                     "context": {"provider": "Test Provider"}}
    assert not any(name == "unlink" for name, _ in oidc_buttons(flow))

    sub = f"settings-{uuid.uuid4().hex[:8]}"
    bia.choose_account(sub, email=unique_email("elsewhere"))
    flow, ended = link_through_settings(browser, bia)
    assert "/ui/settings" in ended, ended
    done = flow_json(browser, bia, "settings", flow["id"])
    assert done["state"] == "success"
    assert ("unlink", "idp") in oidc_buttons(done)
    assert ("link", "idp") not in oidc_buttons(done)
    assert [i.id for i in bia.oidc_identities(f"idp:{sub}")] == [owner]

    # Either way signs in now.
    other = Browser()
    _, ended = sign_with(other, bia, "login", "idp")
    assert ended == DEFAULT_RETURN_URL
    assert bia.frontend.to_session(cookie=other.session_cookie(bia)).identity.id == owner

    # A replayed link callback is refused: its state was used.
    answer = browser.request("GET", callback_url(browser), headers={"Accept": "application/json"})
    assert answer.status_code == 400, answer.text
    assert [m["id"] for m in answer.json()["ui"]["messages"]] == [5000001]

    flow = settings_flow(browser, bia)
    answer = submit_settings(browser, bia, flow, unlink="idp")
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "success"
    assert bia.oidc_identities(f"idp:{sub}") == []
    assert ("link", "idp") in oidc_buttons(answer.json())


def test_settings_cannot_link_an_account_another_identity_has(bia):
    sub = f"owned-{uuid.uuid4().hex[:8]}"
    bia.choose_account(sub, email=unique_email("owner"))
    first = Browser()
    _, ended = sign_with(first, bia, "registration", "idp")
    assert ended == DEFAULT_RETURN_URL
    [holder] = bia.oidc_identities(f"idp:{sub}")

    browser, email, owner = signed_in_password_user(bia)
    flow, ended = link_through_settings(browser, bia)
    assert "/ui/settings" in ended, ended
    refused = flow_json(browser, bia, "settings", flow["id"])
    assert [m["id"] for m in refused["ui"]["messages"]] == [4000007]
    assert [i.id for i in bia.oidc_identities(f"idp:{sub}")] == [holder.id]
    assert "oidc" not in (bia.identities.get_identity(owner).credentials or {})


def test_settings_refuses_unknown_linked_and_last_links(bia):
    sub = f"only-{uuid.uuid4().hex[:8]}"
    bia.choose_account(sub, email=unique_email("only"))
    browser = Browser()
    _, ended = sign_with(browser, bia, "registration", "idp")
    assert ended == DEFAULT_RETURN_URL
    flow = settings_flow(browser, bia)
    # The only way to sign in has no unlink button, and cannot be unlinked.
    assert ("unlink", "idp") not in oidc_buttons(flow)
    assert ("link", "idp") not in oidc_buttons(flow)
    cases = [
        ({"unlink": "idp"}, "can not unlink OpenID Connect connection because it is the last remaining first factor credential"),
        ({"unlink": "honest"}, "can not unlink non-existing OpenID Connect connection"),
        ({"unlink": "x" * 4000}, "can not unlink non-existing OpenID Connect connection"),
        ({"link": "idp"}, "can not link unknown or already existing OpenID Connect connection"),
        ({"link": "nope"}, "can not link unknown or already existing OpenID Connect connection"),
        ({"link": "x" * 4000}, "can not link unknown or already existing OpenID Connect connection"),
    ]
    for fields, text in cases:
        answer = submit_settings(browser, bia, flow, **fields)
        assert answer.status_code == 400, (fields, answer.text[:300])
        messages = answer.json()["ui"]["messages"]
        assert [(m["id"], m["text"]) for m in messages] == [(4000001, text)], fields
    assert len(bia.oidc_identities(f"idp:{sub}")) == 1


def test_a_forged_state_on_a_link_callback_is_refused(bia):
    browser, email, owner = signed_in_password_user(bia)
    flow = settings_flow(browser, bia)
    answer = submit_settings(browser, bia, flow, link="honest")
    assert answer.status_code == 422, answer.text
    forged = f"settings.{flow['id']}.{'A' * 43}"
    callback = bia.public_url + "self-service/methods/oidc/callback/honest"
    answer = browser.request("GET", callback, params={"state": forged, "code": "x"},
                             headers={"Accept": "application/json"})
    assert answer.status_code == 400, answer.text
    assert [m["id"] for m in answer.json()["ui"]["messages"]] == [5000001]
    # Someone else's browser cannot finish another's link.
    thief = Browser()
    answer = thief.request("GET", callback, params={"state": forged, "code": "x"},
                           headers={"Accept": "application/json"})
    assert answer.status_code in (401, 403), answer.text
    assert "oidc" not in (bia.identities.get_identity(owner).credentials or {})


def test_provider_tokens_are_kept_sealed_and_shown_to_admins_only_when_asked(bia):
    sub = f"tokens-{uuid.uuid4().hex[:8]}"
    bia.choose_account(sub, email=unique_email("tokens"))
    browser = Browser()
    _, ended = sign_with(browser, bia, "registration", "idp")
    assert ended == DEFAULT_RETURN_URL
    [found] = bia.oidc_identities(f"idp:{sub}")
    plain = bia.identities.get_identity(found.id)
    assert plain.credentials["oidc"].config is None
    opened = bia.identities.get_identity(found.id, include_credential=["oidc"])
    [entry] = opened.credentials["oidc"].config["providers"]
    assert entry["initial_id_token"].count(".") == 2
    assert entry["initial_access_token"]
    claims = json.loads(base64.urlsafe_b64decode(entry["initial_id_token"].split(".")[1] + "=="))
    assert claims["sub"] == sub
    # Stored sealed: the database holds no token in clear text.
    assert entry["initial_id_token"] not in bia.stored_credentials(found.id)
