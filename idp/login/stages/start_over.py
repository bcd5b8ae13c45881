"""A consent or step-up built on an SSO session that has ended meanwhile: nothing of it counts, sign in again."""

from __future__ import annotations

from idp.login.flow import Flow
from idp.login.policy import Step


class StartOverStage:
    name = "start_over"

    def run(self, flow: Flow, step: Step) -> None:
        flow.start_over()
