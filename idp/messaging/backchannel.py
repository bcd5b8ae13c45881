"""Back-channel logout (OIDC Back-Channel Logout 1.0): a channel of the delivery queue (queue.py).

A logout queues a signed logout token for every portal of the session that listens on a back channel; its
recipient is the portal, its body the token. Once the logout commits, a thread POSTs the tokens (the first
logout.backchannel_attempts_at_once attempts, seconds apart); `idp worker` makes the later retries, the waits
doubling over hours (logout.backchannel_*), and delivers what a restarted server left. A logout that is still
refused after its last attempt is dead: `idp messages dead` and the console's messages page list it by its
portal, and either sends it again.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import requests
from joserfc import jws

from idp import clock
from idp.audit import EventTag
from idp.extensions import db
from idp.messaging import queue
from idp.messaging.transports import TransportError
from idp.models import Client, OutboxMessage, SessionClient, SsoSession
from idp.runtime import crypto, keyring, settings
from idp.settings import Settings

CHANNEL = "backchannel"
EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_TYPE = "logout+jwt"
_TOKEN_SECONDS = 120


def logout_token(client: Client, session: SsoSession, sub: str | None = None) -> str:
    """The logout token for one portal: the same sid as its ID tokens, never a nonce (§2.4); `sub`: the subject
    that portal's ID tokens named (default: the person of the session)."""
    now = clock.timestamp(clock.now())
    claims = {
        "iss": settings().issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + _TOKEN_SECONDS,
        "jti": secrets.token_urlsafe(16),
        "sub": sub or session.user.sub,
        "sid": session.sid,
        "events": {EVENT: {}},
    }
    return keyring().sign(claims, client.id_token_alg, typ=TOKEN_TYPE)


def queue_backchannel(session: SsoSession) -> list[OutboxMessage]:
    """Queue a logout token for every portal that took part in the session and listens on a back channel.

    They are POSTed once the caller commits (idp/after_commit.py); a rollback sends nothing.
    """
    queued = [message for participant in session.clients if (message := queue_for(participant)) is not None]
    db.session.flush()
    return queued


def queue_for(participant: SessionClient) -> OutboxMessage | None:
    """Queue the logout token for one portal's part in a session (None: it does not listen on a back channel).

    Its `sub` is the one that portal's ID tokens in the session carry (§2.4: "as in the ID token"): under a
    delegation the principal's, not the signed-in person's, or a portal that finds its session by iss and sub
    (§2.7; idpyoidc does) would log out nobody, or the wrong person."""
    client, session = participant.client, participant.session
    if client is None or not client.backchannel_logout_uri:
        return None
    sub = participant.delegation.principal.sub if participant.delegation is not None else session.user.sub
    return queue.enqueue(CHANNEL, client.client_id, logout_token(client, session, sub), template="logout",
                         user_id=session.user_id, client_id=client.id)


def _claims_of(token: str) -> dict:
    # Our own token, read back (its signature is ours) to refresh it or to say which session it was about.
    return json.loads(jws.extract_compact(token.encode()).payload)


def _fresh(message: OutboxMessage) -> str:
    """The token to send now: a retry long after the logout gets a new iat/exp/jti, or the portal would
    rightly refuse it as expired (§2.6), and the delivery could never succeed."""
    token = queue.read(message)[2]
    claims = _claims_of(token)
    now = clock.timestamp(clock.now())
    if claims.get("exp", 0) - now >= _TOKEN_SECONDS // 2:
        return token
    claims.update(iat=now, exp=now + _TOKEN_SECONDS, jti=secrets.token_urlsafe(16))
    token = keyring().sign(claims, message.client.id_token_alg, typ=TOKEN_TYPE)
    message.body_encrypted = crypto().encrypt(token)
    return token


def _prepare(message: OutboxMessage) -> tuple[str, str]:
    """(the portal's back-channel URI now, the token to POST)."""
    client = message.client
    if client is None or not client.backchannel_logout_uri:
        raise TransportError("no back-channel URI")
    return client.backchannel_logout_uri, _fresh(message)


def _post(target: tuple[str, str]) -> None:
    """POST the token form-encoded (§2.5); any 2xx is success, a redirect is not followed."""
    uri, token = target
    try:
        response = requests.post(uri, data={"logout_token": token},
                                 timeout=settings().logout.backchannel_timeout_seconds, allow_redirects=False)
    except requests.RequestException as exc:
        raise TransportError(type(exc).__name__) from None
    if not 200 <= response.status_code < 300:
        raise TransportError(f"HTTP {response.status_code}")


def _schedule(cfg: Settings, message: OutboxMessage | None = None) -> queue.Schedule:
    logout = cfg.logout
    return queue.Schedule(attempts=logout.backchannel_attempts,
                          first_retry_seconds=logout.backchannel_retry_seconds,
                          lease_seconds=2 * logout.backchannel_timeout_seconds + 1,
                          at_once=True, at_once_attempts=logout.backchannel_attempts_at_once)


def _audit(message: OutboxMessage) -> dict[str, Any]:
    token = queue.read(message)[2]
    return {"client_id": message.client.client_id if message.client else None, "user_id": message.user_id,
            "message_id": message.id, "attempts": message.attempts,
            "sid": _claims_of(token).get("sid") if token else None}


queue.register(queue.Channel(name=CHANNEL, schedule=_schedule, prepare=_prepare, send=_post,
                             sent=EventTag.BACKCHANNEL_LOGOUT_SENT, dead=EventTag.BACKCHANNEL_LOGOUT_FAILED,
                             audit=_audit))
