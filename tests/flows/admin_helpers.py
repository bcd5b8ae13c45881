"""The people of the admin console's tests: one world that test_admin_console.py's fixture and the audit,
messages and review tests share."""

from __future__ import annotations

from idp import clock
from idp.accounts import admins, factors, organisations
from idp.accounts.users import create_user
from idp.extensions import db
from idp.models import User

PASSWORD = "correct horse battery"


def make_world() -> dict[str, User]:
    """Two organisations; a deployment admin, a helpdesk person, an admin of the first organisation (each with
    SMS codes); a professional in each organisation; someone without any role."""
    operator = admins.operator("test")
    now = clock.now()
    home = organisations.create(operator, "Zorggroep Noord", "care_provider", now, code="noord")
    other = organisations.create(operator, "Zorggroep Zuid", "care_provider", now, code="zuid")

    def person(email: str, phone: str, org=None, role: str | None = None, sms: bool = True) -> User:
        user = create_user(email, PASSWORD, name=email.split("@")[0].title(), phone=phone, org=org)
        if sms:
            factors.add_confirmed(user, "sms", phone_number=phone)
        if role:
            admins.grant(operator, user, role, now)
        return user

    people = {
        "deployment": person("dora@example.org", "+31612000001", role=admins.DEPLOYMENT),
        "helpdesk": person("hans@example.org", "+31612000002", role=admins.HELPDESK),
        "org_admin": person("olga@noord.example", "+31612000003", home, role=admins.ORGANISATION),
        "pro": person("piet@noord.example", "+31612000004", home, sms=False),
        "stranger": person("sara@zuid.example", "+31612000005", other),
        "nobody": person("nina@example.org", "+31612000006"),
    }
    db.session.commit()
    return people
