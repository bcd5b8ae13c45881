"""A new password before going on: a temporary one, one that has expired, or one this portal's policy refuses."""

from __future__ import annotations

from flask_babel import gettext as _

from idp.accounts import passwords
from idp.login.flow import Done, Flow, Retry
from idp.security import policy


class ChangePasswordStage:
    name = "change_password"
    template = "login/change_password.html"

    def needed(self, flow: Flow) -> bool:
        # Only right after the password was typed in this sign-in (a step-up carries no typed password).
        if flow.user is None or flow.state.get("password_changed") or not flow.state.get("password_typed"):
            return False
        return bool(self._reason(flow))

    def _reason(self, flow: Flow) -> str | None:
        # "weak" is decided by the password stage, the only place the typed password is known.
        return passwords.must_change(flow.user, flow.client) or ("weak" if flow.state.get("password_weak") else None)

    def context(self, flow: Flow) -> dict:
        _, rules = policy.policy_for(flow.client)
        return {"reason": self._reason(flow), "rules": policy.rules(rules),
                "results": flow.state.pop("password_results", None)}

    def submit(self, flow: Flow, form) -> Done | Retry:
        new, again = form.get("new_password") or "", form.get("confirm_password") or ""
        if not new:
            return Retry(_("Choose a new password."))
        if new != again:
            return Retry(_("The two passwords are not the same. Type the new password twice."))
        try:
            ended = passwords.change_password(flow.user, new, client=flow.client, reason="changed at sign-in")
        except passwords.PasswordRejected as rejected:
            flow.state["password_results"] = [{"id": r.id, "ok": r.ok} for r in rejected.results]
            return Retry(_("The new password does not meet every rule yet: %(rules)s",
                           rules="; ".join(str(r.text) for r in rejected.failed)))
        flow.state["password_changed"] = True
        flow.state.pop("password_weak", None)
        # The other sessions' portals are told once this commits (idp/login/views.py _establish).
        flow.state["ended_deliveries"] = [d.id for d in ended]
        return Done()
