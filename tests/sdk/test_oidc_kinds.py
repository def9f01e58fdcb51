"""Sign-in and sign-up through the plain OAuth 2.0 provider kinds (github,
github-app, discord, slack, facebook) and linkedin, on every backend.

The OAuth 2.0 kinds talk to a stand-in (`tests/oidc-provider/standin.mjs`)
that answers as each real provider's authorization, token and user API
endpoints do, through Bia's `api_base_url`; its client id chooses how it
misbehaves. linkedin (OpenID Connect, claims from userinfo) talks to the
real provider of `provider.mjs` through `issuer_url`. The browser and flow
helpers are those of `test_oidc.py`.
"""

from __future__ import annotations

import datetime
import urllib.parse
import uuid

import pytest
import requests

from support import DEFAULT_RETURN_URL, unique_email
from test_oidc import (
    BACKENDS,
    CLIENT_SECRET,
    HERE,
    Bia,
    Browser,
    flow_messages,
    server_places,
    serving,
    sign_with,
    start_node,
)

KIND_MAPPER = HERE / "oidc" / "kinds.jsonnet"
# Each kind's provider id, its path prefix at the stand-in and its scopes.
KINDS = {
    "github": ("github", ["read:user", "user:email"]),
    "github-app": ("github", []),
    "discord": ("discord", ["identify", "email"]),
    "slack": ("slack", ["identity.basic", "identity.email", "identity.avatar"]),
    "facebook": ("facebook", ["email", "public_profile"]),
}
# Misbehaving stand-ins: (kind, client id) and the messages the flow shows.
SYSTEM_ERROR = [5000001]
HOSTILE = [
    ("github", "token-error", SYSTEM_ERROR),
    ("github", "api-500", SYSTEM_ERROR),
    ("github", "api-not-json", SYSTEM_ERROR),
    ("github", "api-huge", SYSTEM_ERROR),
    ("github", "scope-denied", SYSTEM_ERROR),
    ("github-app", "api-500", SYSTEM_ERROR),
    ("discord", "api-slow", SYSTEM_ERROR),
    ("discord", "scope-denied", SYSTEM_ERROR),
    ("slack", "token-not-ok", SYSTEM_ERROR),
    ("slack", "not-ok", SYSTEM_ERROR),
    ("facebook", "api-not-json", SYSTEM_ERROR),
    # No verified address: the mapper leaves the required email out.
    ("github", "unverified", [4000002]),
]


def kind_provider(kind: str, standin: str, client_id: str, id: str | None = None) -> dict:
    prefix, scope = KINDS[kind]
    entry = {
        "id": id or kind,
        "provider": kind,
        "client_id": client_id,
        "client_secret": CLIENT_SECRET,
        "api_base_url": f"{standin}/{prefix}",
        "mapper_url": KIND_MAPPER.as_uri(),
    }
    if scope:
        entry["scope"] = scope
    return entry


class KindsBia(Bia):
    """A server with the provider kinds; `standin` is the stand-in's base URL."""

    standin: str

    def choose_account(self, number: int, **account) -> None:
        """The account the stand-in signs in next."""
        answer = requests.post(self.standin + "/_test/next-account", json={"id": number, **account}, timeout=10)
        assert answer.status_code == 204

    def choose_oidc_account(self, sub: str, **claims) -> None:
        """The account the OpenID Connect provider signs in next."""
        answer = requests.post(self.idp_issuer + "/_test/next-account", json={"sub": sub, "claims": claims},
                               timeout=10)
        assert answer.status_code == 204

    def last_authorization(self) -> dict:
        return requests.get(self.standin + "/_test/last-authorization", timeout=10).json()


@pytest.fixture(scope="module", params=BACKENDS)
def bia(request, tmp_path_factory):
    backend = request.param
    workdir, ports, public_url, admin_url = server_places(tmp_path_factory, f"bia-oidc-kinds-{backend}")
    standin_node, standin = start_node("standin.mjs", {"client_secret": CLIENT_SECRET})
    idp, idp_issuer = start_node("provider.mjs", {"clients": [{
        "client_id": "bia-linkedin", "client_secret": CLIENT_SECRET,
        "redirect_uris": [public_url + "self-service/methods/oidc/callback/linkedin"],
    }]})
    providers = [
        *[kind_provider(kind, standin, "honest") for kind in KINDS],
        *[kind_provider(kind, standin, mode, id=f"{kind}-{mode}") for kind, mode, _ in HOSTILE],
        {
            "id": "linkedin", "provider": "linkedin", "client_id": "bia-linkedin",
            "client_secret": CLIENT_SECRET, "issuer_url": idp_issuer,
            "mapper_url": KIND_MAPPER.as_uri(), "scope": ["email", "profile"],
        },
    ]
    with serving(backend, workdir, ports, providers, [standin_node, idp]) as (dsn, log_path):
        server = KindsBia(public_url, admin_url, idp_issuer, log_path, dsn)
        server.standin = standin
        yield server


def expected_claims(kind: str, number: int, login: str, email: str) -> dict:
    """What Kratos's mapper sees for the stand-in's account, kind by kind."""
    name = "Ada Lovelace"
    if kind in ("github", "github-app"):
        updated = datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.timezone.utc)
        return {
            "sub": str(number), "iss": "https://github.com/login/oauth/access_token", "name": name,
            "nickname": login, "website": "https://blog.example",
            "picture": f"https://avatars.githubusercontent.com/u/{number}?v=4",
            "profile": f"https://github.com/{login}", "updated_at": int(updated.timestamp()),
            "email": email, "email_verified": True,
        }
    if kind == "discord":
        return {
            "sub": str(number), "iss": "https://discord.com/api/oauth2/", "name": f"{login}#0",
            "nickname": login, "preferred_username": login,
            "picture": f"https://cdn.discordapp.com/avatars/{number}/a1b2c3.png",
            "email": email, "email_verified": True, "locale": "en-US",
        }
    if kind == "slack":
        return {
            "sub": f"U{number}", "iss": "https://slack.com/oauth/", "name": name, "nickname": name,
            "preferred_username": name, "email": email, "email_verified": True,
            "picture": "https://slack.example/512.png", "team": "T0001",
        }
    return {
        "sub": str(number),
        "iss": "https://graph.facebook.com/me?fields=id,name,first_name,last_name,middle_name,email,picture,birthday,gender",
        "name": name, "given_name": "Ada", "family_name": "Lovelace", "nickname": name,
        "preferred_username": name, "picture": "https://facebook.example/pic.jpg",
        "email": email, "email_verified": True,
    }


def new_account(bia: KindsBia) -> tuple[int, str, str]:
    number, login = uuid.uuid4().int % 10**12, f"ada-{uuid.uuid4().hex[:6]}"
    email = unique_email("kind")
    bia.choose_account(number, login=login, name="Ada Lovelace", email=email, verified=True)
    return number, login, email


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("kind", list(KINDS))
def test_sign_up_then_sign_in_again(bia, kind):
    number, login, email = new_account(bia)
    claims = expected_claims(kind, number, login, email)
    browser = Browser()
    _, ended = sign_with(browser, bia, "registration", kind)
    assert ended == DEFAULT_RETURN_URL
    session = bia.frontend.to_session(cookie=browser.session_cookie(bia))
    assert session.identity.traits == {"email": email, "name": {"given": claims["name"]}}
    identity = bia.identities.get_identity(session.identity.id, include_credential=["oidc"])
    assert identity.credentials["oidc"].identifiers == [f"{kind}:{claims['sub']}"]
    assert identity.metadata_public == {"claims": claims}
    assert [(a.value, a.verified) for a in identity.verifiable_addresses] == [(email, True)]

    again = Browser()
    _, ended = sign_with(again, bia, "login", kind)
    assert ended == DEFAULT_RETURN_URL
    assert bia.frontend.to_session(cookie=again.session_cookie(bia)).identity.id == identity.id
    assert len(bia.oidc_identities(f"{kind}:{claims['sub']}")) == 1


def test_each_kind_asks_for_its_scopes_without_a_nonce(bia):
    expected = {
        "github": {"scope": "read:user user:email"},
        "github-app": {},
        "discord": {"scope": "identify email", "prompt": "none"},
        "slack": {"scope": "identity.basic identity.email identity.avatar"},
        "facebook": {"scope": "email public_profile"},
    }
    for kind, extra in expected.items():
        new_account(bia)
        flow, _ = sign_with(Browser(), bia, "registration", kind)
        query = bia.last_authorization()
        assert query.pop("state").startswith(f"registration.{flow['id']}.")
        assert query == {
            "client_id": "honest", "response_type": "code",
            "redirect_uri": f"{bia.public_url}self-service/methods/oidc/callback/{kind}", **extra,
        }, kind


@pytest.mark.parametrize(("kind", "mode", "messages"), HOSTILE, ids=[f"{k}-{m}" for k, m, _ in HOSTILE])
def test_hostile_answers_are_flow_messages_and_create_nothing(bia, kind, mode, messages):
    number, _, email = new_account(bia)
    provider_id = f"{kind}-{mode}"
    browser = Browser()
    flow, ended = sign_with(browser, bia, "registration", provider_id)
    assert "/ui/registration" in ended, ended
    assert flow_messages(bia, browser, "registration", flow["id"]) == messages
    assert browser.session_cookie(bia) is None
    sub = f"U{number}" if kind == "slack" else str(number)
    assert bia.oidc_identities(f"{provider_id}:{sub}") == []
    assert bia.identities.list_identities(credentials_identifier=email) == []


def test_linkedin_claims_come_from_userinfo(bia):
    sub, email = f"li-{uuid.uuid4().hex[:8]}", unique_email("linkedin")
    bia.choose_oidc_account(sub, email=email, email_verified=True, name="Grace Hopper", given_name="Grace")
    browser = Browser()
    _, ended = sign_with(browser, bia, "registration", "linkedin")
    assert ended == DEFAULT_RETURN_URL
    session = bia.frontend.to_session(cookie=browser.session_cookie(bia))
    identity = bia.identities.get_identity(session.identity.id)
    assert session.identity.traits == {"email": email, "name": {"given": "Grace Hopper"}}
    claims = identity.metadata_public["claims"]
    assert {k: claims[k] for k in ("sub", "email", "email_verified", "given_name")} == {
        "sub": sub, "email": email, "email_verified": True, "given_name": "Grace",
    }
    # Userinfo claims, not the ID token's: no issuer, audience or nonce.
    assert not {"iss", "aud", "nonce"} & set(claims)
