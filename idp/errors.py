"""Domain exceptions, raised by domain modules; the CLI turns them into one line and exit code 2.

A UserFacingError is what a person sees: raised anywhere below the views, rendered by one handler
(idp/web/site.py). A form that can go on shows its `message` beside the field instead.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l


class IdpError(Exception):
    """Base of all domain errors."""


class InvalidInput(IdpError):
    """Input that cannot be used; the message says why, in one line."""


class Taken(InvalidInput):
    """A value that must be unique (an e-mail address, a username) belongs to someone else already."""


class NotFound(IdpError):
    """The thing asked for does not exist."""


class NotAllowed(IdpError):
    """An admin may not do this (to this person): idp.accounts.admins' rule said no. The admin console answers
    403 (idp/web/admin.py's handler); for people the admin may not even see it answers 404 before asking."""


class UserFacingError(IdpError):
    """An error with a page for the person: what went wrong (`message`, a message id translated when shown), the
    HTTP status, the page that explains it (a flow's own page says what to do next), and whether the page says
    where to get help (the portal's help contact, else the deployment's). `context` goes to the page as is.

    The message is the class's unless one is given; a subclass sets `message`, `status`, `page`, `help`.
    """

    message: Any = _l("Something went wrong")
    status: ClassVar[int] = 400
    page: str = "errors/error.html"
    help: ClassVar[bool] = False

    def __init__(self, message: Any = None, *, page: str | None = None, client: Any = None, **context: Any):
        if message is not None:
            self.message = message
        if page is not None:
            self.page = page
        self.client = client  # the portal the person came from: its help contact, later its branding
        self.context = context
        super().__init__(*([message] if message is not None else []))

    def __str__(self) -> str:
        return str(self.message)
