"""Domain exceptions. Views map them to pages or OAuth errors in one place (idp/web.py)."""


class IdpError(Exception):
    """Base of all domain errors."""


class InvalidInput(IdpError):
    """Input that cannot be used; the message says why, in one line."""


class NotFound(IdpError):
    """The thing asked for does not exist."""


class InvalidCredentials(IdpError):
    """Unknown user or wrong password: deliberately one error for both."""


class AccountDisabled(IdpError):
    """The account exists but may not sign in."""
