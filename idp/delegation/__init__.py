"""Acting for someone else ("machtigen", issue 15): delegations and the Dutch age rules (WGBO).

A service package: it sits above idp.accounts (an invitation of a contact person will make an account and send
its activation) and below idp.login, idp.oidc, the web and the CLI, which ask `usable_for` and `principals_of`
(and `delegates_of`: who may act for a person at a portal, the `delegates` claim).
"""

from idp.delegation.ages import AgeRules, age_on, birthday
from idp.delegation.expiry import expire
from idp.delegation.grants import (
    create_principal,
    delegates_of,
    ends_at,
    get,
    grant_parental,
    grant_written_consent,
    of_person,
    principals_of,
    record_child_consent,
    refusal,
    revoke,
    usable_for,
)
from idp.delegation.invitations import accept, invite

__all__ = [
    "AgeRules",
    "accept",
    "age_on",
    "birthday",
    "create_principal",
    "delegates_of",
    "ends_at",
    "expire",
    "get",
    "grant_parental",
    "grant_written_consent",
    "invite",
    "of_person",
    "principals_of",
    "record_child_consent",
    "refusal",
    "revoke",
    "usable_for",
]
