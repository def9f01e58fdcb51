"""Native apps signing in and up with a provider's ID token, or through the
provider's pages with a session token exchange, on every backend.

The app's token comes from the real provider on loopback
(`tests/oidc-provider/provider.mjs`, a code flow run for the app's own
client) and, for forged and broken tokens, from the hostile one
(`hostile.mjs`, which signs whatever its client id names). Bia knows both as
`google` providers pointed at them with `issuer_url`. A refused token must
leave nothing behind: no identity, no session.
"""

from __future__ import annotations

import secrets
import urllib.parse
from pathlib import Path

import ory_kratos_client
import pytest
import requests
from ory_kratos_client.api.frontend_api import FrontendApi
from ory_kratos_client.api.identity_api import IdentityApi

from ory_kratos_client.exceptions import ApiException

from support import DEFAULT_RETURN_URL, unique_email
from test_oidc import BACKENDS, CLIENT_SECRET, MAPPER, Browser, server_places, serving, start_node

APP_REDIRECT = "http://127.0.0.1:9/app-callback"
HOSTILE = ["honest", "wrong-aud", "wrong-iss", "expired", "other-key", "alg-none", "hs256"]


def google(id: str, issuer: str, client_id: str, **extra) -> dict:
    return {"id": id, "provider": "google", "client_id": client_id, "client_secret": CLIENT_SECRET,
            "issuer_url": issuer, "mapper_url": MAPPER.as_uri(), "scope": ["email"], **extra}


class Native:
    """A server whose google providers point at the two test providers."""

    def __init__(self, public_url: str, admin_url: str, idp: str, hostile: str, log_path: Path):
        self.public_url, self.idp, self.hostile, self.log_path = public_url, idp, hostile, log_path
        admin = ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=admin_url.rstrip("/")))
        public = ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=public_url.rstrip("/")))
        self.identities = IdentityApi(admin)
        self.frontend = FrontendApi(public)

    def real_token(self, client_id: str, sub: str, nonce: str | None, **claims) -> str:
        """An ID token of the real provider for `client_id`, by its code flow."""
        answer = requests.post(self.idp + "/_test/next-account", json={"sub": sub, "claims": claims}, timeout=10)
        assert answer.status_code == 204
        query = {"client_id": client_id, "redirect_uri": APP_REDIRECT, "response_type": "code",
                 "scope": "openid email", "state": secrets.token_hex(8)}
        if nonce is not None:
            query["nonce"] = nonce
        browser, url = Browser(), self.idp + "/auth?" + urllib.parse.urlencode(query)
        for _ in range(20):
            if url.startswith(APP_REDIRECT):
                break
            answer = browser.request("GET", url)
            assert answer.status_code in (302, 303), f"{url}: {answer.status_code} {answer.text[:300]}"
            url = urllib.parse.urljoin(url, answer.headers["Location"])
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["code"][0]
        tokens = requests.post(self.idp + "/token", data={"grant_type": "authorization_code", "code": code,
                                                          "redirect_uri": APP_REDIRECT},
                               auth=(client_id, CLIENT_SECRET), timeout=10)
        assert tokens.status_code == 200, tokens.text
        return tokens.json()["id_token"]

    def hostile_token(self, mode: str, sub: str, nonce: str) -> str:
        """An ID token the hostile provider signs as `mode` says."""
        query = {"client_id": mode, "redirect_uri": APP_REDIRECT, "state": "s", "nonce": nonce, "login_hint": sub}
        back = requests.get(self.hostile + "/auth?" + urllib.parse.urlencode(query), allow_redirects=False,
                            timeout=10)
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(back.headers["location"]).query)["code"][0]
        tokens = requests.post(self.hostile + "/token", data={"code": code}, timeout=10)
        return tokens.json()["id_token"]

    def submit(self, kind: str, body: dict) -> requests.Response:
        """Creates an API flow of `kind` and submits `body` to it."""
        flow = requests.get(f"{self.public_url}self-service/{kind}/api", timeout=10).json()
        return requests.post(f"{self.public_url}self-service/{kind}?flow={flow['id']}",
                             json={"method": "oidc", **body}, timeout=30)

    def linked(self, provider: str, sub: str) -> list:
        return self.identities.list_identities(credentials_identifier=f"{provider}:{sub}")


@pytest.fixture(scope="module", params=BACKENDS)
def native(request, tmp_path_factory):
    backend = request.param
    workdir, ports, public_url, admin_url = server_places(tmp_path_factory, f"bia-native-{backend}")
    # The web client also takes Bia's callback: apps going through the provider's pages.
    callback = public_url + "self-service/methods/oidc/callback/google"
    clients = [{"client_id": cid, "client_secret": CLIENT_SECRET,
                "redirect_uris": [APP_REDIRECT, callback] if cid == "web" else [APP_REDIRECT]}
               for cid in ("web", "ios", "stranger")]
    idp, idp_issuer = start_node("provider.mjs", {"clients": clients})
    hostile, hostile_issuer = start_node("hostile.mjs", {})
    providers = [
        google("google", idp_issuer, "web", additional_id_token_audiences=["ios"]),
        {**google("generic", idp_issuer, "web"), "provider": "generic"},
        *[google(mode, hostile_issuer, mode) for mode in HOSTILE],
    ]
    flows = {"registration": {"after": {"oidc": {"hooks": [{"hook": "session"}]}}}}
    with serving(backend, workdir, ports, providers, [idp, hostile], flows) as (_, log_path):
        yield Native(public_url, admin_url, idp_issuer, hostile_issuer, log_path)


def whoami(native: Native, token: str) -> dict:
    answer = requests.get(native.public_url + "sessions/whoami", headers={"X-Session-Token": token}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_sign_up_then_in_with_real_id_token(native):
    sub, email, nonce = "app-" + secrets.token_hex(6), unique_email(), secrets.token_urlsafe(16)
    token = native.real_token("web", sub, nonce, email=email, email_verified=True)
    answer = native.submit("registration", {"provider": "google", "id_token": token, "id_token_nonce": nonce})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["identity"]["traits"]["email"] == email
    assert whoami(native, body["session_token"])["identity"]["id"] == body["identity"]["id"]
    # The same account signs in with a fresh token of the app's second client id.
    nonce = secrets.token_urlsafe(16)
    token = native.real_token("ios", sub, nonce, email=email, email_verified=True)
    answer = native.submit("login", {"provider": "google", "id_token": token, "id_token_nonce": nonce})
    assert answer.status_code == 200, answer.text
    session = whoami(native, answer.json()["session_token"])
    assert session["identity"]["id"] == body["identity"]["id"]
    assert session["authentication_methods"][-1]["method"] == "oidc"
    assert len(native.linked("google", sub)) == 1


def test_token_without_nonce_passes_as_in_kratos(native):
    sub, email = "app-" + secrets.token_hex(6), unique_email()
    token = native.real_token("web", sub, None, email=email)
    answer = native.submit("registration", {"provider": "google", "id_token": token})
    assert answer.status_code == 200, answer.text


def test_unknown_account_cannot_sign_in(native):
    sub, nonce = "app-" + secrets.token_hex(6), "n-" + secrets.token_hex(8)
    token = native.real_token("web", sub, nonce, email=unique_email())
    answer = native.submit("login", {"provider": "google", "id_token": token, "id_token_nonce": nonce})
    assert answer.status_code == 400, answer.text
    ids = [m["id"] for m in answer.json()["ui"]["messages"]]
    assert 4000037 in ids
    assert native.linked("google", sub) == []


@pytest.mark.parametrize("kind", ["registration", "login"])
def test_nonce_checks(native, kind):
    sub, nonce = "app-" + secrets.token_hex(6), "n-" + secrets.token_hex(8)
    token = native.real_token("web", sub, nonce, email=unique_email())
    for sent, reason in [(None, "No nonce was provided but is required by the provider"),
                         ("other", "The supplied nonce does not match the nonce from the id_token")]:
        body = {"provider": "google", "id_token": token}
        if sent is not None:
            body["id_token_nonce"] = sent
        answer = native.submit(kind, body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["reason"] == reason
    assert native.linked("google", sub) == []


def test_forged_and_broken_tokens_are_refused(native):
    real = native.real_token("stranger", "app-" + secrets.token_hex(6), "n", email=unique_email())
    cases = {"google": [real, "not.a.jwt", "a" * 20000, real[:-8] + "AAAAAAAA"]}
    for mode in HOSTILE[1:]:
        cases[mode] = [native.hostile_token(mode, "forged-" + mode, "n")]
    for provider, tokens in cases.items():
        for token in tokens:
            answer = native.submit("registration", {"provider": provider, "id_token": token, "id_token_nonce": "n"})
            assert answer.status_code == 403, f"{provider}: {answer.text}"
            error = answer.json()["error"]
            assert error["reason"] == "Could not verify id_token", error
        assert native.linked(provider, "forged-" + provider) == []
    # The honest signer is accepted: the refusals above are the tokens' fault.
    good = native.hostile_token("honest", "honest-" + secrets.token_hex(4), "n")
    answer = native.submit("registration", {"provider": "honest", "id_token": good, "id_token_nonce": "n"})
    assert answer.status_code == 200, answer.text


def test_replayed_submission_and_bad_shapes(native):
    sub, nonce = "app-" + secrets.token_hex(6), "n-" + secrets.token_hex(8)
    token = native.real_token("web", sub, nonce, email=unique_email())
    flow = requests.get(f"{native.public_url}self-service/registration/api", timeout=10).json()
    action = f"{native.public_url}self-service/registration?flow={flow['id']}"
    body = {"method": "oidc", "provider": "google", "id_token": token, "id_token_nonce": nonce}
    assert requests.post(action, json=body, timeout=30).status_code == 200
    again = requests.post(action, json=body, timeout=30)
    assert again.status_code == 400, again.text
    assert len(native.linked("google", sub)) == 1
    for bad in [{"provider": "generic", "id_token": token},
                {"provider": "google", "id_token": 5},
                {"provider": "google", "id_token": token, "id_token_nonce": {"x": 1}},
                {"provider": "nobody", "id_token": token}]:
        answer = native.submit("registration", bad)
        assert 400 <= answer.status_code < 500, f"{bad}: {answer.text}"


def test_api_flow_gets_provider_address_with_upstream_parameters(native):
    answer = native.submit("login", {"provider": "google",
                                     "upstream_parameters": {"login_hint": "a@example.com", "prompt": "consent"}})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"]["id"] == "browser_location_change_required"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(body["redirect_browser_to"]).query)
    assert query["login_hint"] == ["a@example.com"] and query["prompt"] == ["consent"]
    assert query["client_id"] == ["web"]
    for bad in [{"redirect_uri": "https://evil.example"}, {"prompt": 1}, "prompt=login"]:
        answer = native.submit("login", {"provider": "google", "upstream_parameters": bad})
        assert answer.status_code == 400, answer.text
        assert answer.json()["ui"]["messages"][0]["id"] == 4000001


# --------------------------------------------------------------------------- session token exchange


def exchange_flow(native: Native, kind: str):
    """An API flow of `kind` created with a session token exchange."""
    create = native.frontend.create_native_login_flow if kind == "login" \
        else native.frontend.create_native_registration_flow
    flow = create(return_session_token_exchange_code=True, return_to=DEFAULT_RETURN_URL)
    assert flow.session_token_exchange_code and len(flow.session_token_exchange_code) == 64
    assert flow.return_to == DEFAULT_RETURN_URL
    return flow


def through_provider_pages(native: Native, kind: str, flow, sub: str, email: str) -> str:
    """The app opens the provider's address of the 422 answer in a browser;
    returns the `code` the return URL received."""
    answer = requests.post(native.idp + "/_test/next-account",
                           json={"sub": sub, "claims": {"email": email, "email_verified": True}}, timeout=10)
    assert answer.status_code == 204
    answer = requests.post(f"{native.public_url}self-service/{kind}?flow={flow.id}",
                           json={"method": "oidc", "provider": "google"}, timeout=30)
    assert answer.status_code == 422, answer.text
    ended = Browser().follow(answer.json()["redirect_browser_to"], native)
    assert ended.startswith(DEFAULT_RETURN_URL), ended
    codes = urllib.parse.parse_qs(urllib.parse.urlsplit(ended).query)["code"]
    assert len(codes) == 1 and len(codes[0]) == 64
    return codes[0]


def exchange(native: Native, init_code: str, return_to_code: str) -> requests.Response:
    return requests.get(native.public_url + "sessions/token-exchange", timeout=10,
                        params={"init_code": init_code, "return_to_code": return_to_code})


def assert_no_session(answer: requests.Response) -> None:
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["reason"] == 'no session yet for this "code"'


def test_sign_up_then_in_through_the_provider_pages_with_exchange(native):
    sub, email = "pages-" + secrets.token_hex(6), unique_email()
    flow = exchange_flow(native, "registration")
    back = through_provider_pages(native, "registration", flow, sub, email)
    redeemed = native.frontend.exchange_session_token(flow.session_token_exchange_code, back)
    assert redeemed.session.identity.traits["email"] == email
    assert whoami(native, redeemed.session_token)["id"] == redeemed.session.id
    # Redeemed once: a replay finds nothing, also through the SDK.
    assert_no_session(exchange(native, flow.session_token_exchange_code, back))
    with pytest.raises(ApiException) as refused:
        native.frontend.exchange_session_token(flow.session_token_exchange_code, back)
    assert refused.value.status == 404
    # Signing in the same way finds the same identity, with a session of its own.
    flow = exchange_flow(native, "login")
    back = through_provider_pages(native, "login", flow, sub, email)
    again = native.frontend.exchange_session_token(flow.session_token_exchange_code, back)
    assert again.session.identity.id == redeemed.session.identity.id
    assert again.session.id != redeemed.session.id
    assert again.session.authentication_methods[-1].method == "oidc"


def test_exchange_refuses_unfinished_mismatched_and_hostile_codes(native):
    first = exchange_flow(native, "login")
    init = first.session_token_exchange_code
    assert_no_session(exchange(native, init, "x" * 64))  # not completed yet
    sub, email = "pages-" + secrets.token_hex(6), unique_email()
    registration = exchange_flow(native, "registration")
    back = through_provider_pages(native, "registration", registration, sub, email)
    for pair in [(init, back), (back, registration.session_token_exchange_code),
                 (registration.session_token_exchange_code, back[:-1] + "0" if back[-1] != "0" else back[:-1] + "1"),
                 ("a" * 20000, back), (registration.session_token_exchange_code, "' OR '1'='1"),
                 ("\u202e\U0001f4a5", back)]:
        assert_no_session(exchange(native, *pair))
    for params in [{}, {"init_code": init}, {"return_to_code": back}, {"init_code": "", "return_to_code": ""}]:
        answer = requests.get(native.public_url + "sessions/token-exchange", params=params, timeout=10)
        assert answer.status_code == 400, answer.text
    # The refusals spent nothing: the right pair still redeems.
    answer = exchange(native, registration.session_token_exchange_code, back)
    assert answer.status_code == 200, answer.text
    assert answer.json()["session"]["identity"]["traits"]["email"] == email
