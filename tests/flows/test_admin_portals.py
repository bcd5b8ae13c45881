"""Issue 16 part 2: the admin console's portals pages (/admin/portals): register a portal in the form and sign in
at it, change its sign-in profile and see it on its sign-in page, refused addresses, the secret shown once and
rotated, disabling (unauthorized_client at /authorize, invalid_client at /token), a declared portal left to its
config file, and what a helpdesk or organisation admin, or a post without CSRF token, gets: nothing changed."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from idp import clock
from idp.accounts import admins, entry, factors, organisations
from idp.accounts.users import create_user
from idp.audit import EventTag
from idp.extensions import db
from idp.models import AuditEvent, Client, Token
from idp.models.client import ACCOUNT_CLIENT_ID, ADMIN_CLIENT_ID
from idp.portals import profile as portal_profile
from idp.portals import registry
from idp.runtime import crypto, settings
from tests.flows.test_admin_console import fresh, rows, session_for, token_of, words
from tests.helpers import RelyingParty, audit_events, browser, english_browser, query

PASSWORD = "correct horse battery"


@pytest.fixture
def client(app):
    return english_browser(app)


@pytest.fixture
def world(app):
    """A deployment admin, a helpdesk person and an organisation's admin (each with SMS codes), and Anna, who
    signs in at portals with her password."""
    operator = admins.operator("test")
    home = organisations.create(operator, "Zorggroep Noord", "care_provider", clock.now(), code="noord")

    def person(email: str, phone: str, org=None, role: str | None = None):
        user = create_user(email, PASSWORD, name=email.split("@")[0].title(), phone=phone, org=org)
        factors.add_confirmed(user, "sms", phone_number=phone)
        if role:
            admins.grant(operator, user, role, clock.now())
        return user

    people = {
        "deployment": person("dora@example.org", "+31612000001", role=admins.DEPLOYMENT),
        "helpdesk": person("hans@example.org", "+31612000002", role=admins.HELPDESK),
        "org_admin": person("olga@noord.example", "+31612000003", home, role=admins.ORGANISATION),
        "anna": create_user("anna@example.org", PASSWORD, name="Anna de Vries"),
    }
    db.session.commit()
    return people


class Form(HTMLParser):
    """What a browser sends for the page's (last) form with method post: text inputs and textareas as shown,
    checked boxes and radios, each select's selected option (else its first)."""

    def __init__(self, html: str):
        super().__init__()
        self.data: list[tuple[str, str]] = []
        self._select: str | None = None
        self._first: str | None = None
        self._chosen = False
        self._textarea: str | None = None
        self._text = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("method") == "post":
            self.data = []
        elif tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.append((a["name"], a.get("value") or "on"))
            else:
                self.data.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select, self._first, self._chosen = a["name"], None, False
        elif tag == "option" and self._select is not None:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a:
                self.data.append((self._select, a.get("value", "")))
                self._chosen = True
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            if not self._chosen:
                self.data.append((self._select, self._first or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.data.append((self._textarea, self._text))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def send(self, **changes: str | list[str]) -> dict[str, list[str]]:
        """The form's data with some fields replaced (a list: a field sent several times, e.g. checkboxes)."""
        sent: dict[str, list[str]] = {}
        for name, value in self.data:
            sent.setdefault(name, []).append(value)
        for name, value in changes.items():
            sent[name] = value if isinstance(value, list) else [value]
        return sent


def form_of(client, url: str) -> Form:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return Form(page.get_data(as_text=True))


def shown_secret(response) -> str:
    match = re.search(r'id="client-secret">([^<]+)<', response.get_data(as_text=True))
    assert match, "no secret on the page"
    return match.group(1)


def register_in_form(client, **fields: str | list[str]):
    return client.post("/admin/portals/new", data=form_of(client, "/admin/portals/new").send(**fields))


def named(name: str) -> Client | None:
    db.session.expire_all()
    return db.session.scalar(select(Client).where(Client.name == name))


def party(app, found: Client, secret: str | None) -> RelyingParty:
    portal = SimpleNamespace(client_id=found.client_id, secret=secret, redirect_uris=list(found.redirect_uris))
    return RelyingParty(browser(app), portal)


# --- register a portal in the form, then sign in at it -------------------------------------------


def test_a_portal_registered_in_the_form_signs_people_in(app, client, world):
    admin = world["deployment"]
    session_for(client, admin)
    done = register_in_form(client, name="Huisartsportaal Noord", redirect_uris="http://127.0.0.1:9301/callback\n",
                            post_logout_redirect_uris="http://127.0.0.1:9301/logged-out", kind="confidential")
    assert done.status_code == 201, words(done)
    secret = shown_secret(done)
    found = named("Huisartsportaal Noord")
    assert found is not None and found.redirect_uris == ["http://127.0.0.1:9301/callback"]
    assert found.post_logout_redirect_uris == ["http://127.0.0.1:9301/logged-out"]
    assert found.client_id in words(done) and found.disabled_at is None
    # Stored as a keyed hash only; the same defaults as `idp clients add`.
    assert found.secret_hash != secret and crypto().matches(secret, found.secret_hash)
    assert (found.mfa, found.mfa_factors, found.trusted_device_days, found.pkce_required) == (
        "optional", ["sms", "email", "totp"], 7, True)
    assert found.id_token_alg == settings().keys.algorithm and found.profile == {}
    [created] = audit_events(EventTag.CLIENT_CREATED)
    assert created.client_id == found.client_id
    assert created.actor == f"user:{admin.sub}" and created.actor_user_id == admin.id

    listed = words(client.get("/admin/portals"))
    assert "Huisartsportaal Noord" in listed and found.client_id in listed and "Status: active" in listed
    for url in ("/admin/portals", f"/admin/portals/{found.client_id}", f"/admin/portals/{found.client_id}/edit"):
        assert secret not in client.get(url).get_data(as_text=True), url

    # A standard relying party: authorization code with PKCE, the secret at the token endpoint.
    rp = party(app, found, secret)
    tokens = rp.tokens("anna@example.org", PASSWORD)
    claims = rp.decode_id_token(tokens["id_token"])
    assert claims["aud"] == found.client_id and claims["sub"] == world["anna"].sub
    assert rp.userinfo(tokens["access_token"]).get_json()["sub"] == world["anna"].sub


def test_jwt_access_tokens_are_chosen_in_the_form_and_changed_back(app, client, world):
    session_for(client, world["deployment"])
    done = register_in_form(client, name="Zorgportaal", redirect_uris="http://127.0.0.1:9302/callback",
                            kind="confidential", access_token_format="jwt")
    assert done.status_code == 201, words(done)
    found = named("Zorgportaal")
    assert found.access_token_format == "jwt"
    assert "Access tokens: JWT (RFC 9068)" in words(client.get(f"/admin/portals/{found.client_id}"))
    rp = party(app, found, shown_secret(done))
    access_token = rp.tokens("anna@example.org", PASSWORD)["access_token"]
    assert access_token.count(".") == 2 and rp.userinfo(access_token).get_json()["sub"] == world["anna"].sub

    edit = f"/admin/portals/{found.client_id}/edit"
    refused = client.post(edit, data=form_of(client, edit).send(access_token_format="paseto"))
    assert refused.status_code == 200 and "Choose opaque or JWT." in words(refused)
    assert named("Zorgportaal").access_token_format == "jwt"
    changed = client.post(edit, data=form_of(client, edit).send(access_token_format="opaque"))
    assert changed.status_code == 302, words(changed)
    assert named("Zorgportaal").access_token_format == "opaque"
    assert audit_events(EventTag.CLIENT_UPDATED)[-1].details["changed"] == ["access_token_format"]
    assert "." not in rp.tokens("anna@example.org", PASSWORD)["access_token"]


def test_the_built_in_clients_are_not_portals_of_the_console(app, client, world):
    entry.ensure_account_client()  # both registered when first signed in through
    entry.ensure_account_client(ADMIN_CLIENT_ID)
    db.session.commit()
    session_for(client, world["deployment"])
    listed = words(client.get("/admin/portals"))
    for built_in in (ACCOUNT_CLIENT_ID, ADMIN_CLIENT_ID):
        assert built_in not in listed
        assert client.get(f"/admin/portals/{built_in}").status_code == 404
        assert client.get(f"/admin/portals/{built_in}/disable").status_code == 404


# --- the profile, every field through the form ---------------------------------------------------


def test_every_field_survives_the_form_and_a_change_takes_effect(app, client, world, make_portal):
    admin = world["deployment"]
    portal = make_portal("Thuiszorg", first_party=True, mfa="required", mfa_factors=["sms", "totp"],
                         trusted_device_days=30, help_contact="088 123 45 67", email_domains=["thuiszorg.example"],
                         registration=True, pkce_required=False, id_token_alg="ES256", password_policy="standard",
                         redirect_uris=["http://127.0.0.1:9401/callback", "http://127.0.0.1:9401/other"],
                         post_logout_redirect_uris=["http://127.0.0.1:9401/", "http://127.0.0.1:9401/bye"],
                         backchannel_logout_uri="http://127.0.0.1:9401/backchannel",
                         profile={"sms_prefix": "true", "withheld_claims": "phone_number,email",
                                  "help_by_role": "professional=teamleider@example.org; end_user=088 123 45 67",
                                  "sign_in_with": "username", "sms_code_length": "8", "accent_colour": "#7a1f5c",
                                  "form_of_address": "je", "delegation": "true", "self_delete": "false",
                                  "activation_order": "phone_first", "support_url": "https://help.example.org",
                                  "logo_url": "https://help.example.org/logo.svg", "email_code_length": "7",
                                  "sign_in_url": "https://portal.example.org/login", "reset_asks_username": "false",
                                  "reset_phone": "true", "activation_phone": "false", "organisation": "Thuiszorg",
                                  "new_accounts": "temporary_password", "activation_birth_date": "true"})
    session_for(client, admin)
    edit = f"/admin/portals/{portal.client_id}/edit"
    before = {c.name: getattr(portal, c.name) for c in Client.__table__.columns}
    assert set(portal.profile) == set(portal_profile.FIELDS)  # every field of the profile set by the portal

    # Sent back as shown, the form changes nothing: every field came back as it was.
    response = client.post(edit, data=form_of(client, edit).send())
    assert response.status_code == 302, words(response)
    db.session.expire_all()
    assert {c.name: getattr(fresh(Client, portal.id), c.name) for c in Client.__table__.columns} == before
    assert "Nothing was different" in words(client.get(response.location))
    assert audit_events(EventTag.CLIENT_UPDATED) == []

    # The organisation's name on its sign-in page, and the SMS prefix off.
    response = client.post(edit, data=form_of(client, edit).send(**{
        "profile-organisation": "Thuiszorg De Linde", "profile-sms_prefix": "false",
        "profile-sign_in_with": "", "trusted_device_days": "14", "mfa_factors": ["sms", "email", "totp"]}))
    assert response.status_code == 302, words(response)
    changed = fresh(Client, portal.id)
    assert changed.profile["organisation"] == "Thuiszorg De Linde" and changed.profile["sms_prefix"] is False
    assert "sign_in_with" not in changed.profile  # back to the deployment's default
    assert changed.trusted_device_days == 14 and changed.mfa_factors == ["sms", "email", "totp"]
    assert changed.profile["help_by_role"] == [["professional", "teamleider@example.org"],
                                               ["end_user", "088 123 45 67"]]  # untouched
    [updated] = audit_events(EventTag.CLIENT_UPDATED)
    assert updated.actor == f"user:{admin.sub}" and updated.actor_user_id == admin.id
    assert updated.details["changed"] == sorted(["factors", "trusted_device_days", "profile.organisation",
                                                 "profile.sign_in_with", "profile.sms_prefix"])

    rp = party(app, changed, portal.secret)
    sign_in = rp.client.get(rp.login_url())
    assert "Thuiszorg De Linde" in words(sign_in)


# --- refused addresses: an error beside the field, nothing typed lost, nothing saved ----------------


@pytest.mark.parametrize("uri", ["https://*.example.org/callback", "https://portal.example.org/cb#top"])
def test_a_wildcard_or_fragment_redirect_uri_is_refused(app, client, world, uri):
    session_for(client, world["deployment"])
    response = register_in_form(client, name="Wildcard portal", redirect_uris=uri, kind="confidential",
                                **{"profile-organisation": "Zorg & Co"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="redirect_uris-error"' in html and "without * or #" in words(response)
    assert 'aria-describedby="redirect_uris-error"' in html
    assert uri in words(response) and 'value="Wildcard portal"' in html and "Zorg &amp; Co" in html
    assert named("Wildcard portal") is None and audit_events(EventTag.CLIENT_CREATED) == []


def test_plain_http_is_refused_outside_dev_mode(app, client, world, make_portal, monkeypatch):
    portal = make_portal("Bestaand portaal")
    session_for(client, world["deployment"])
    edit = f"/admin/portals/{portal.client_id}/edit"
    typed_form = form_of(client, edit)
    new_form = form_of(client, "/admin/portals/new")
    monkeypatch.setitem(app.extensions, "idp.settings", settings().replace(server={"dev_mode": False}))
    assert not settings().server.dev_mode

    response = client.post("/admin/portals/new", data=new_form.send(
        name="Http portal", redirect_uris="http://127.0.0.1:9501/callback", kind="confidential"))
    assert response.status_code == 200 and 'id="redirect_uris-error"' in response.get_data(as_text=True)
    assert named("Http portal") is None

    response = client.post(edit, data=typed_form.send(
        name="Renamed", redirect_uris="http://portal.example.org/callback"))
    assert response.status_code == 200 and 'id="redirect_uris-error"' in response.get_data(as_text=True)
    assert "http://portal.example.org/callback" in words(response) and 'value="Renamed"' in words(response) + \
        response.get_data(as_text=True)
    kept = fresh(Client, portal.id)
    assert kept.name == "Bestaand portaal" and kept.redirect_uris == portal.redirect_uris
    assert audit_events(EventTag.CLIENT_UPDATED) == []


def test_other_wrong_fields_are_each_marked(app, client, world):
    session_for(client, world["deployment"])
    before = rows(Client)
    response = register_in_form(client, name="", redirect_uris="", trusted_device_days="400", mfa_factors=[],
                                **{"profile-accent_colour": "#eeeeee", "profile-sms_code_length": "4"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in ("name", "redirect_uris", "trusted_device_days", "mfa_factors", "profile-accent_colour",
                 "profile-sms_code_length"):
        assert f'id="{name}-error"' in html, name
    assert 'value="#eeeeee"' in html and 'value="400"' in html
    assert rows(Client) == before


# --- the secret: shown once, rotated ---------------------------------------------------------------


def test_the_secret_is_shown_once_and_a_new_one_replaces_it(app, client, world):
    admin = world["deployment"]
    session_for(client, admin)
    old = shown_secret(register_in_form(client, name="Apotheek", redirect_uris="http://127.0.0.1:9601/callback",
                                        kind="confidential"))
    found = named("Apotheek")
    url = f"/admin/portals/{found.client_id}/rotate-secret"
    confirm = client.get(url)
    assert "Yes, make a new secret" in words(confirm) and old not in confirm.get_data(as_text=True)
    assert crypto().matches(old, fresh(Client, found.id).secret_hash)  # asking changes nothing

    done = client.post(url, data={"csrf_token": token_of(client, url)})
    assert done.status_code == 200
    new = shown_secret(done)
    assert new != old and crypto().matches(new, fresh(Client, found.id).secret_hash)
    [rotated] = audit_events(EventTag.CLIENT_SECRET_ROTATED)
    assert rotated.client_id == found.client_id and rotated.actor == f"user:{admin.sub}"
    for page in ("/admin/portals", f"/admin/portals/{found.client_id}", f"/admin/portals/{found.client_id}/edit"):
        assert new not in client.get(page).get_data(as_text=True), page

    # The old secret fails at the token endpoint, the new one works.
    with_old = party(app, found, old)
    callback = with_old.sign_in("anna@example.org", PASSWORD)
    refused = with_old.exchange(callback["code"])
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    with_new = party(app, found, new)
    callback = with_new.sign_in("anna@example.org", PASSWORD)
    assert with_new.exchange(callback["code"]).status_code == 200


# --- disable and enable ----------------------------------------------------------------------------


def test_a_disabled_portal_is_refused_until_enabled(app, client, world, make_portal):
    admin = world["deployment"]
    portal = make_portal("Ziekenhuis")
    rp = party(app, portal, portal.secret)
    tokens = rp.tokens("anna@example.org", PASSWORD)
    session_for(client, admin)
    url = f"/admin/portals/{portal.client_id}/disable"
    assert "Yes, disable" in words(client.get(url)) and fresh(Client, portal.id).disabled_at is None

    done = client.post(url, data={"csrf_token": token_of(client, url)})
    assert done.status_code == 302 and fresh(Client, portal.id).disabled_at is not None
    assert "Status: disabled" in words(client.get("/admin/portals"))
    [disabled] = audit_events(EventTag.CLIENT_DISABLED)
    assert disabled.client_id == portal.client_id and disabled.actor == f"user:{admin.sub}"

    # /authorize answers unauthorized_client at the portal's redirect URI; /token invalid_client.
    response = rp.authorize()
    assert response.status_code == 302 and response.location.startswith(rp.redirect_uri)
    assert query(response.location)["error"] == "unauthorized_client"
    refused = rp.refresh(tokens["refresh_token"])
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    assert rows(Token, client_id=portal.id) == 1  # kept, for when it is enabled again

    url = f"/admin/portals/{portal.client_id}/enable"
    client.post(url, data={"csrf_token": token_of(client, url)})
    assert fresh(Client, portal.id).disabled_at is None
    [enabled] = audit_events(EventTag.CLIENT_ENABLED)
    assert enabled.actor == f"user:{admin.sub}"
    assert rp.userinfo(tokens["access_token"]).status_code == 200
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_a_disabled_public_portal_gets_invalid_client_at_the_token_endpoint(app, world, make_portal):
    portal = make_portal("App", public=True)
    rp = party(app, portal, None)
    callback = rp.sign_in("anna@example.org", PASSWORD)
    registry.disable(fresh(Client, portal.id), clock.now())
    db.session.commit()
    refused = rp.exchange(callback["code"], auth="none")
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"


# --- a declared portal is its config file's --------------------------------------------------------


def test_a_declared_portal_cannot_be_changed_in_the_console(app, client, world, make_portal):
    portal = make_portal("Uit het bestand")
    portal.declared_in = "/etc/idp/idp.toml"
    db.session.commit()
    session_for(client, world["deployment"])
    edit = f"/admin/portals/{portal.client_id}/edit"
    shown = client.get(edit)
    assert "declared in the configuration file /etc/idp/idp.toml" in words(shown)
    assert 'name="redirect_uris"' not in shown.get_data(as_text=True)
    assert "Change the portal" not in words(client.get(f"/admin/portals/{portal.client_id}"))

    token = token_of(client, "/admin/portals/new")
    response = client.post(edit, data={"csrf_token": token, "name": "Changed", "redirect_uris": portal.redirect_uris[0],
                                       "mfa": "optional", "mfa_factors": "sms", "trusted_device_days": "7"})
    assert response.status_code == 409 and "Nothing has been changed" in words(response)
    response = client.post(f"/admin/portals/{portal.client_id}/rotate-secret", data={"csrf_token": token})
    assert response.status_code == 302
    kept = fresh(Client, portal.id)
    assert kept.name == "Uit het bestand" and crypto().matches(portal.secret, kept.secret_hash)
    assert audit_events(EventTag.CLIENT_UPDATED) == [] and audit_events(EventTag.CLIENT_SECRET_ROTATED) == []


# --- who may: deployment admins only; CSRF ---------------------------------------------------------


def portal_rules(app) -> list:
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.portal")]


def test_every_portals_route_is_walked(app):
    assert {r.endpoint for r in portal_rules(app)} == {
        "admin.portals_page", "admin.portal_new", "admin.portal", "admin.portal_edit", "admin.portal_rotate_secret",
        "admin.portal_disable", "admin.portal_enable"}


@pytest.mark.parametrize("role", ["helpdesk", "org_admin"])
def test_helpdesk_and_organisation_admins_get_403_on_every_portals_route(app, client, world, make_portal, role):
    portal = make_portal("Niet van jou")
    session_for(client, world[role])
    token = token_of(client, "/account/profile")
    before = (rows(Client), rows(AuditEvent), portal.secret_hash, portal.name)
    walked = 0
    for rule in portal_rules(app):
        url = rule.rule.replace("<client_id>", portal.client_id)
        for method in sorted(rule.methods & {"GET", "POST"}):
            data = {"csrf_token": token, "name": "Taken over", "redirect_uris": "http://127.0.0.1:9701/callback",
                    "kind": "confidential", "mfa": "optional", "mfa_factors": "sms", "trusted_device_days": "7"}
            response = client.open(url, method=method, data=data if method == "POST" else None)
            assert response.status_code == 403, (role, method, url, response.status_code)
            walked += 1
    assert walked == 12
    kept = fresh(Client, portal.id)
    assert (rows(Client), rows(AuditEvent), kept.secret_hash, kept.name) == before and kept.disabled_at is None


def test_a_post_without_csrf_token_changes_nothing(app, client, world, make_portal):
    admin = world["deployment"]
    portal = make_portal("Beschermd")
    session_for(client, admin)
    filled = form_of(client, f"/admin/portals/{portal.client_id}/edit").send(name="Forged")
    filled.pop("csrf_token")
    base = f"/admin/portals/{portal.client_id}"
    for url, data in ((base + "/edit", filled), ("/admin/portals/new", {**filled, "name": ["New forged"]}),
                      (base + "/rotate-secret", {}), (base + "/disable", {})):
        for sent in (data, {**data, "csrf_token": "forged"}):
            assert client.post(url, data=sent).status_code in (400, 403), url
    kept = fresh(Client, portal.id)
    assert kept.name == "Beschermd" and kept.disabled_at is None
    assert crypto().matches(portal.secret, kept.secret_hash) and named("New forged") is None
    assert rows(AuditEvent, actor_user_id=admin.id) == 0


def test_the_pages_in_dutch(app, client, world, make_portal):
    portal = make_portal("Huisarts")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nl"
    session_for(client, world["deployment"])
    assert "Portalen" in words(client.get("/admin/portals"))
    assert "Wijzig het portaal" in words(client.get(f"/admin/portals/{portal.client_id}"))
    assert "Registreer een portaal" in words(client.get("/admin/portals/new"))


def test_the_cli_disables_and_enables_a_portal_too(app, world, make_portal):
    portal = make_portal("Via de CLI")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["clients", "disable", portal.client_id, "--as", "beheer"])
    assert result.exit_code == 0, result.output
    assert fresh(Client, portal.id).disabled_at is not None
    [disabled] = audit_events(EventTag.CLIENT_DISABLED)
    assert disabled.actor == "beheer"
    result = runner.invoke(args=["clients", "enable", portal.client_id])
    assert result.exit_code == 0 and fresh(Client, portal.id).disabled_at is None
