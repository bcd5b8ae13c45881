"""Scopes and claims: a portal gets only the scopes it may ask (Client.get_allowed_scope), the claims each scope
gives (OIDC Core §5.4, and our roles, org and delegations scopes) and never one its profile withholds
(idp.oidc.claims.user_claims); the `claims` request parameter is not supported (discovery says so): whatever
JSON, or text, is sent in it changes nothing and breaks nothing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import Client, PendingAuthorization, User
from idp.models.client import PORTAL_SCOPE
from idp.oidc.claims import user_claims
from idp.portals.profile import WITHHOLDABLE
from tests.helpers import RelyingParty
from tests.properties.conftest import DB_EXAMPLES

KNOWN = ["openid", "profile", "email", "phone", "address", "roles", "org", "delegations", "offline_access"]
SCOPE_WORDS = st.one_of(st.sampled_from(KNOWN), st.from_regex(r"\A[a-zA-Z_:./-]{1,12}\Z"))

# OIDC Core §5.4, written out here, and our own scopes.
GIVES = {
    "profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "profile",
                "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
    "email": {"email", "email_verified"},
    "address": {"address"},
    "phone": {"phone_number", "phone_number_verified"},
    "roles": {"roles"},
    "org": {"org"},
}


@given(allowed=st.lists(SCOPE_WORDS, max_size=8), asked=st.lists(SCOPE_WORDS, max_size=8),
       spacing=st.sampled_from([" ", "  "]))
def test_a_portal_gets_the_scopes_it_asked_that_it_may_ask_and_no_other(allowed, asked, spacing):
    portal = Client(scope=" ".join(allowed))
    given_scopes = portal.get_allowed_scope(spacing.join(asked)).split()
    assert set(given_scopes) == set(asked) & set(allowed)


def person() -> User:
    return User(sub="sub-1", email="anna@example.org", email_verified=True, name="Anna de Vries",
                given_name="Anna", family_name="de Vries", username="anna", locale="nl",
                updated_at=datetime(2026, 1, 1, tzinfo=UTC), phone_verified=True, roles=["professional"])


@given(scopes=st.lists(SCOPE_WORDS, max_size=8), withheld=st.lists(st.sampled_from(WITHHOLDABLE), unique=True))
def test_claims_follow_the_scopes_and_never_hold_a_withheld_one(pure_app, scopes, withheld):
    portal = Client(client_id="portal", scope=PORTAL_SCOPE, profile={"withheld_claims": withheld})
    claims = user_claims(person(), " ".join(scopes), "+31612345678", portal)
    assert claims["sub"] == "sub-1"
    assert not set(claims) & set(withheld)
    allowed = set().union(*(GIVES.get(scope, set()) for scope in scopes))
    assert set(claims) - {"sub"} <= allowed
    # ... and everything known that the scopes give and the profile does not withhold.
    known = {"email", "email_verified", "name", "given_name", "family_name", "preferred_username", "locale",
             "updated_at", "phone_number", "phone_number_verified", "roles"}
    assert set(claims) - {"sub"} == (allowed & known) - set(withheld)


CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # as the request edge refuses them, written out
TEXT = st.characters(exclude_categories=["Cs"])  # a lone surrogate cannot even be sent
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(TEXT, max_size=10),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.one_of(st.sampled_from(["userinfo", "id_token", "email", "acr", "essential", "value",
                                                   "values", "phone_number"]), st.text(TEXT, max_size=8)),
                        inner, max_size=3), max_leaves=10)
CLAIMS_PARAMETER = st.one_of(JSON.map(lambda v: json.dumps(v, ensure_ascii=False)), st.text(TEXT, max_size=60))


@DB_EXAMPLES
@given(claims=CLAIMS_PARAMETER)
@example(claims='{"id_token": {"acr": {"essential": true, "values": ["urn:idp:acr:mfa"]}}}')
@example(claims="a\x00b")
def test_the_claims_parameter_changes_nothing(client, portal, claims):
    rp = RelyingParty(client, portal)
    count = select(func.count()).select_from(PendingAuthorization)
    parked = db.session.scalar(count)
    response = rp.authorize(claims=claims)
    # A control character in any parameter is refused before anything reads it (idp/web/site.py: an error page,
    # no redirect); otherwise the request is parked as it would be without the parameter.
    refused = bool(CONTROL.search(claims))
    assert response.status_code == (400 if refused else 302)
    assert (response.location or "").startswith("" if refused else "/login/")
    assert db.session.scalar(count) == parked + (0 if refused else 1)
