"""GET /admin/identities: filters, include_credential and pagination through the SDK."""

from __future__ import annotations

import math
import urllib.parse
import uuid

import pytest

from hashes import bcrypt_matches
from support import (
    all_identities,
    create,
    expect_error,
    links,
    password_credentials,
    query_of,
    unique_email,
    walk_pages,
)


@pytest.fixture(scope="module")
def batch_of_23(identity_api):
    """23 identities that share a marker in their email address."""
    marker = "pg" + uuid.uuid4().hex[:8]
    created = [
        create(
            identity_api,
            f"{marker}-{n:02d}@example.org",
            credentials=password_credentials(password=f"password-{n:02d}"),
        )
        for n in range(23)
    ]
    return marker, created


def test_list_returns_created_identities(identity_api, batch_of_23):
    _, created = batch_of_23
    everything = all_identities(identity_api)
    for identity in created:
        assert identity.id in everything
        listed = everything[identity.id]
        assert listed.traits == identity.traits
        assert listed.schema_id == "default"
        assert listed.schema_url == identity.schema_url
        # Without include_credential no credential config is shown.
        assert not (listed.credentials or {}).get("password") or not listed.credentials["password"].config


def test_keyset_pagination_follows_link_header(identity_api, server, batch_of_23):
    _, created = batch_of_23
    total = len(all_identities(identity_api))
    assert total >= len(created)

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        response = identity_api.list_identities_with_http_info(page_size=5, page_token=token)
        assert response.status_code == 200
        page = response.data
        pages += 1
        assert len(page) <= 5
        seen.extend(i.id for i in page)
        rels = links(response.headers)
        assert "first" in rels, f"no rel=first in Link: {rels}"
        first = urllib.parse.urlsplit(rels["first"])
        assert first.path.endswith("/identities"), rels["first"]
        assert query_of(rels["first"]).get("page_size") == "5"
        if "next" not in rels:
            break
        assert len(page) == 5, "a page before the last one is not full"
        nxt = rels["next"]
        assert urllib.parse.urlsplit(nxt).path.endswith("/identities"), nxt
        assert query_of(nxt).get("page_size") == "5", nxt
        token = query_of(nxt)["page_token"]
        assert pages <= total + 1, "pagination does not end"

    assert len(seen) == len(set(seen)), "an identity appeared on two pages"
    assert len(seen) == total
    assert set(i.id for i in created) <= set(seen)
    assert pages in (math.ceil(total / 5), math.ceil(total / 5) + 1)
    assert seen == sorted(seen), "keyset pages are not ordered by id"


def test_keyset_pagination_with_page_size_one(identity_api, batch_of_23):
    pages = walk_pages(identity_api, page_size=1)
    ids = [i.id for page in pages for i in page]
    assert len(ids) == len(set(ids))
    assert len(ids) == len(all_identities(identity_api))
    assert all(len(page) <= 1 for page in pages)


def test_invalid_page_token(identity_api):
    expect_error(400, identity_api.list_identities, page_size=5, page_token="definitely-not-a-token")


def test_legacy_page_and_per_page(identity_api, batch_of_23):
    total = len(all_identities(identity_api))
    seen: list[str] = []
    page, per_page = None, 4
    for _ in range(total + 2):
        response = identity_api.list_identities_with_http_info(page=page, per_page=per_page)
        assert response.status_code == 200
        assert len(response.data) <= per_page
        seen.extend(i.id for i in response.data)
        nxt = links(response.headers).get("next")
        if not nxt or not response.data:
            break
        query = query_of(nxt)
        assert query.get("per_page") == str(per_page), nxt
        assert "page" in query, nxt
        assert query["page"] != str(page), "next link points at the same page"
        page = int(query["page"])
    else:
        raise AssertionError("legacy pagination does not end")
    assert len(seen) == len(set(seen)), "an identity appeared on two legacy pages"
    assert len(seen) == total


def test_filter_by_ids(identity_api, batch_of_23):
    _, created = batch_of_23
    wanted = [created[3].id, created[7].id, created[11].id]
    missing = str(uuid.uuid4())
    response = identity_api.list_identities_with_http_info(ids=wanted + [missing, wanted[0]])
    assert response.status_code == 200
    assert sorted(i.id for i in response.data) == sorted(wanted)


def test_filter_by_credentials_identifier(identity_api, batch_of_23):
    marker, created = batch_of_23
    found = identity_api.list_identities(credentials_identifier=f"{marker}-05@example.org")
    assert [i.id for i in found] == [created[5].id]
    assert identity_api.list_identities(credentials_identifier=f"{marker}-99@example.org") == []
    # A prefix is not an exact match.
    assert identity_api.list_identities(credentials_identifier=f"{marker}-0") == []


def test_filter_by_similar_credentials_identifier(identity_api, batch_of_23):
    marker, created = batch_of_23
    found = identity_api.list_identities(preview_credentials_identifier_similar=f"{marker}-1")
    expected = {i.id for i in created if i.traits["email"].startswith(f"{marker}-1")}
    assert len(expected) == 10
    assert {i.id for i in found} == expected
    everything = identity_api.list_identities(preview_credentials_identifier_similar=marker)
    assert {i.id for i in everything} == {i.id for i in created}


def test_list_include_credential(identity_api, batch_of_23):
    marker, created = batch_of_23
    plain = identity_api.list_identities(credentials_identifier=f"{marker}-07@example.org")
    assert [i.id for i in plain] == [created[7].id]
    assert not (plain[0].credentials or {}).get("password") or not plain[0].credentials["password"].config

    [included] = identity_api.list_identities(
        credentials_identifier=f"{marker}-07@example.org", include_credential=["password"]
    )
    assert included.id == created[7].id
    assert bcrypt_matches("password-07", included.credentials["password"].config["hashed_password"])

    listed = identity_api.list_identities(ids=[created[1].id, created[2].id], include_credential=["password"])
    assert len(listed) == 2
    for identity in listed:
        assert identity.credentials["password"].config["hashed_password"].startswith("$2a$")


def test_listing_reflects_deletes(identity_api):
    email = unique_email("gone")
    identity = create(identity_api, email)
    assert identity.id in all_identities(identity_api)
    identity_api.delete_identity(identity.id)
    assert identity.id not in all_identities(identity_api)
    assert identity_api.list_identities(ids=[identity.id]) == []
