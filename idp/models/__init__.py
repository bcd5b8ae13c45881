"""SQLAlchemy 2.0 models, one module per aggregate. Importing this package registers them all."""

from idp.models.audit import AuditEvent
from idp.models.client import Client
from idp.models.consent import Consent
from idp.models.delegation import Delegation
from idp.models.device import TrustedDevice
from idp.models.factor import Factor, OneTimeCode, RecoveryCode
from idp.models.key import HashKeyCheck, SigningKey
from idp.models.link import AccountLink
from idp.models.organisation import AdminRole, Organisation
from idp.models.outbox import OutboxMessage
from idp.models.pending import PendingAuthorization
from idp.models.session import SessionClient, SsoSession
from idp.models.token import AuthorizationCode, Token
from idp.models.user import LoginFailure, PasswordHistory, User

__all__ = [
    "AccountLink",
    "AdminRole",
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Consent",
    "Delegation",
    "Factor",
    "HashKeyCheck",
    "LoginFailure",
    "OneTimeCode",
    "Organisation",
    "OutboxMessage",
    "PasswordHistory",
    "PendingAuthorization",
    "RecoveryCode",
    "SessionClient",
    "SigningKey",
    "SsoSession",
    "Token",
    "TrustedDevice",
    "User",
]
