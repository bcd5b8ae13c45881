"""The second factor: a code by SMS or e-mail, an authenticator-app code, or a recovery code.

The last used factor is the default; "use another way" switches. A valid trusted-device cookie that this
portal honours stands in for the second factor (never for the password).
"""

from __future__ import annotations

from flask_babel import gettext as _

from idp import clock
from idp.accounts import factors
from idp.audit import EventTag, record
from idp.login.flow import Done, Flow, Retry
from idp.login.policy import Step
from idp.messaging import send
from idp.portals import profile
from idp.runtime import settings
from idp.security import codes, recovery
from idp.sessions import assurance, devices

# Reasons /authorize parks a sign-in for that make a second factor a step-up of an existing session.
STEP_UP_REASONS = ("mfa", "mfa_every_sign_in", "mfa_enrol", "prove_before_enrol")


def _purpose(kind: str) -> str:
    """Codes per channel: switching from e-mail to SMS is not held up by the e-mail's resend cooldown."""
    return f"sign_in:{kind}"


class SecondFactorStage:
    name = "second_factor"
    template = "login/second_factor.html"

    def _kind(self, flow: Flow, step: Step) -> str:
        chosen = flow.state.factor
        if chosen in step.kinds or (chosen == "recovery" and recovery.remaining(flow.user)):
            return chosen
        return step.kinds[0]

    def prepare(self, flow: Flow, step: Step) -> str | None:
        """Send the first code of an SMS or e-mail factor when the page first shows; returns an error to show."""
        kind = self._kind(flow, step)
        if kind not in ("sms", "email") or kind in flow.state.sent:
            return None
        flow.state.sent.append(kind)
        try:
            self._send(flow, kind)
        except codes.CodeError as error:
            return error.message
        return None

    def _send(self, flow: Flow, kind: str) -> None:
        user, minutes = flow.user, max(1, settings().codes.ttl_seconds // 60)
        sender = profile.sender(flow.client)  # the portal's organisation names the code, in its form of address
        organisation = profile.organisation_name(flow.client)
        if kind == "sms":
            number = factors.phone(factors.get(user, "sms"))
            issued = codes.issue(user, channel="sms", purpose=_purpose(kind), destination=number,
                                 flow_uid=flow.pending.uid, style=profile.code_style(flow.client))
            send("sms", number, "login_code", user=user, code=issued.message_text, code_row=issued.row,
                 minutes=minutes, portal=organisation, sender=sender)
        else:
            issued = codes.issue(user, channel="email", purpose=_purpose(kind), destination=user.email,
                                 flow_uid=flow.pending.uid, style=profile.code_style(flow.client))
            send("email", user.email, "login_code", user=user, code=issued.message_text, code_row=issued.row,
                 minutes=minutes, portal=organisation, change_password_url=factors.account_url(), sender=sender)
        record(EventTag.MFA_CODE_SENT, user_id=user.id, client_id=flow.client.client_id, factor=kind)

    def context(self, flow: Flow, step: Step) -> dict:
        kind, user = self._kind(flow, step), flow.user
        others = [k for k in step.kinds if k != kind]
        if kind != "recovery" and recovery.remaining(user):
            others.append("recovery")
        code = None
        if kind in ("sms", "email"):
            code = codes.current(user, purpose=_purpose(kind), flow_uid=flow.pending.uid)
        return {
            "kind": kind,
            "destination": factors.destination(factors.get(user, kind)) if kind in ("sms", "email") else "",
            "others": others,
            "prefix": code.prefix if code is not None else None,
            # A portal that asks a code at every sign-in has no use for a trusted browser: not offered there.
            "trust_days": 0 if flow.client.mfa == "every" else flow.client.trusted_device_days,
            "before_enrolment": step.reason == "prove_before_enrol",
            # "No code received?": the person is known here, so the contact for their role (seed 002: the EVV'er)
            "help": profile.help_contact(flow.client, user) if kind in ("sms", "email") else "",
            "cooldown": codes.cooldown_left(user, purpose=_purpose(kind), flow_uid=flow.pending.uid)
            if kind in ("sms", "email") else 0,
        }

    def submit(self, flow: Flow, step: Step, form) -> Done | Retry:
        action = form.get("action") or "verify"
        if action.startswith("use:"):
            flow.state.factor = action.removeprefix("use:")[:20]
            return Retry()
        kind = self._kind(flow, step)
        if action == "resend" and kind in ("sms", "email"):
            try:
                self._send(flow, kind)
            except codes.CodeError as error:
                return Retry(error.message)
            return Retry(notice=_("We sent you a new code. The previous code no longer works."))
        return self._verify(flow, step, kind, form.get("code") or "", bool(form.get("trust")))

    def _verify(self, flow: Flow, step: Step, kind: str, submitted: str, trust: bool) -> Done | Retry:
        user, now = flow.user, clock.now()
        if not submitted.strip():
            return Retry(_("Enter the code."))
        factor = factors.get(user, kind) if kind != "recovery" else None
        try:
            if kind == "recovery":
                if not recovery.use(user, submitted, now):
                    raise codes.CodeError(_("This recovery code is not valid or was used before."))
            elif kind == "totp":
                factors.accept_totp(factor, submitted, now)
            else:
                codes.verify(user, purpose=_purpose(kind), flow_uid=flow.pending.uid, submitted=submitted, now=now)
        except codes.CodeError as error:
            record(EventTag.MFA_CODE_REJECTED, outcome="failure", user_id=user.id,
                   client_id=flow.client.client_id, factor=kind, reason=type(error).__name__)
            return Retry(error.message)
        if factor is not None:
            factor.last_used_at = now
        flow.state.prove(kind, clock.timestamp(now))
        record(EventTag.MFA_CODE_ACCEPTED, user_id=user.id, client_id=flow.client.client_id, factor=kind)
        if flow.pending.reason in STEP_UP_REASONS or assurance.wants_mfa_level(flow.params):
            record(EventTag.MFA_STEP_UP, user_id=user.id, client_id=flow.client.client_id, factor=kind)
        if kind == "recovery":
            left = recovery.remaining(user)
            record(EventTag.MFA_RECOVERY_CODE_USED, user_id=user.id, client_id=flow.client.client_id, remaining=left)
            send("email", user.email, "recovery_code_used", user=user, remaining=left,
                 account_url=factors.account_url(), sender=profile.sender(flow.client))
        if trust and flow.client.trusted_device_days > 0 and flow.client.mfa != "every":
            flow.state.trust_days = flow.client.trusted_device_days
        return Done()


class TrustedDeviceStage:
    """A trusted browser of this person, within this portal's days, stands in for the second factor."""

    name = "trusted_device"

    def run(self, flow: Flow, step: Step) -> None:
        device = devices.find(flow.user, flow.device_token, user_agent=flow.user_agent)
        if device is None:  # revoked between the policy's look and now: the policy asks for a code next
            return
        devices.touch(device)
        flow.state.prove("device", clock.timestamp(clock.now()))
        record(EventTag.MFA_DEVICE_USED, user_id=flow.user.id, client_id=flow.client.client_id, device=device.id)
