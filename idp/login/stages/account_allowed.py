"""A portal for business addresses only (seed 001): another account must be used, clearly and without a dead end."""

from __future__ import annotations

from idp.login.flow import Done, Flow, Retry
from idp.login.policy import Step


class AccountAllowedStage:
    name = "account_allowed"
    template = "login/account_not_allowed.html"

    def context(self, flow: Flow, step: Step) -> dict:
        return {"domains": flow.client.email_domains, "email": flow.user.email if flow.user else ""}

    def submit(self, flow: Flow, step: Step, form) -> Done | Retry:
        if form.get("action") != "other_account":
            return Retry()
        # Start again from the password: nothing this account proved counts for the next one.
        flow.start_over()
        return Done()
