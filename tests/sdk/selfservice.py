"""Helpers for self-service flows through the SDK: a browser that keeps
cookies, request bodies with anti-CSRF tokens, and readers for flow forms."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import ory_kratos_client
from ory_kratos_client.api.frontend_api import FrontendApi
from ory_kratos_client.exceptions import ApiException
from ory_kratos_client.models.update_login_flow_body import UpdateLoginFlowBody
from ory_kratos_client.models.update_login_flow_with_password_method import (
    UpdateLoginFlowWithPasswordMethod,
)
from ory_kratos_client.models.update_registration_flow_body import UpdateRegistrationFlowBody
from ory_kratos_client.models.update_registration_flow_with_password_method import (
    UpdateRegistrationFlowWithPasswordMethod,
)
from ory_kratos_client.models.update_settings_flow_body import UpdateSettingsFlowBody
from ory_kratos_client.models.update_settings_flow_with_password_method import (
    UpdateSettingsFlowWithPasswordMethod,
)
from ory_kratos_client.models.update_settings_flow_with_profile_method import (
    UpdateSettingsFlowWithProfileMethod,
)

SESSION_COOKIE = "ory_kratos_session"
CSRF_COOKIE_PREFIX = "csrf_token_"


class Browser:
    """The SDK's FrontendApi with a cookie jar.

    Every answer's `Set-Cookie` headers land in the jar (read off the raw
    response, because the SDK's `ApiResponse` keeps only one header of a
    name). Tests send the jar explicitly with the SDK's `cookie=` parameter,
    as a server-side app forwards a browser's cookies.
    """

    def __init__(self, public_url: str) -> None:
        configuration = ory_kratos_client.Configuration(host=public_url.rstrip("/"))
        self.public_url = public_url
        self.client = ory_kratos_client.ApiClient(configuration)
        self.api = FrontendApi(self.client)
        self.cookies: dict[str, str] = {}
        # The raw Set-Cookie headers of the last answer.
        self.set_cookies: list[str] = []
        send = self.client.rest_client.request

        def request(*args: Any, **kwargs: Any):
            response = send(*args, **kwargs)
            self.keep(response.response.headers.getlist("Set-Cookie"))
            return response

        self.client.rest_client.request = request

    def close(self) -> None:
        self.client.rest_client.pool_manager.clear()

    @property
    def cookie(self) -> str | None:
        """The jar as a `Cookie` header value (None when empty)."""
        if not self.cookies:
            return None
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    @property
    def cookie_headers(self) -> dict[str, str]:
        """For the few SDK calls without a `cookie` parameter (`_headers=`)."""
        return {"Cookie": self.cookie} if self.cookie else {}

    def keep(self, set_cookies: list[str]) -> None:
        self.set_cookies = list(set_cookies)
        for line in set_cookies:
            pair, _, attributes = line.partition(";")
            name, _, value = pair.strip().partition("=")
            attrs = [a.strip().lower() for a in attributes.split(";")]
            if not value or "max-age=0" in attrs or any(a.startswith("max-age=-") for a in attrs):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def set_cookie(self, prefix: str) -> str | None:
        """The last answer's Set-Cookie header for a cookie whose name starts with `prefix`."""
        return next((c for c in self.set_cookies if c.startswith(prefix)), None)

    @property
    def csrf_cookie_name(self) -> str | None:
        return next((n for n in self.cookies if n.startswith(CSRF_COOKIE_PREFIX)), None)

    @property
    def session_cookie(self) -> str | None:
        """The jar with only the session cookie (None without one)."""
        value = self.cookies.get(SESSION_COOKIE)
        return f"{SESSION_COOKIE}={value}" if value else None


# --------------------------------------------------------------------------- forms


def nodes(flow: Any) -> list[dict]:
    """The nodes of a flow (an SDK model or its JSON) as plain dicts."""
    data = flow if isinstance(flow, dict) else flow.to_dict()
    return data["ui"]["nodes"]


def node(flow: Any, name: str) -> dict:
    found = [n for n in nodes(flow) if n["attributes"].get("name") == name]
    assert found, f"no node {name!r} in {[n['attributes'].get('name') for n in nodes(flow)]}"
    return found[0]


def node_value(flow: Any, name: str) -> Any:
    return node(flow, name)["attributes"].get("value")


def node_message_ids(flow: Any, name: str) -> list[int]:
    return [m["id"] for m in node(flow, name).get("messages") or []]


def message_ids(flow: Any) -> list[int]:
    data = flow if isinstance(flow, dict) else flow.to_dict()
    return [m["id"] for m in data["ui"].get("messages") or []]


def csrf_token(flow: Any) -> str:
    token = node_value(flow, "csrf_token")
    assert isinstance(token, str) and token, "the browser flow has no anti-CSRF token"
    return token


# --------------------------------------------------------------------------- bodies


def registration_body(
    email: str, password: str, csrf: str | None = None, **traits: Any
) -> UpdateRegistrationFlowBody:
    return UpdateRegistrationFlowBody(
        UpdateRegistrationFlowWithPasswordMethod(
            method="password", password=password, traits={"email": email, **traits}, csrf_token=csrf
        )
    )


def login_body(identifier: str, password: str, csrf: str | None = None) -> UpdateLoginFlowBody:
    return UpdateLoginFlowBody(
        UpdateLoginFlowWithPasswordMethod(
            method="password", identifier=identifier, password=password, csrf_token=csrf
        )
    )


def password_settings(password: str, csrf: str | None = None) -> UpdateSettingsFlowBody:
    return UpdateSettingsFlowBody(
        UpdateSettingsFlowWithPasswordMethod(method="password", password=password, csrf_token=csrf)
    )


def profile_settings(traits: dict, csrf: str | None = None) -> UpdateSettingsFlowBody:
    return UpdateSettingsFlowBody(
        UpdateSettingsFlowWithProfileMethod(method="profile", traits=traits, csrf_token=csrf)
    )


def query_value(url: str, name: str) -> str:
    """One query parameter of a URL."""
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get(name)
    assert values, f"{name!r} is not in the query of {url}"
    return values[-1]


def error_body(err: ApiException) -> dict:
    """The JSON body of a refused SDK call."""
    assert err.body, f"HTTP {err.status} without a body"
    return json.loads(err.body)


# --------------------------------------------------------------------------- pages


@dataclass
class Page:
    """An answer to a page-driven (not JSON) browser request."""

    status: int
    location: str | None
    set_cookies: list[str]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any):
        return None


def page_request(browser: Browser, path: str, form: dict[str, str] | None = None) -> Page:
    """What a browser does without JavaScript: a page load (GET) or an HTML
    form post, with the browser's cookies and `Accept: text/html`. Redirects
    are reported, not followed; cookies set land in the browser's jar."""
    url = urllib.parse.urljoin(browser.public_url, path)
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if form is not None else "GET")
    request.add_header("Accept", "text/html")
    if form is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if browser.cookie:
        request.add_header("Cookie", browser.cookie)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        response = opener.open(request, timeout=30)
    except urllib.error.HTTPError as answer:
        response = answer
    with response:
        set_cookies = response.headers.get_all("Set-Cookie") or []
        browser.keep(set_cookies)
        return Page(response.status, response.headers.get("Location"), set_cookies)
