"""Setting up a factor this portal requires and the person does not have (the policy asks it only of someone
with no factor, or after they proved one of theirs); then the recovery codes, shown once, after a first factor."""

from __future__ import annotations

import json

from flask_babel import gettext as _

from idp import clock
from idp.accounts import factors
from idp.errors import InvalidInput
from idp.login.flow import Done, Flow, Retry
from idp.login.policy import Step
from idp.login.state import Enrolment
from idp.runtime import crypto
from idp.security import codes


class EnrolStage:
    name = "enrol"
    template = "login/enrol.html"

    def context(self, flow: Flow, step: Step) -> dict:
        """Steps: choose a kind; start it (sms: the phone number); then the code (or the QR code for an app)."""
        progress, kinds = flow.state.enrolment, list(step.kinds)
        kind = progress.kind or (kinds[0] if len(kinds) == 1 else None)
        factor = factors.pending(flow.user, kind) if kind else None
        context = {"kinds": kinds, "kind": kind, "step": "choose", "label": "", "totp": None}
        if kind is None:
            return context
        context["step"] = "code" if factor is not None and progress.step == "code" else "start"
        if kind == "sms" and context["step"] == "code":
            context["label"] = factors.label(factor)
        elif kind == "email":
            context["label"] = flow.user.email
        elif kind == "totp" and factor is not None:
            context["totp"] = factors.totp_enrolment(flow.user, factors.totp_secret(factor))
            context["step"] = "code"
        return context

    def submit(self, flow: Flow, step: Step, form) -> Done | Retry:
        progress, user, uid = flow.state.enrolment, flow.user, flow.pending.uid
        action = form.get("action") or ""
        kinds = list(step.kinds)
        try:
            if action.startswith("choose:") and action.removeprefix("choose:") in kinds:
                return self._choose(flow, action.removeprefix("choose:"))
            kind = progress.kind or (kinds[0] if len(kinds) == 1 else None)
            if action == "back" or kind is None or kind not in kinds:
                flow.state.enrolment = Enrolment()
                return Retry()
            if action == "phone" and kind == "sms":
                factors.start_sms(user, form.get("phone") or "", flow_uid=uid)
                flow.state.enrolment = Enrolment(kind="sms", step="code")
                return Retry(notice=_("We sent a code to this number."))
            factor = factors.pending(user, kind)
            if factor is None:
                return self._choose(flow, kind)
            if action == "resend" and kind in ("sms", "email"):
                factors.resend(user, factor, flow_uid=uid)
                return Retry(notice=_("We sent you a new code. The previous code no longer works."))
            if not (form.get("code") or "").strip():
                return Retry(_("Enter the code."))
            recovery_codes = factors.confirm(user, factor, form.get("code") or "", flow_uid=uid)
        except (InvalidInput, codes.CodeError) as error:
            return Retry(getattr(error, "message", None) or str(error))
        flow.state.prove(kind, clock.timestamp(clock.now()))
        flow.state.enrolment = Enrolment()
        if recovery_codes:
            flow.state.recovery_codes = crypto().encrypt(json.dumps(recovery_codes))
        return Done()

    def _choose(self, flow: Flow, kind: str) -> Retry:
        user = flow.user
        flow.state.enrolment = Enrolment(kind=kind, step="start")
        if kind == "email":
            factors.start_email(user, flow_uid=flow.pending.uid)
            flow.state.enrolment.step = "code"
            return Retry(notice=_("We sent a code to your e-mail address."))
        if kind == "totp":
            factors.start_totp(user)
            flow.state.enrolment.step = "code"
        return Retry()


class RecoveryCodesStage:
    """Shown once, right after the first factor: the codes for when the phone is lost."""

    name = "recovery_codes"
    template = "login/recovery_codes.html"

    def context(self, flow: Flow, step: Step) -> dict:
        return {"codes": json.loads(crypto().decrypt(flow.state.recovery_codes or ""))}

    def submit(self, flow: Flow, step: Step, form) -> Done | Retry:
        if form.get("action") != "saved":
            return Retry(_("Confirm that you have saved your recovery codes."))
        flow.state.recovery_codes = None
        return Done()
