"""Text an admin, the CLI or a provisioning system (SCIM) stores for a person or an organisation: one line,
without control characters (NUL, BEL, escape sequences, C1 controls). The web edge refuses them in forms and
queries (idp.web.site.ControlCharacters); a JSON body or the CLI reaches the services directly, so the services
refuse them too."""

from __future__ import annotations

import re

from idp.errors import InvalidInput

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def refuse_control(what: str, value: str | None) -> None:
    """InvalidInput when `value` holds a control character (a tab or line break too: these are one line)."""
    if value is not None and CONTROL.search(value):
        raise InvalidInput(f"{what} contains a control character")
