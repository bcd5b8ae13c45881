"""A new password before going on: a temporary one, one that has expired, or one this portal's policy refuses."""

from __future__ import annotations

from flask_babel import gettext as _

from idp.accounts import passwords
from idp.login.flow import Done, Flow, Retry
from idp.login.policy import Step
from idp.security import policy


class ChangePasswordStage:
    name = "change_password"
    template = "login/change_password.html"

    def context(self, flow: Flow, step: Step) -> dict:
        _name, rules = policy.policy_for(flow.client)
        results, flow.state.password_results = flow.state.password_results, None
        return {"reason": step.reason, "rules": policy.rules(rules), "results": results}

    def submit(self, flow: Flow, step: Step, form) -> Done | Retry:
        new, again = form.get("new_password") or "", form.get("confirm_password") or ""
        if not new:
            return Retry(_("Choose a new password."))
        if new != again:
            return Retry(_("The two passwords are not the same. Type the new password twice."))
        try:
            passwords.change_password(flow.user, new, client=flow.client, reason="changed at sign-in")
        except passwords.PasswordRejected as rejected:
            flow.state.password_results = [{"id": r.id, "ok": r.ok} for r in rejected.results]
            return Retry(_("The new password does not meet every rule yet: %(rules)s",
                           rules="; ".join(str(r.text) for r in rejected.failed)))
        flow.state.password_changed, flow.state.password_weak = True, False
        return Done()  # the portals of the other sessions it ended are told once this commits
