"""axe-core in the browser tests: `assert_accessible(page, what)` checks the page as it is now against the
WCAG 2.0 and 2.1 rules of levels A and AA (and axe's best practices for landmarks and headings), and fails
with a list a person can act on: rule, impact, where on the page, and what to do.

axe-core's script ships inside the axe-playwright-python package (axe_playwright_python/axe.min.js): nothing
is downloaded while the tests run."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

# WCAG 2.0 and 2.1, levels A and AA; and the best practices that say a page has one main landmark, all its
# content in landmarks, one h1 and headings in order (what a screen-reader user navigates by).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
OPTIONS = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}

_axe = Axe()


def violations(page) -> list[dict]:
    """axe-core's violations on the page as the browser shows it now (after its scripts ran)."""
    return _axe.run(page, options=OPTIONS).response["violations"]


def describe(found: list[dict]) -> str:
    """One paragraph per rule: id, impact, help, and each element it found (CSS selector and what to fix)."""
    lines = []
    for rule in found:
        lines.append(f"- {rule['id']} ({rule['impact']}): {rule['help']} <{rule['helpUrl']}>")
        for node in rule["nodes"]:
            target = " ".join(" > ".join(part) if isinstance(part, list) else part for part in node["target"])
            lines.append(f"    at {target}")
            summary = " ".join(node.get("failureSummary", "").split())
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def assert_accessible(page, what: str) -> None:
    """Fail when axe-core finds any violation on this page; `what` names the page in the failure."""
    page.wait_for_load_state("load")
    found = violations(page)
    assert not found, (f"axe-core: {len(found)} rule(s) violated on {what} ({page.url}):\n" + describe(found))
