"""The discovery document: built once per app from settings, served from memory."""

from __future__ import annotations

import json

from flask import current_app

from idp.oidc.claims import SCOPES
from idp.settings import Settings

PATHS = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "userinfo_endpoint": "/userinfo",
    "jwks_uri": "/jwks.json",
    "revocation_endpoint": "/revoke",
    "introspection_endpoint": "/introspect",
    "end_session_endpoint": "/logout",
}


def build(settings: Settings) -> dict[str, object]:
    issuer = settings.issuer
    auth_methods = ["client_secret_basic", "client_secret_post"]
    doc: dict[str, object] = {"issuer": issuer}
    doc.update({name: issuer + path for name, path in PATHS.items()})
    doc.update(
        {
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": [*auth_methods, "none"],
            "revocation_endpoint_auth_methods_supported": [*auth_methods, "none"],
            "introspection_endpoint_auth_methods_supported": auth_methods,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
                "name", "given_name", "family_name", "preferred_username", "locale", "updated_at",
                "email", "email_verified", "phone_number", "phone_number_verified", "roles",
                "org", "act", "delegates",
            ],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "ui_locales_supported": ["nl", "en"],
            "claims_locales_supported": ["nl", "en"],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "acr_values_supported": [settings.mfa.acr_password, settings.mfa.acr_mfa],
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "frontchannel_logout_supported": False,
        }
    )
    return doc


def discovery_json() -> bytes:
    encoded: bytes = current_app.extensions["idp.discovery"]  # encoded once in create_app
    return encoded


def encode(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()
