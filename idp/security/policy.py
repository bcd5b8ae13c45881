"""Password policies: the rules of a named policy, checked one by one, as sentences for the person.

One source of truth: the change-password stage, the account pages and the live-feedback endpoint all
call `evaluate`; the form's list of rules and the JSON the browser reads come from the same results.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, select

from idp import clock
from idp.extensions import db
from idp.models import PasswordHistory, User
from idp.runtime import settings
from idp.security.passwords import verify_password

if TYPE_CHECKING:
    from idp.models import Client
    from idp.settings import PasswordPolicy

# Shorter pieces of a name or address ("de", "jo") would refuse far too many good passwords.
_MIN_PERSONAL = 3
_TRAILING = re.compile(r"[\W\d_]+$")
_LETTERS = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Rule:
    id: str
    text: str


@dataclass(frozen=True)
class RuleResult:
    id: str
    text: str
    ok: bool


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords, lowercase (read once per process)."""
    text = resources.files("idp.security").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def policy_for(client: Client | None) -> tuple[str, PasswordPolicy]:
    """The portal's named policy when settings define it, else the deployment default."""
    policies = settings().password_policies
    name = getattr(client, "password_policy", None)
    if not name or name not in policies:
        name = settings().passwords.default_policy
    return name, policies[name]


def rules(policy: PasswordPolicy) -> list[Rule]:
    """One rule per active requirement, as a sentence in the current language."""
    found = [Rule("min_length", ngettext("At least %(num)d character", "At least %(num)d characters",
                                         policy.min_length))]
    if policy.min_upper:
        found.append(Rule("upper", ngettext("At least %(num)d capital letter",
                                            "At least %(num)d capital letters", policy.min_upper)))
    if policy.min_lower:
        found.append(Rule("lower", ngettext("At least %(num)d lowercase letter",
                                            "At least %(num)d lowercase letters", policy.min_lower)))
    if policy.min_digits:
        found.append(Rule("digits", ngettext("At least %(num)d digit", "At least %(num)d digits",
                                             policy.min_digits)))
    if policy.min_special:
        found.append(Rule("special", ngettext("At least %(num)d of these characters: %(chars)s",
                                              "At least %(num)d of these characters: %(chars)s",
                                              policy.min_special, chars=" ".join(policy.special_characters))))
    if policy.min_non_letters:
        found.append(Rule("non_letters", ngettext("At least %(num)d character that is not a letter",
                                                  "At least %(num)d characters that are not letters",
                                                  policy.min_non_letters)))
    if policy.not_personal:
        found.append(Rule("personal", _("Not your e-mail address or name")))
    if policy.not_common and policy.context_words:
        found.append(Rule("common", _("Not a commonly used password or a name of this service")))
    elif policy.not_common:
        found.append(Rule("common", _("Not a commonly used password")))
    if policy.history:
        # The current password counts as the most recent one (see history_of).
        found.append(Rule("history", ngettext("Not your current password",
                                              "Not one of your last %(num)d passwords", policy.history)))
    found.append(Rule("max_length", ngettext("At most %(num)d character", "At most %(num)d characters",
                                             policy.max_length)))
    return found


def evaluate(password: str, policy: PasswordPolicy, *, email: str | None = None, username: str | None = None,
             name: str | None = None, history: Sequence[str] = ()) -> list[RuleResult]:
    """Every rule of the policy with whether this password meets it; `history` holds bcrypt hashes."""
    checks = {
        "min_length": lambda: len(password) >= policy.min_length,
        "max_length": lambda: len(password) <= policy.max_length,
        # By general category, as the sentences say: str.isupper/islower/isdigit would also count a roman
        # numeral (Ⅷ) as a capital letter, an ordinal indicator (ª) as a lowercase letter and ² as a digit.
        "upper": lambda: sum(unicodedata.category(c) == "Lu" for c in password) >= policy.min_upper,
        "lower": lambda: sum(unicodedata.category(c) == "Ll" for c in password) >= policy.min_lower,
        "digits": lambda: sum(unicodedata.category(c) == "Nd" for c in password) >= policy.min_digits,
        "special": lambda: sum(c in policy.special_characters for c in password) >= policy.min_special,
        "non_letters": lambda: sum(not c.isalpha() for c in password) >= policy.min_non_letters,
        "personal": lambda: not _is_personal(password, email=email, username=username, name=name),
        "common": lambda: not is_common(password) and not _has_context_word(password, policy.context_words),
        "history": lambda: not _in_history(password, history),
    }
    results = [RuleResult(rule.id, rule.text, checks[rule.id]()) for rule in rules(policy) if rule.id != "history"]
    history_rule = next((rule for rule in rules(policy) if rule.id == "history"), None)
    if history_rule is not None:
        # Each earlier password costs a bcrypt check: only spent on a password every cheaper rule accepts.
        met = all(r.ok for r in results) and checks["history"]()
        results.append(RuleResult(history_rule.id, history_rule.text, met if all(r.ok for r in results) else True))
    order = [rule.id for rule in rules(policy)]
    return sorted(results, key=lambda r: order.index(r.id))


def failures(password: str, policy: PasswordPolicy, *, email: str | None = None, username: str | None = None,
             name: str | None = None, history: Sequence[str] = ()) -> list[RuleResult]:
    """Only the rules this password breaks (empty: acceptable)."""
    results = evaluate(password, policy, email=email, username=username, name=name, history=history)
    return [result for result in results if not result.ok]


def feedback_json(results: list[RuleResult]) -> dict[str, object]:
    """What the live-feedback endpoint returns to the form's script."""
    return {"ok": all(r.ok for r in results),
            "rules": [{"id": r.id, "text": r.text, "ok": r.ok} for r in results]}


def is_common(password: str) -> bool:
    """In the list as typed (any case), or once trailing digits and punctuation are gone ("Welkom01!")."""
    lowered = password.lower()
    common = common_passwords()
    return lowered in common or _TRAILING.sub("", lowered) in common


def _has_context_word(password: str, words: Sequence[str]) -> bool:
    folded = password.casefold()
    return any(word.strip().casefold() in folded for word in words if word.strip())


def _is_personal(password: str, *, email: str | None, username: str | None, name: str | None) -> bool:
    folded = password.casefold()
    pieces: list[str] = []
    if email:
        pieces.append(email)
        pieces.append(email.rpartition("@")[0])
    if username:
        pieces.append(username)
    if name:
        pieces.extend(_LETTERS.findall(name))
    return any(len(piece) >= _MIN_PERSONAL and piece.casefold() in folded for piece in pieces)


def _in_history(password: str, history: Sequence[str]) -> bool:
    hashes = [h for h in history if h]
    if not hashes:
        return False
    rounds = settings().passwords.bcrypt_rounds
    return any(verify_password(password, h, rounds) for h in hashes)


def expired(user: User, policy: PasswordPolicy, now: datetime | None = None) -> bool:
    """True when the policy has a maximum age and the password is older than that."""
    if policy.max_age_days <= 0:
        return False
    changed = user.password_changed_at or user.created_at
    if changed is None:
        return False
    return clock.aware(changed) + timedelta(days=policy.max_age_days) <= (now or clock.now())


def history_of(user: User, policy: PasswordPolicy) -> list[str]:
    """The hashes of the user's last `policy.history` passwords, newest (the current one) first."""
    if policy.history <= 0:
        return []
    hashes = [user.password_hash] if user.password_hash else []
    query = (select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
             .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc()).limit(policy.history))
    hashes.extend(db.session.scalars(query))
    return hashes[:policy.history]


def remember(user: User, old_hash: str | None, now: datetime | None = None) -> None:
    """Keep a replaced password's hash (not committed), no more of them than the longest policy history."""
    keep = max((p.history for p in settings().password_policies.values()), default=0)
    if keep <= 0:
        # No policy looks back: an old hash kept anyway would only be a liability.
        db.session.execute(delete(PasswordHistory).where(PasswordHistory.user_id == user.id))
        return
    if not old_hash:
        return
    db.session.add(PasswordHistory(user_id=user.id, password_hash=old_hash, created_at=now or clock.now()))
    db.session.flush()
    stale = list(db.session.scalars(
        select(PasswordHistory.id).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc()).offset(keep)))
    if stale:
        db.session.execute(delete(PasswordHistory).where(PasswordHistory.id.in_(stale)))
