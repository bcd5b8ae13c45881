"""A user's second factors: enrol (start, confirm), remove, recovery codes. For sign-in and the account page.

Every change is audited and tells the user by e-mail; adding or removing a factor also revokes the user's
trusted devices, because what a device stood in for has changed.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update

from idp import clock
from idp.audit import EventTag, record
from idp.extensions import db
from idp.messaging import Sender, send
from idp.models import Factor, RecoveryCode, User
from idp.runtime import crypto, settings
from idp.security import codes, phones, recovery, totp
from idp.sessions import devices


def _enrol_purpose(factor: Factor) -> str:
    """An enrolment code confirms only the factor it was sent for: an e-mail code never confirms a phone."""
    return f"enrol:{factor.kind}"


def confirmed(user: User) -> list[Factor]:
    """The usable factors, the last used first (the default at sign-in)."""
    factors = db.session.scalars(
        select(Factor).where(Factor.user_id == user.id, Factor.confirmed_at.is_not(None))
    ).all()
    return sorted(factors, key=lambda f: (f.last_used_at or f.confirmed_at), reverse=True)


def get(user: User, kind: str) -> Factor | None:
    factor = _row(user, kind)
    return factor if factor is not None and factor.confirmed_at is not None else None


def pending(user: User, kind: str) -> Factor | None:
    """The factor being set up: unconfirmed, or a confirmed SMS factor waiting for its new number's code."""
    factor = _row(user, kind)
    if factor is not None and (factor.confirmed_at is None or factor.replacement_encrypted):
        return factor
    return None


def enrolling_phone(factor: Factor) -> str:
    """The number the current enrolment code goes to: a replacement being confirmed, else the factor's own."""
    if factor.replacement_encrypted:
        return crypto().decrypt(factor.replacement_encrypted)
    return phone(factor)


def _row(user: User, kind: str) -> Factor | None:
    return db.session.scalar(select(Factor).where(Factor.user_id == user.id, Factor.kind == kind))


def phone(factor: Factor) -> str:
    return crypto().decrypt(factor.secret_encrypted)


def destination(factor: Factor) -> str:
    """Where the codes of an SMS or e-mail factor go, as the person may see it (a phone number masked)."""
    if factor.kind == "sms":
        return phones.mask_phone(phone(factor))
    return db.session.get(User, factor.user_id).email


def label(factor: Factor) -> str:
    if factor.kind == "sms":
        return _("SMS to %(phone)s", phone=phones.mask_phone(phone(factor)))
    if factor.kind == "email":
        return _("E-mail to %(address)s", address=db.session.get(User, factor.user_id).email)
    return _("Authenticator app")


def _fresh(user: User, kind: str, secret: str | None) -> Factor:
    """An unconfirmed factor of this kind, replacing an earlier unfinished one (never a confirmed one)."""
    factor = _row(user, kind)
    if factor is not None and factor.confirmed_at is not None:
        raise codes.CodeError(_("You already use this way of signing in."))
    if factor is None:
        factor = Factor(user_id=user.id, kind=kind)
        db.session.add(factor)
    factor.created_at = clock.now()
    factor.secret_encrypted = crypto().encrypt(secret) if secret is not None else None
    factor.totp_last_step = None
    db.session.flush()
    return factor


def _send_code(user: User, factor: Factor, flow_uid: str | None, style: codes.Style = codes.DEFAULT_STYLE,
               sender: Sender | None = None) -> None:

    minutes = max(1, settings().codes.ttl_seconds // 60)
    if factor.kind == "sms":
        number = enrolling_phone(factor)
        issued = codes.issue(user, channel="sms", purpose=_enrol_purpose(factor), destination=number,
                             flow_uid=flow_uid, style=style)
        send("sms", number, "enrol_code", user=user, code=issued.message_text, code_row=issued.row, minutes=minutes,
             sender=sender)
    else:
        issued = codes.issue(user, channel="email", purpose=_enrol_purpose(factor), destination=user.email,
                             flow_uid=flow_uid, style=style)
        send("email", user.email, "enrol_code", user=user, code=issued.message_text, code_row=issued.row,
             minutes=minutes,
             sender=sender)
    record(EventTag.MFA_CODE_SENT, user_id=user.id, factor=factor.kind, purpose="enrol")


def start_sms(user: User, phone_text: str, *, flow_uid: str | None, replace: bool = False,
              style: codes.Style = codes.DEFAULT_STYLE, sender: Sender | None = None) -> Factor:
    """Take the number (any common notation) and send a code to confirm it; `replace` sets a new number for
    a confirmed SMS factor (it stops counting until the new number is confirmed)."""
    number = phones.normalise_phone(phone_text)
    current = get(user, "sms")
    if replace and current is not None:
        current.replacement_encrypted = crypto().encrypt(number)
        db.session.flush()
        _send_code(user, current, flow_uid, style, sender)
        return current
    factor = _fresh(user, "sms", number)
    _send_code(user, factor, flow_uid, style, sender)
    return factor


def start_email(user: User, *, flow_uid: str | None, style: codes.Style = codes.DEFAULT_STYLE,
                sender: Sender | None = None) -> Factor:
    factor = _fresh(user, "email", None)
    _send_code(user, factor, flow_uid, style, sender)
    return factor


def start_totp(user: User) -> tuple[Factor, str]:
    secret = totp.new_secret()
    return _fresh(user, "totp", secret), secret


def totp_enrolment(user: User, secret: str) -> dict:
    """What the enrolment page shows: the QR code, the secret for typing, and the otpauth URI."""
    uri = totp.provisioning_uri(secret, user.email, settings().mfa.totp_issuer)
    return {"svg": totp.qr_svg(uri), "secret": totp.format_secret(secret), "uri": uri}


def totp_secret(factor: Factor) -> str:
    return crypto().decrypt(factor.secret_encrypted)


def live_code(user: User, factor: Factor, *, flow_uid: str | None):
    """The enrolment code now valid for this factor, if any (its prefix is shown again on the page)."""
    return codes.current(user, purpose=_enrol_purpose(factor), flow_uid=flow_uid)


def accept_totp(factor: Factor, submitted: str, now) -> None:
    """Check an app code and record its step atomically: of two requests racing with one code, one wins."""
    step = totp.verify(totp_secret(factor), submitted, factor.totp_last_step, now)
    won = db.session.execute(
        update(Factor)
        .where(Factor.id == factor.id, or_(Factor.totp_last_step.is_(None), Factor.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise totp.TotpReplayed()
    factor.totp_last_step = step


def resend(user: User, factor: Factor, *, flow_uid: str | None, style: codes.Style = codes.DEFAULT_STYLE,
           sender: Sender | None = None) -> None:
    _send_code(user, factor, flow_uid, style, sender)


def confirm(user: User, factor: Factor, submitted: str, *, flow_uid: str | None,
            sender: Sender | None = None) -> list[str] | None:
    """Check the first code; the factor becomes usable (the mail that says so comes from `sender`'s portal).
    Returns new recovery codes for the user's first."""
    now = clock.now()
    if factor.kind == "totp":
        accept_totp(factor, submitted, now)
    else:
        row = codes.verify(user, purpose=_enrol_purpose(factor), flow_uid=flow_uid, submitted=submitted,
                           now=now)
        destination = enrolling_phone(factor) if factor.kind == "sms" else user.email
        if not codes.sent_to(row, factor.kind, destination):  # the number changed after this code was sent
            raise codes.NoCode()
    replaced = bool(factor.replacement_encrypted)
    if replaced:  # the new number is proven: it takes the old one's place
        factor.secret_encrypted, factor.replacement_encrypted = factor.replacement_encrypted, None
    first = not confirmed(user)
    factor.confirmed_at = factor.last_used_at = now
    if factor.kind == "sms":  # a confirmed mobile number is also the phone_number claim
        user.phone_encrypted, user.phone_verified = factor.secret_encrypted, True
    devices.revoke_all(user, reason="factor added", now=now)
    if replaced:  # a new number for SMS codes: the person hears of the change itself
        record(EventTag.USER_PHONE_CHANGED, user_id=user.id)
        _notify(user, "phone_changed", factor=label(factor), sender=sender)
    else:
        record(EventTag.MFA_ENROLLED, user_id=user.id, factor=factor.kind)
        _notify(user, "factor_added", factor=label(factor), sender=sender)
    if first:
        return recovery.generate(user, now)
    return None


def remove(user: User, factor: Factor) -> None:
    kind, text = factor.kind, label(factor)
    db.session.delete(factor)
    if not any(f.id != factor.id for f in confirmed(user)):
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record(EventTag.MFA_REMOVED, user_id=user.id, factor=kind)
    devices.revoke_all(user, reason="factor removed")
    _notify(user, "factor_removed", factor=text)


def new_recovery_codes(user: User) -> list[str]:
    fresh = recovery.generate(user)
    record(EventTag.MFA_RECOVERY_CODES_CREATED, user_id=user.id)
    _notify(user, "recovery_codes_created")
    return fresh


def _notify(user: User, template: str, sender: Sender | None = None, **context) -> None:

    send("email", user.email, template, user=user, account_url=account_url(), sender=sender, **context)


def account_url() -> str:
    """The account page by its public address: messages are also written outside requests (CLI)."""
    return settings().issuer + "/account"


def add_confirmed(user: User, kind: str, *, phone_number: str | None = None,
                  secret: str | None = None) -> Factor:
    """A factor set up by an administrator or the demo, without a code round trip (audited as such)."""
    if kind == "sms":
        value = phones.normalise_phone(phone_number or "")
    elif kind == "totp":
        value = secret or totp.new_secret()
    else:
        value = None
    factor = _fresh(user, kind, value)
    factor.confirmed_at = clock.now()
    if kind == "sms":
        user.phone_encrypted, user.phone_verified = factor.secret_encrypted, True
    record(EventTag.MFA_ENROLLED, user_id=user.id, factor=kind, by="admin")
    return factor
