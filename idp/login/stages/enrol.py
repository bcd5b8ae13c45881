"""Enrolment of a first second factor, inserted when a portal requires one the user does not have; then the
recovery codes, shown once."""

from __future__ import annotations

import json

from flask_babel import gettext as _

from idp import clock
from idp.accounts import factors
from idp.errors import InvalidInput
from idp.login import assurance
from idp.login.flow import Done, Flow, Retry
from idp.runtime import crypto
from idp.security import codes


class EnrolStage:
    name = "enrol"
    template = "login/enrol.html"

    def needed(self, flow: Flow) -> bool:
        if flow.user is None or flow.state.get("session_mfa") or assurance.second_factor_proven(flow.proven):
            return False
        return assurance.needs_enrolment(flow.client, flow.user, flow.params)

    def _state(self, flow: Flow) -> dict:
        return flow.state.setdefault("enrol", {})

    def context(self, flow: Flow) -> dict:
        """Steps: choose a kind; start it (sms: the phone number); then the code (or the QR code for an app)."""
        state, kinds = self._state(flow), assurance.allowed_kinds(flow.client)
        kind = state.get("kind") or (kinds[0] if len(kinds) == 1 else None)
        factor = factors.pending(flow.user, kind) if kind else None
        context = {"kinds": kinds, "kind": kind, "step": "choose", "label": "", "totp": None}
        if kind is None:
            return context
        context["step"] = "code" if factor is not None and state.get("step") == "code" else "start"
        if kind == "sms" and context["step"] == "code":
            context["label"] = factors.label(factor)
        elif kind == "email":
            context["label"] = flow.user.email
        elif kind == "totp" and factor is not None:
            context["totp"] = factors.totp_enrolment(flow.user, factors.totp_secret(factor))
            context["step"] = "code"
        return context

    def submit(self, flow: Flow, form) -> Done | Retry:
        state, user, uid = self._state(flow), flow.user, flow.pending.uid
        action = form.get("action") or ""
        kinds = assurance.allowed_kinds(flow.client)
        try:
            if action.startswith("choose:") and action.removeprefix("choose:") in kinds:
                return self._choose(flow, action.removeprefix("choose:"))
            kind = state.get("kind") or (kinds[0] if len(kinds) == 1 else None)
            if action == "back" or kind is None:
                flow.state["enrol"] = {}
                return Retry()
            if action == "phone" and kind == "sms":
                factors.start_sms(user, form.get("phone") or "", flow_uid=uid)
                state.update(kind="sms", step="code")
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
        flow.proven[kind] = clock.timestamp(clock.now())
        flow.state["fresh"] = True
        flow.state.pop("enrol", None)
        if recovery_codes:
            flow.state["recovery_codes"] = crypto().encrypt(json.dumps(recovery_codes))
        return Done()

    def _choose(self, flow: Flow, kind: str) -> Retry:
        user = flow.user
        flow.state["enrol"] = {"kind": kind, "step": "start"}
        if kind == "email":
            factors.start_email(user, flow_uid=flow.pending.uid)
            flow.state["enrol"]["step"] = "code"
            return Retry(notice=_("We sent a code to your e-mail address."))
        if kind == "totp":
            factors.start_totp(user)
            flow.state["enrol"]["step"] = "code"
        return Retry()


class RecoveryCodesStage:
    """Shown once, right after the first factor: the codes for when the phone is lost."""

    name = "recovery_codes"
    template = "login/recovery_codes.html"

    def needed(self, flow: Flow) -> bool:
        return "recovery_codes" in flow.state

    def context(self, flow: Flow) -> dict:
        return {"codes": json.loads(crypto().decrypt(flow.state["recovery_codes"]))}

    def submit(self, flow: Flow, form) -> Done | Retry:
        if form.get("action") != "saved":
            return Retry(_("Confirm that you have saved your recovery codes."))
        flow.state.pop("recovery_codes", None)
        return Done()
