"""The `roles` scope: the person's roles (professional, admin, ...) in the ID token and at userinfo."""

from __future__ import annotations


def test_roles_come_with_the_roles_scope(client, rp, make_user):
    make_user("pro@example.org", roles=["professional", "admin"])
    tokens = rp.tokens("pro@example.org", "correct horse battery", scope="openid roles")
    assert rp.decode_id_token(tokens["id_token"])["roles"] == ["admin", "professional"]
    assert rp.userinfo(tokens["access_token"]).get_json()["roles"] == ["admin", "professional"]


def test_without_the_scope_no_roles_and_none_is_an_empty_list(client, rp, user):
    plain = rp.tokens(user.email, "correct horse battery", scope="openid")
    assert "roles" not in rp.decode_id_token(plain["id_token"])
    rp.client.delete_cookie("idp_sso")
    with_scope = rp.tokens(user.email, "correct horse battery", scope="openid roles")
    assert rp.decode_id_token(with_scope["id_token"])["roles"] == []


def test_discovery_names_the_scope_and_the_claim(client):
    doc = client.get("/.well-known/openid-configuration").get_json()
    assert "roles" in doc["scopes_supported"] and "roles" in doc["claims_supported"]
