"""A portal built on idpyoidc (the IdentityPython OIDC library), configured as its docs describe.

idpyoidc discovers the provider, sends code+PKCE(S256) requests, checks the authorization response,
exchanges the code, verifies the ID token against the JWKS (signature, iss, aud, nonce, at_hash), calls
userinfo, refreshes and builds the end-session request. It is a second opinion next to StrictRP.
"""

from __future__ import annotations

from idpyoidc.client.rp_handler import RPHandler

from tests.conformance.live import Portal

SCOPE = "openid profile email phone offline_access"
_SERVICES = {
    name: {"class": f"idpyoidc.client.oidc.{module}"}
    for name, module in {
        "discovery": "provider_info_discovery.ProviderInfoDiscovery",
        "authorization": "authorization.Authorization",
        "access_token": "access_token.AccessToken",
        "refresh_access_token": "refresh_access_token.RefreshAccessToken",
        "userinfo": "userinfo.UserInfo",
        "end_session": "end_session.EndSession",
    }.items()
}


class IdpyPortal:
    """One portal's RP handler; `state` keys idpyoidc's record of each sign-in."""

    def __init__(self, issuer: str, portal: Portal, auth_method: str = "client_secret_basic") -> None:
        self.issuer = issuer
        self.portal = portal
        config = {
            "issuer": issuer,
            "client_id": portal.client_id,
            "client_secret": portal.secret,
            "redirect_uris": [portal.redirect_uri],
            "post_logout_redirect_uris": [portal.post_logout_redirect_uri],
            "client_type": "oidc",
            "client_authn_methods": ["client_secret_basic", "client_secret_post"],
            "preference": {
                "response_types": ["code"],
                "token_endpoint_auth_method": auth_method,
                "id_token_signed_response_alg": portal.id_token_alg,
            },
            "add_ons": {
                "pkce": {
                    "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                    "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
                }
            },
            "services": _SERVICES,
        }
        # Keys in memory only: idpyoidc's default key_conf writes private/ and static/ into the cwd.
        self.handler = RPHandler(base_url=portal.redirect_uri.rsplit("/", 1)[0],
                                 client_configs={issuer: config},
                                 key_conf={"key_defs": [{"type": "EC", "crv": "P-256", "use": ["sig"]}]})

    def begin(self, **req_args: str) -> str:
        """Discovery (first time), then the authorization URL the portal sends the person to."""
        return self.handler.begin(issuer_id=self.issuer, req_args={"scope": SCOPE, **req_args})

    def finalize(self, callback_params: dict) -> dict:
        """The callback: check it, exchange the code, verify the ID token, fetch userinfo."""
        return self.handler.finalize(self.issuer, callback_params)

    def refresh(self, state: str):
        return self.handler.refresh_access_token(state)

    def logout_url(self, state: str) -> str:
        info = self.handler.logout(state, post_logout_redirect_uri=self.portal.post_logout_redirect_uri)
        return info["url"]

    def request_of(self, state: str) -> dict:
        """The authorization request idpyoidc sent for this sign-in (nonce, PKCE challenge, …)."""
        from idpyoidc.message.oidc import AuthorizationRequest

        client = self.handler.issuer2rp[self.issuer]
        return client.get_context().cstate.get_set(state, message=AuthorizationRequest).to_dict()
