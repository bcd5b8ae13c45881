"""Setting up a factor this portal requires and the person does not have (the policy asks it only of someone
with no factor, or after they proved one of theirs); then the recovery codes, shown once, after a first factor."""

from __future__ import annotations

import json

from flask_babel import gettext as _

from idp import clock
from idp.accounts import confirmation, factors
from idp.login.flow import Done, Flow, Retry
from idp.login.policy import Step
from idp.login.state import Enrolment
from idp.portals import profile
from idp.runtime import crypto
from idp.security import codes


class EnrolStage:
    """Choose a kind; SMS and e-mail are then confirmed with a code (idp/accounts/confirmation.py), an app by
    scanning its QR code and typing what it shows."""

    name = "enrol"
    template = "login/enrol.html"

    def context(self, flow: Flow, step: Step) -> dict:
        progress, kinds = flow.state.enrolment, list(step.kinds)
        kind = progress.kind or (kinds[0] if len(kinds) == 1 else None)
        context: dict = {"kinds": kinds, "kind": kind, "step": "choose", "page": None, "totp": None,
                         "address": flow.user.email, "reason": step.reason}
        if kind is None:
            return context
        context["step"] = "start"
        if kind == "totp":
            factor = factors.pending(flow.user, kind)
            if factor is not None:
                context["totp"] = factors.totp_enrolment(flow.user, factors.totp_secret(factor))
                context["step"] = "code"
        elif progress.step == "code":
            context["page"] = _confirmation(flow, kind, step).page()
            context["step"] = "code" if context["page"] is not None else "start"
        return context

    def submit(self, flow: Flow, step: Step, form) -> Done | Retry:
        progress, kinds = flow.state.enrolment, list(step.kinds)
        action = form.get("action") or ""
        if action.startswith("choose:") and action.removeprefix("choose:") in kinds:
            return self._choose(flow, step, action.removeprefix("choose:"))
        kind = progress.kind or (kinds[0] if len(kinds) == 1 else None)
        if action == "back" or kind is None or kind not in kinds:
            flow.state.enrolment = Enrolment()
            return Retry()
        if kind == "totp":
            return self._totp(flow, step, form)
        outcome = _confirmation(flow, kind, step).step(action, form)
        if outcome.page != confirmation.CONFIRMED:
            flow.state.enrolment = Enrolment(kind=kind, step=outcome.page)
            return Retry(outcome.error or "", notice=outcome.notice or "")
        return self._enrolled(flow, kind, outcome.recovery_codes)

    def _choose(self, flow: Flow, step: Step, kind: str) -> Retry:
        flow.state.enrolment = Enrolment(kind=kind, step="start")
        if kind == "email":  # the address is known: the first code goes out at once
            outcome = _confirmation(flow, kind, step).step(confirmation.SEND, {})
            flow.state.enrolment.step = outcome.page
            return Retry(outcome.error or "")
        if kind == "totp":
            factors.start_totp(flow.user)
            flow.state.enrolment.step = "code"
        return Retry()

    def _totp(self, flow: Flow, step: Step, form) -> Done | Retry:
        factor = factors.pending(flow.user, "totp")
        if factor is None:
            return self._choose(flow, step, "totp")
        if not (form.get("code") or "").strip():
            return Retry(_("Enter the code."))
        try:
            recovery_codes = factors.confirm(flow.user, factor, form.get("code") or "", flow_uid=None,
                                             sender=profile.sender(flow.client))
        except codes.CodeError as error:
            return Retry(error.message)
        return self._enrolled(flow, "totp", recovery_codes)

    def _enrolled(self, flow: Flow, kind: str, recovery_codes: list[str] | None) -> Done:
        flow.state.prove(kind, clock.timestamp(clock.now()))
        flow.state.enrolment = Enrolment()
        if recovery_codes:
            flow.state.recovery_codes = crypto().encrypt(json.dumps(recovery_codes))
        return Done()


def _confirmation(flow: Flow, kind: str, step: Step) -> confirmation.Confirmation:
    """Codes of an enrolment are bound to this sign-in; after a recovery code at an SMS-only portal the new
    number replaces the lost phone's once its code is typed."""
    return confirmation.Confirmation(flow.user, kind, flow_uid=flow.pending.uid,
                                     replace=step.reason == "replace_phone",
                                     style=profile.code_style(flow.client),
                                     sender=profile.sender(flow.client))


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
