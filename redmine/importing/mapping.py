"""The default rules turning Redmine's shapes into Sanmai's: a top-level project's fiscal year
read from its name, a Redmine role's Sanmai role read from its permissions, names and
languages of people."""

from __future__ import annotations

import re
import unicodedata

# Japanese eras whose years name fiscal years: the first year of each is 元年 (1).
ERAS = {"令和": 2018, "平成": 1988}

_ERA_YEAR = re.compile(r"(令和|平成)\s*(\d{1,2}|元)\s*年度?")
_REIWA_SHORT = re.compile(r"(?<![A-Za-z0-9])[Rr]\s*(\d{1,2})(?![0-9])")
_WESTERN = re.compile(r"(?<![0-9])((?:19|20|21)\d\d)\s*年度")
_FY = re.compile(r"(?<![A-Za-z])FY\s*((?:19|20|21)\d\d|\d\d)(?![0-9])", re.IGNORECASE)


def fiscal_year(name: str) -> int | None:
    """The fiscal year (April–March, by the calendar year it starts in) a project's name
    states: 令和8年度, 令和元年度, 平成30年度, R8, 2026年度, FY2026 or FY26; None if none."""
    text = unicodedata.normalize("NFKC", name or "")  # full-width digits and letters
    if match := _ERA_YEAR.search(text):
        year = 1 if match.group(2) == "元" else int(match.group(2))
        return ERAS[match.group(1)] + year
    if match := _WESTERN.search(text):
        return int(match.group(1))
    if match := _FY.search(text):
        digits = match.group(1)
        return int(digits) if len(digits) == 4 else 2000 + int(digits)
    if match := _REIWA_SHORT.search(text):
        return ERAS["令和"] + int(match.group(1))
    return None


# Redmine permissions that mark each Sanmai role, strongest first; a role matching none of
# them only looks (viewer). Managing members or the project is running it; deleting
# others' issues is a facilitator's say over the record; raising or changing issues and
# writing notes is a member's work.
ROLE_PERMISSIONS = (
    ("manager", {"manage_members", "edit_project"}),
    ("facilitator", {"delete_issues"}),
    ("member", {"add_issues", "edit_issues", "edit_own_issues", "add_issue_notes"}),
)
ROLE_RANK = {"viewer": 0, "member": 1, "facilitator": 2, "manager": 3}


def permissions_of(yaml_text: str | None) -> set[str]:
    """Redmine's roles.permissions, a YAML list of symbols ("- :add_issues"), as names."""
    return set(re.findall(r":([a-z_]+)", yaml_text or ""))


def sanmai_role(permissions: set[str]) -> str:
    for role, marks in ROLE_PERMISSIONS:
        if permissions & marks:
            return role
    return "viewer"


def stronger(role: str | None, other: str) -> str:
    return other if role is None or ROLE_RANK[other] > ROLE_RANK[role] else role


def person_name(firstname: str | None, lastname: str | None, login: str) -> str:
    """Redmine's first and last name as one name (Redmine's default display order)."""
    return (
        " ".join(part.strip() for part in (firstname, lastname) if part and part.strip()) or login
    )


def language(code: str | None) -> str:
    """Sanmai speaks Japanese and English: Redmine's en, en-GB … become en, the rest ja."""
    return "en" if (code or "").lower().startswith("en") else "ja"
