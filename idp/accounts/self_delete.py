"""A person deletes their own account (issue 16 part 4), where every portal they use allows it (the portal
profile field `self_delete`, default false).

The sessions end first (each portal hears on its back channel: the logout tokens are made now and sent after
the commit), the tokens are revoked, a last e-mail says it is done, and then the account row goes: the database
removes what hangs from it (factors, recovery codes, devices, sessions, consents, tokens, links, delegations).
The person's earlier mails and SMS in the outbox go as well. The audit trail keeps its rows under the account's
number only, with no name or address.

MERGE NOTE: the CLI's `users erase` (idp/accounts/people.py, built in parallel) erases a person too; at merge
the two should share one erase service, with this module keeping only the policy check and the notice.
"""

from __future__ import annotations

from sqlalchemy import delete

from idp import sessions
from idp.accounts import connected
from idp.audit import EventTag, record
from idp.extensions import db
from idp.messaging import send
from idp.models import OutboxMessage, User
from idp.portals import profile
from idp.tokens import revoke_all_for_user


class NotAllowed(Exception):
    """A portal the person uses does not let people delete their own account (or they use none)."""


def may_delete(user: User) -> bool:
    """Every portal the person is connected to allows it, and there is at least one; never for an account that
    others act for without a login of its own."""
    portals = connected.portals_of(user)
    return bool(portals) and not user.no_login and all(profile.of(c).self_delete for c in portals)


def delete_own_account(user: User) -> list[OutboxMessage]:
    """Delete the account (not committed); returns the queued back-channel logouts. Raises NotAllowed."""
    if not may_delete(user):
        raise NotAllowed()
    ended = sessions.end_all_for_user(user, reason="account deleted by its owner")
    revoked = revoke_all_for_user(user.id)
    # Earlier mails and SMS to the person (codes, links, notices) hold their address or number: gone too. The
    # portals' logout tokens stay until delivered; the last mail below is sent, then only the worker's log.
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user.id,
                                                   OutboxMessage.channel.in_(("email", "sms")))
                       .execution_options(synchronize_session=False))
    send("email", user.email, "account_deleted", user=user)
    record(EventTag.USER_SELF_DELETED, user_id=user.id, tokens_revoked=revoked, sessions_ended=len(ended))
    db.session.flush()
    user_id = user.id
    db.session.expunge(user)
    db.session.execute(delete(User).where(User.id == user_id))
    return ended
