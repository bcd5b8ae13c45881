"""One module per sign-in stage: a stage shows its page and records an outcome; the policy decides which runs.

A page stage has `template`, `context(flow, step)` and `submit(flow, step, form) -> Result` (and may have
`prepare(flow, step)`, run once when its page is shown); an automatic stage has `run(flow, step)` and no page.
"""

from __future__ import annotations

from idp.login.stages.account_allowed import AccountAllowedStage
from idp.login.stages.change_password import ChangePasswordStage
from idp.login.stages.choose_person import ChoosePersonStage
from idp.login.stages.consent import ConsentStage
from idp.login.stages.enrol import EnrolStage, RecoveryCodesStage
from idp.login.stages.password import PasswordStage
from idp.login.stages.second_factor import SecondFactorStage, TrustedDeviceStage
from idp.login.stages.start_over import StartOverStage

PAGES = {stage.name: stage for stage in (
    PasswordStage(), AccountAllowedStage(), EnrolStage(), RecoveryCodesStage(), SecondFactorStage(),
    ChangePasswordStage(), ChoosePersonStage(), ConsentStage())}
AUTOMATIC = {stage.name: stage for stage in (TrustedDeviceStage(), StartOverStage())}
