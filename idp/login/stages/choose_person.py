""""For whom?" (issue 15): after signing in as themselves, a person who may act for others at this portal chooses
whose records to open: their own, or those of someone they act for. The choice travels in the state as the
delegation's id; the policy accepts it only while that delegation is still usable here (`principals_of`)."""

from __future__ import annotations

from flask_babel import gettext as _

from idp import clock, delegation
from idp.delegation.ages import AgeRules, age_on
from idp.login.flow import Done, Flow, Retry
from idp.login.policy import Step
from idp.models import delegation as d


class ChoosePersonStage:
    name = "choose_person"
    template = "login/choose_person.html"

    def context(self, flow: Flow, step: Step) -> dict:
        now, rules = clock.now(), AgeRules.from_settings()
        people = []
        for item in delegation.principals_of(flow.user, flow.client.client_id, now):
            principal = item.principal
            # A child's age helps a parent pick the right one; an adult's is nobody's business here.
            child = item.basis in d.YOUNGER_RULES and principal.date_of_birth is not None
            people.append({"value": str(item.id), "name": principal.name or principal.email,
                           "age": age_on(principal.date_of_birth, rules.today(now)) if child else None})
        return {"me": flow.user.name or flow.user.email, "people": people}

    def submit(self, flow: Flow, step: Step, form) -> Done | Retry:
        chosen = form.get("person") or ""
        if chosen == "self":
            flow.state.person_chosen, flow.state.acting_for = True, None
            return Done()
        usable = {item.id for item in delegation.principals_of(flow.user, flow.client.client_id, clock.now())}
        if not (chosen.isascii() and chosen.isdigit() and int(chosen) in usable):
            return Retry(_("Choose who you are signing in for."))
        flow.state.person_chosen, flow.state.acting_for = True, int(chosen)
        return Done()
