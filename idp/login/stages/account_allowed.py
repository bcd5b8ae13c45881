"""A portal for business addresses only (seed 001): another account must be used, clearly and without a dead end."""

from __future__ import annotations

from idp.login.flow import Done, Flow, Retry
from idp.oidc.policy import account_allowed


class AccountAllowedStage:
    name = "account_allowed"
    template = "login/account_not_allowed.html"

    def needed(self, flow: Flow) -> bool:
        return flow.user is not None and not account_allowed(flow.client, flow.user)

    def context(self, flow: Flow) -> dict:
        return {"domains": flow.client.email_domains, "email": flow.user.email}

    def submit(self, flow: Flow, form) -> Done | Retry:
        if form.get("action") != "other_account":
            return Retry()
        # Start again from the password: nothing this account proved counts for the next one.
        flow.user = None
        for key in ("proven", "fresh", "login", "session_sid", "session_mfa", "sent", "factor"):
            flow.state.pop(key, None)
        return Done()
