"""A new password, taken the one way every page takes it: at sign-in (temporary, expired or too weak), on the
account page, through a reset link, at activation and at registration.

The form has the password twice. The page lists the portal's rules (`page_rules`), ticked off while the person
types by a live endpoint that checks what `typed` sent by the same rules the save applies. `take` checks the
two fields and saves through the caller's function in a savepoint, so a refused password changes nothing and
says which rules it misses. The pages around it differ (what authorises them, what comes next); this does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from flask_babel import gettext as _

from idp.accounts.passwords import PasswordRejected, check_password
from idp.extensions import db
from idp.models import Client, User
from idp.security import policy

MAX_LENGTH = 1024  # longer input is cut here, before any hashing (bcrypt reads 72 bytes; the rest is work)
T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """Why the new password was not saved; `results` marks each rule met or not (after the rules were checked)."""

    error: str
    results: list[policy.RuleResult] | None = None


def take(form: Mapping[str, str], save: Callable[[str], T]) -> T | Refusal:
    """The new password from the form (`new_password`, `confirm_password`), saved by `save` when both agree
    and it meets the rules (not committed); else a Refusal, with nothing changed."""
    new = (form.get("new_password") or "")[:MAX_LENGTH]
    if not new:
        return Refusal(_("Choose a new password."))
    if new != (form.get("confirm_password") or "")[:MAX_LENGTH]:
        return Refusal(_("The two passwords are not the same. Type the new password twice."))
    try:
        with db.session.begin_nested():
            return save(new)
    except PasswordRejected as rejected:
        return Refusal(_("The new password does not meet every rule yet: %(rules)s",
                         rules="; ".join(str(r.text) for r in rejected.failed)), rejected.results)


def already_saved(user: User, form: Mapping[str, str]) -> bool:
    """The form sent again after its new password was saved (the answer to the first was lost): both fields hold
    the password the account has now. Asked only after the current password was checked (and counted) as wrong,
    so it tells nothing the current-password field would not."""
    new = (form.get("new_password") or "")[:MAX_LENGTH]
    return bool(new) and new == (form.get("confirm_password") or "")[:MAX_LENGTH] and check_password(user, new)


def page_rules(client: Client | None) -> list[policy.Rule]:
    """The rules the page lists: the portal's policy, else the deployment's default."""
    _name, rules = policy.policy_for(client)
    return policy.rules(rules)


def typed(form: Mapping[str, str]) -> str:
    """What the live endpoint was sent to check."""
    return (form.get("password") or "")[:MAX_LENGTH]
