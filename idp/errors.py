"""Domain exceptions, raised by domain modules; the CLI turns them into one line and exit code 2."""


class IdpError(Exception):
    """Base of all domain errors."""


class InvalidInput(IdpError):
    """Input that cannot be used; the message says why, in one line."""


class NotFound(IdpError):
    """The thing asked for does not exist."""


