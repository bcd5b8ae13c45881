from __future__ import annotations

from datetime import datetime

from authlib.oauth2.rfc6749 import ClientMixin, list_to_scope, scope_to_list
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.organisation import Organisation
from idp.models.types import UTCDateTime
from idp.runtime import crypto

ACCOUNT_CLIENT_ID = "idp-account"  # the provider's own account pages, a client of itself (idp/accounts/entry.py)
ADMIN_CLIENT_ID = "idp-admin"  # the admin console, a client of its own: a code at every sign-in, no trusted browser
BUILTIN_CLIENT_IDS = (ACCOUNT_CLIENT_ID, ADMIN_CLIENT_ID)


# The scopes every portal may ask; what each gives is its profile's to decide (the `delegates` claim of the
# delegations scope only where it offers delegation).
PORTAL_SCOPE = "openid profile email phone roles org delegations offline_access"


class Client(db.Model, ClientMixin):
    """A portal (or service) registered to use the provider."""
    __tablename__ = "client"

    @property
    def display_name(self) -> str:
        """The name people read: the registered name, or the built-in clients' names in their language."""
        if self.client_id == ACCOUNT_CLIENT_ID:
            return str(_l("My account"))
        if self.client_id == ADMIN_CLIENT_ID:
            return str(_l("Administration"))
        return self.name

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(1000))
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(String(500), default=PORTAL_SCOPE)
    first_party: Mapped[bool] = mapped_column(default=False)
    public: Mapped[bool] = mapped_column(default=False)
    id_token_alg: Mapped[str] = mapped_column(String(10), default="RS256")
    # "opaque" (a random string with a row of its own) or "jwt" (RFC 9068: signed, validated without asking us).
    access_token_format: Mapped[str] = mapped_column(String(10), default="opaque", server_default="opaque")
    # Second factors: required | optional (asked of those who have one) | off; which kinds; how long a
    # trusted browser may skip the second factor here (0: never).
    mfa: Mapped[str] = mapped_column(String(10), default="optional", server_default="optional")
    mfa_factors: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["sms", "email", "totp"],
                                                  server_default='["sms", "email", "totp"]')
    trusted_device_days: Mapped[int] = mapped_column(default=7, server_default="7")
    # Passwords: the named policy (settings [password_policies]); None: passwords.default_policy.
    password_policy: Mapped[str | None] = mapped_column(String(50))
    # Where a locked-out person asks for help (shown on the page); None: lockout.help_contact.
    help_contact: Mapped[str | None] = mapped_column(String(300))
    # Only accounts with an e-mail address at one of these domains may sign in here (business portals).
    email_domains: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # People may create their own account from this portal's sign-in page (seed 000: end users).
    registration: Mapped[bool] = mapped_column(default=False, server_default=false())
    # PKCE (S256) at every authorization request (RFC 9700 §2.1.1); False only for a legacy confidential
    # portal that an admin exempted on purpose (`idp clients update --without-pkce`).
    pkce_required: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The sign-in profile fields this portal sets itself (idp/portals/profile.py); the rest are the defaults.
    profile: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # The config file that declares this portal ([[portals]]; idp/portals/declared.py): only that file changes it
    # (`idp clients sync`). None: registered with `idp clients add`.
    declared_in: Mapped[str | None] = mapped_column(String(1000))
    # A service client granted the `scim` scope (idp/scim) manages only this organisation's members; None: everyone.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Disabled by an admin (idp.portals.registry.disable): its authorization requests get unauthorized_client, its
    # token, revocation and introspection requests invalid_client, its tokens are no longer active. None: active.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # --- Authlib ClientMixin -------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only an unambiguous registration may be used without naming it.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str) -> str:
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return not self.public and crypto().matches(client_secret, self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # A disabled portal authenticates nowhere: invalid_client at the token, revocation and introspection
        # endpoints (RFC 6749 §5.2).
        if self.disabled_at is not None:
            return False
        if self.public:
            return method == "none"
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        # A disabled portal may not ask for a code: unauthorized_client, sent to its redirect URI (RFC 6749 §4.1.2.1).
        if self.disabled_at is not None:
            return False
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    @property
    def token_endpoint_auth_method(self) -> str:
        return "none" if self.public else "client_secret_basic"

    @property
    def id_token_signed_response_alg(self) -> str:
        return self.id_token_alg

    @property
    def client_metadata(self) -> dict:
        return {
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "id_token_signed_response_alg": self.id_token_alg,
        }
