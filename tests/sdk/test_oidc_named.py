"""Sign-in and sign-up with the named provider kinds (gitlab, auth0,
microsoft, apple), on every backend.

The loopback providers of `test_oidc.py` stand in for each kind through
`issuer_url`: the real one (`provider.mjs`) for gitlab, auth0, microsoft and
apple (which checks the ES256 client secrets Bia signs, as Apple does, and
answers with `response_mode=form_post`), the hostile one (`hostile.mjs`)
for Microsoft's multi-tenant issuers.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import urllib.parse
import uuid

import pytest
import requests

from support import DEFAULT_RETURN_URL, bia_bin, unique_email
from test_oidc import (
    BACKENDS,
    CLIENT_SECRET,
    SCHEMAS,
    Bia,
    Browser,
    choose_provider,
    flow_messages,
    provider,
    run,
    scratch,
    serve,
    sign_with,
    start_node,
    tear_down,
)

TEAM_ID = "KP76DQS54M"
KEY_ID = "ABC123DEFG"
# The largest form the callback reads (server/src/http/selfservice/oidc.rs).
MAX_FORM_BYTES = 16 * 1024


def p256_key() -> str:
    """A fresh P-256 private key in PKCS#8 PEM, as Apple's `.p8` files hold one."""
    ec = subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout"],
                        check=True, capture_output=True).stdout
    return subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt"], input=ec,
                          check=True, capture_output=True).stdout.decode()


@pytest.fixture(scope="module", params=BACKENDS)
def bia(request, tmp_path_factory):
    workdir, db, (public_port, public_url), (admin_port, admin_url) = scratch(request.param, tmp_path_factory,
                                                                               "bia-oidc-named")
    callback = public_url + "self-service/methods/oidc/callback/"
    apple_key, stranger_key = p256_key(), p256_key()
    clients = [{"client_id": kind, "client_secret": CLIENT_SECRET, "redirect_uris": [callback + kind]}
               for kind in ("gitlab", "auth0", "microsoft")]
    clients += [{"client_id": f"com.example.{name}", "client_secret": CLIENT_SECRET,
                 "token_endpoint_auth_method": "client_secret_post", "redirect_uris": [callback + name]}
                for name in ("apple", "stranger")]
    signed = {f"com.example.{name}": {"team_id": TEAM_ID, "key_id": KEY_ID, "private_key": apple_key,
                                      "client_secret": CLIENT_SECRET} for name in ("apple", "stranger")}
    idp, idp_issuer = start_node("provider.mjs", {"clients": clients, "signed_secrets": signed})
    hostile, hostile_issuer = start_node("hostile.mjs", {})
    proc = None
    try:
        run([bia_bin(), "migrate", "sql", "-e", "--yes"], env={"DSN": db.dsn})

        def apple(name: str, key: str) -> dict:
            entry = provider(name, idp_issuer, f"com.example.{name}", provider="apple", scope=["email"],
                             apple_team_id=TEAM_ID, apple_private_key_id=KEY_ID, apple_private_key=key)
            del entry["client_secret"]
            return entry

        hint = uuid.uuid4().hex[:8]
        providers = [
            provider("gitlab", idp_issuer, "gitlab", provider="gitlab"),
            provider("auth0", idp_issuer, "auth0", provider="auth0"),
            provider("microsoft", idp_issuer, "microsoft", provider="microsoft",
                     microsoft_tenant="organizations", subject_source="userinfo"),
            apple("apple", apple_key),
            # Signs its client secrets with a key the provider does not know.
            apple("stranger", stranger_key),
            *[provider(mode, hostile_issuer + "/tenants", mode, provider="microsoft",
                       upstream_parameters={"login_hint": f"{mode}-{hint}"})
              for mode in ("tenant-honest", "tenant-other")],
            provider("ms-wrong-iss", hostile_issuer, "wrong-iss", provider="microsoft"),
        ]
        config = {
            "dsn": db.dsn,
            "serve": {"public": {"port": public_port, "base_url": public_url},
                      "admin": {"port": admin_port, "base_url": admin_url}},
            "secrets": {"cookie": ["sdk-suite-cookie-secret-0123456789"]},
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
            "identity": {"default_schema_id": "default",
                         "schemas": [{"id": sid, "url": path.as_uri()} for sid, path in SCHEMAS.items()]},
            "selfservice": {
                "default_browser_return_url": DEFAULT_RETURN_URL,
                "methods": {"oidc": {"enabled": True, "config": {"providers": providers}}},
            },
        }
        proc, log_path = serve(workdir, admin_url, config)
        named = Bia(public_url, admin_url, idp_issuer, log_path, db.dsn)
        named.hint = hint
        yield named
    finally:
        tear_down(proc, (idp, hostile), db)


def posted_form(page: str) -> tuple[str, dict]:
    """The action and fields of a form_post page's auto-submitted form."""
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert action, page[:500]
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    return html.unescape(action.group(1)), {k: html.unescape(v) for k, v in fields.items()}


def to_form_post(browser: Browser, url: str) -> tuple[str, dict]:
    """Follows redirects through the provider until it answers its form_post page."""
    for _ in range(20):
        answer = browser.request("GET", url, headers={"Accept": "text/html"})
        if answer.status_code == 200:
            return posted_form(answer.text)
        assert answer.status_code in (302, 303), f"{url}: {answer.status_code} {answer.text[:300]}"
        url = urllib.parse.urljoin(url, answer.headers["Location"])
    raise AssertionError("the provider never answered with a form")


def post_cross_site(url: str, fields: dict | bytes) -> requests.Response:
    """The provider's page posting to Bia: a cross-site POST, which carries no
    SameSite=Lax cookie of Bia's."""
    return requests.post(url, data=fields, allow_redirects=False, timeout=30,
                         headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"})


def apple_answer(browser: Browser, bia: Bia, kind: str, name: str = "apple") -> tuple[dict, str, dict]:
    """Starts a flow with an apple provider; returns the flow and the form Apple would post."""
    flow, answer = choose_provider(browser, bia, kind, name)
    assert answer.status_code == 303, answer.text
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["Location"]).query))
    assert query["response_mode"] == "form_post"
    action, fields = to_form_post(browser, answer.headers["Location"])
    assert action == f"{bia.public_url}self-service/methods/oidc/callback/{name}"
    return flow, action, fields


@pytest.mark.parametrize("kind", ["gitlab", "auth0", "microsoft"])
def test_a_named_kind_signs_up_then_in(bia, kind):
    sub, email = f"{kind}-{uuid.uuid4().hex[:8]}", unique_email(kind)
    bia.choose_account(sub, email=email, email_verified=True, given_name="Grace")
    browser = Browser()
    _, ended = sign_with(browser, bia, "registration", kind)
    assert ended == DEFAULT_RETURN_URL
    session = bia.frontend.to_session(cookie=browser.session_cookie(bia))
    assert session.identity.traits == {"email": email, "name": {"given": "Grace"}}
    assert [i.id for i in bia.oidc_identities(f"{kind}:{sub}")] == [session.identity.id]
    again = Browser()
    _, ended = sign_with(again, bia, "login", kind)
    assert ended == DEFAULT_RETURN_URL
    assert bia.frontend.to_session(cookie=again.session_cookie(bia)).identity.id == session.identity.id


def test_apple_posts_its_answer_and_the_name_comes_from_the_user_field(bia):
    sub, email = f"apple-{uuid.uuid4().hex[:8]}", unique_email("apple")
    bia.choose_account(sub, email=email, email_verified=True)
    browser = Browser()
    _, action, fields = apple_answer(browser, bia, "registration")
    fields["user"] = json.dumps({"name": {"firstName": "Ada", "lastName": "Lovelace"},
                                 "email": "forged@example.com"})
    posted = post_cross_site(action, fields)
    assert posted.status_code == 303, posted.text
    onwards = posted.headers["Location"]
    assert onwards.startswith(action + "?")
    # What the callback reads goes on; the rest (here the provider's `iss`) is dropped.
    kept = {k: v for k, v in fields.items() if k in ("state", "code", "user")}
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(onwards).query)) == kept
    # The browser's own GET brings its cookies: the flow goes on.
    ended = browser.follow(onwards, bia)
    assert ended == DEFAULT_RETURN_URL
    session = bia.frontend.to_session(cookie=browser.session_cookie(bia))
    assert session.identity.traits == {"email": email, "name": {"given": "Ada"}}
    assert [i.id for i in bia.oidc_identities(f"apple:{sub}")] == [session.identity.id]

    # Apple sends the name only once: the next sign-in has no user field.
    again = Browser()
    _, action, fields = apple_answer(again, bia, "login")
    posted = post_cross_site(action, fields)
    assert posted.status_code == 303
    assert again.follow(posted.headers["Location"], bia) == DEFAULT_RETURN_URL
    assert bia.frontend.to_session(cookie=again.session_cookie(bia)).identity.id == session.identity.id

    # The same answer posted again is refused: its state was used.
    replayed = post_cross_site(action, fields)
    assert replayed.status_code == 303
    third = Browser()
    third.jars = {k: dict(v) for k, v in again.jars.items()}
    third.jars[urllib.parse.urlsplit(bia.public_url).netloc].pop("ory_kratos_session", None)
    ended = third.follow(replayed.headers["Location"], bia)
    assert ended != DEFAULT_RETURN_URL
    assert third.session_cookie(bia) is None


def test_apples_callback_refuses_hostile_posts(bia):
    bia.choose_account(f"apple-{uuid.uuid4().hex[:8]}", email=unique_email("apple"))
    browser = Browser()
    flow, action, fields = apple_answer(browser, bia, "login")
    # An oversized body is refused before anything is read from it.
    huge = urllib.parse.urlencode({**fields, "user": "x" * (MAX_FORM_BYTES + 1)})
    answer = requests.post(action, data=huge, allow_redirects=False, timeout=30,
                           headers={"Accept": "application/json",
                                    "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == 413
    # Unknown fields are dropped; a forged state is refused by the GET.
    forged = {**fields, "state": f"login.{flow['id']}.{'A' * 43}", "injected": "1"}
    posted = post_cross_site(action, forged)
    assert posted.status_code == 303
    assert "injected" not in posted.headers["Location"]
    ended = browser.follow(posted.headers["Location"], bia)
    assert "/ui/login" in ended
    assert browser.session_cookie(bia) is None
    # The forged answer used the flow's request up: the real one is refused too.
    posted = post_cross_site(action, fields)
    ended = browser.follow(posted.headers["Location"], bia)
    assert browser.session_cookie(bia) is None
    assert flow_messages(bia, browser, "login", flow["id"]) == [5000001]
    # Malformed state: a 400, never a 5xx.
    answer = browser.request("GET", f"{action}?state=%00%ff&code=x", headers={"Accept": "application/json"})
    assert answer.status_code == 400, answer.text


def test_an_apple_client_secret_signed_by_another_key_is_refused(bia):
    bia.choose_account(f"stranger-{uuid.uuid4().hex[:8]}", email=unique_email("stranger"))
    browser = Browser()
    flow, action, fields = apple_answer(browser, bia, "registration", "stranger")
    posted = post_cross_site(action, fields)
    ended = browser.follow(posted.headers["Location"], bia)
    assert "/ui/registration" in ended
    assert flow_messages(bia, browser, "registration", flow["id"]) == [5000001]
    assert browser.session_cookie(bia) is None


def test_a_microsoft_multi_tenant_token_must_name_its_tenants_issuer(bia):
    browser = Browser()
    _, ended = sign_with(browser, bia, "registration", "tenant-honest")
    assert ended == DEFAULT_RETURN_URL
    assert bia.frontend.to_session(cookie=browser.session_cookie(bia)) is not None
    for provider_id, mode in [("tenant-other", "tenant-other"), ("ms-wrong-iss", "wrong-iss")]:
        other = Browser()
        flow, ended = sign_with(other, bia, "registration", provider_id)
        assert "/ui/registration" in ended, ended
        assert flow_messages(bia, other, "registration", flow["id"]) == [5000001]
        assert other.session_cookie(bia) is None
    assert bia.oidc_identities(f"tenant-other:tenant-other-{bia.hint}") == []
    assert "the ID token was refused" in bia.log_path.read_text(errors="replace")
