"""Changing a password: the portal's policy decides, the old one joins the history, and what it opened is closed.

A new password ends the person's other SSO sessions (portals are told), revokes their tokens and trusted
browsers, and tells them by e-mail; the session in which they changed it may stay (the account page).
"""

from __future__ import annotations

import secrets

from flask_babel import gettext as _

from idp import clock, sessions
from idp.accounts.factors import account_url
from idp.audit import EventTag, record
from idp.errors import InvalidInput
from idp.extensions import db
from idp.messaging import send
from idp.models import Client, OutboxMessage, SsoSession, User
from idp.portals import profile
from idp.runtime import settings
from idp.security import policy
from idp.security.passwords import hash_password, needs_rehash, verify_password
from idp.sessions import devices
from idp.tokens import revoke_all_for_user


class PasswordRejected(InvalidInput):
    """The new password does not meet the policy: `results` has every rule, `failed` the unmet ones."""
    def __init__(self, results: list[policy.RuleResult]):
        self.results = results
        self.failed = [r for r in results if not r.ok]
        super().__init__("; ".join(str(r.text) for r in self.failed))


def results(user: User, password: str, client: Client | None, *, with_history: bool = True) -> list[policy.RuleResult]:
    """Every rule of the portal's policy for this person's new password (history costs bcrypt work: skip it
    for live feedback; the final check always includes it)."""
    _, rules = policy.policy_for(client)
    history = policy.history_of(user, rules) if with_history else []
    return policy.evaluate(password, rules, email=user.email, username=user.username, name=user.name,
                           history=history)


def falls_short(user: User, password: str, client: Client | None) -> bool:
    """At sign-in: does the password just typed miss the portal's policy (history aside: it is the current one)?"""
    return any(not r.ok for r in results(user, password, client, with_history=False))


def must_change(user: User, client: Client | None) -> str | None:
    """Why this person must choose a new password before going on, if they must: temporary or expired."""
    if user.must_change_password:
        return "temporary"
    _, rules = policy.policy_for(client)
    return "expired" if policy.expired(user, rules) else None


def change_password(user: User, new_password: str, *, client: Client | None = None,
                    keep: SsoSession | None = None, reason: str = "changed",
                    notify: bool = True) -> list[OutboxMessage]:
    """Set the new password (not committed) or raise PasswordRejected; returns the back-channel logouts queued
    for the sessions it ended (send them after the commit)."""
    refuse_without_login(user)
    checked = results(user, new_password, client)
    # With a history the rules already compared the current password; without one, compare it here.
    if all(r.ok for r in checked) and user.password_hash and not policy.policy_for(client)[1].history and \
            verify_password(new_password, user.password_hash, settings().passwords.bcrypt_rounds):
        # Whatever the history setting: a temporary or expired password is not replaced by itself.
        checked.append(policy.RuleResult("current", _("Not your current password"), False))
    if not all(r.ok for r in checked):
        raise PasswordRejected(checked)
    now = clock.now()
    if user.password_hash:
        policy.remember(user, user.password_hash, now)
    user.password_hash = hash_password(new_password, settings().passwords.bcrypt_rounds)
    user.password_changed_at = user.updated_at = now
    user.must_change_password = False
    revoked = revoke_all_for_user(user.id)
    devices.revoke_all(user, reason=f"password {reason}", now=now)
    others = _other_sessions(user, keep)
    ended = [d for s in others for d in sessions.end(s, reason=f"password {reason}")]
    record(EventTag.USER_PASSWORD_CHANGED, user_id=user.id, reason=reason, tokens_revoked=revoked,
           sessions_ended=len(others))
    if notify:  # not for the first password of a new account
        send("email", user.email, "password_changed", user=user, account_url=account_url(),
             sender=profile.sender(client))
    return ended


def _other_sessions(user: User, keep: SsoSession | None) -> list[SsoSession]:
    live = db.session.scalars(
        db.select(SsoSession).where(SsoSession.user_id == user.id, SsoSession.ended_at.is_(None))
    ).all()
    return [s for s in live if keep is None or s.id != keep.id]


_TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def give_temporary_password(user: User, client: Client | None = None) -> None:
    """A generated password (seeds 002 and 004), sent by e-mail and to be replaced at the first sign-in. The
    mail says which portal it is for (`client`), the login name, and where to sign in (seed 004's example).

    Three groups of four from an alphabet without look-alikes (about 70 bits): easy to type from a letter or
    a mail, and never accepted as the new password.
    """
    refuse_without_login(user)
    temporary = "-".join("".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(4)) for _ in range(3))
    user.password_hash = hash_password(temporary, settings().passwords.bcrypt_rounds)
    user.password_changed_at = user.updated_at = clock.now()
    user.must_change_password = True
    devices.revoke_all(user, reason="temporary password")
    record(EventTag.USER_PASSWORD_CHANGED, user_id=user.id, reason="temporary")
    sign_in_url = (profile.of(client).sign_in_url if client is not None else "") or account_url()
    send("email", user.email, "temporary_password", user=user, password=temporary, sign_in_url=sign_in_url,
         login=profile.login_name(client, user), portal=client.display_name if client is not None else None,
         sender=profile.sender(client))


def refuse_without_login(user: User) -> None:
    """An account made without a login of its own (idp/delegation create_principal) never gets a password."""
    if user.no_login:
        raise InvalidInput(f"{user.name or user.sub} has no login of their own: others act for them; "
                           "it cannot get a password")


def tell_locked(user: User, client: Client | None) -> None:
    """Mail the owner that wrong passwords locked the account, and where to ask for help (not committed)."""
    if user.email and user.is_active:  # a disabled account is not theirs to use any more: no news of it
        send("email", user.email, "account_locked", user=user, contact=profile.help_contact(client, user),
             portal=client.display_name if client is not None else "",
             cooldown_minutes=settings().lockout.cooldown_minutes, sender=profile.sender(client))


def check_password(user: User | None, password: str) -> bool:
    """Is this the person's password? An unknown person (None) costs the same time, against a dummy hash; a
    hash of an older bcrypt cost is upgraded now that the password is known (not committed)."""
    rounds = settings().passwords.bcrypt_rounds
    # An account without a login of its own (a child others act for) has no password, and never one that works.
    usable = user.password_hash if user is not None and not user.no_login else None
    if not verify_password(password, usable, rounds) or user is None:
        return False
    if needs_rehash(user.password_hash, rounds):
        user.password_hash = hash_password(password, rounds)
    return True
