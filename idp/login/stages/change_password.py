"""A new password before going on: a temporary one, one that has expired, or one this portal's policy refuses."""

from __future__ import annotations

from idp.accounts import new_password, passwords
from idp.login.flow import Done, Flow, Retry
from idp.login.policy import Step


class ChangePasswordStage:
    name = "change_password"
    template = "login/change_password.html"

    def context(self, flow: Flow, step: Step) -> dict:
        results, flow.state.password_results = flow.state.password_results, None
        return {"reason": step.reason, "rules": new_password.page_rules(flow.client), "results": results}

    def submit(self, flow: Flow, step: Step, form) -> Done | Retry:
        taken = new_password.take(form, lambda new: passwords.change_password(
            flow.user, new, client=flow.client, reason="changed at sign-in"))
        if isinstance(taken, new_password.Refusal):
            if taken.results is not None:  # shown on the page that follows the redirect
                flow.state.password_results = [{"id": r.id, "ok": r.ok} for r in taken.results]
            return Retry(taken.error)
        flow.state.password_changed, flow.state.password_weak = True, False
        return Done()  # the portals of the other sessions it ended are told once this commits
